"""Scheduling soak (`make soak`): a real `alvh server` (prefect server start) and `alvh serve` on a
one-minute cron - the scheduler must create runs and `serve` must execute one to completion, named
after its night, with the night's report on disk (about two minutes); and a whole night whose drop
is late and incomplete (it waits, runs with what it has, and the report says Stale)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alvh(cmd: list[str], *args: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([*cmd, *args], env=env, cwd=REPO, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)  # the group we started
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


async def _runs(api_url: str):
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as c:
        deployments = await c.read_deployments()
        runs = await c.read_flow_runs(limit=50)
    return deployments, runs


def test_serve_schedules_and_runs_the_nightly_against_a_real_server(alvh_cmd, tmp_path):
    from flows.deploy import check_api
    from flows.nightly import scheduled_night

    home, port = tmp_path / "home", _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    server = _alvh(alvh_cmd, "server", "--port", str(port), "--home", str(home), env=env,
                   log=tmp_path / "server.log")
    serve = None
    try:
        deadline = time.monotonic() + 120
        while check_api(url, timeout_s=1.0) is not None:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the Prefect server did not come up"
            time.sleep(1)
        assert (home / "prefect" / "prefect.db").exists()  # its state lives in the home
        serve = _alvh(alvh_cmd, "serve", "--cron", "* * * * *", "--home", str(home),
                      env={**env, "PREFECT_API_URL": url}, log=tmp_path / "serve.log")
        night, is_night = scheduled_night(datetime.now(UTC))  # skipped on a weekend or holiday
        deadline = time.monotonic() + 420
        while True:
            deployments, runs = asyncio.run(_runs(url))
            done = [r for r in runs if r.state_name == "Completed"]
            if done:
                break
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(5)
        (d,) = deployments
        assert d.name == "alvh-nightly" and d.schedules[0].schedule.cron == "* * * * *"
        assert len(runs) >= 2  # the scheduler keeps future runs queued
        run = done[0]
        assert run.name == f"nightly-{night}" and {"alvh", "nightly"} <= set(run.tags)
        assert (home / "reports" / f"{night}.html").exists() == is_night
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)


def test_a_late_drop_is_waited_for_and_what_never_came_is_marked_stale(
        prefect_harness, late_drop, deliver, tmp_path, monkeypatch):
    """The whole night with a late drop: it waits, runs with what it has, warns, and the report
    opens with the Stale banner."""
    from flows.nightly import nightly

    day = date(2026, 3, 6)
    drop, late, never, n_files = late_drop(day)
    monkeypatch.setenv("ALVH_DROP_WAIT_S", "6")
    monkeypatch.setenv("ALVH_DROP_POLL_S", "0.2")
    courier = deliver(late, drop, 1.0)
    try:
        s = nightly(as_of=day, source="drop", drop=drop, home=tmp_path / "home")
    finally:
        courier.join()
    assert s.stale == {"events": f"no macro files in {drop} after waiting 6 s"}
    assert s.status == "warning" and s.files == n_files - len(never)
    html = s.report.read_text()
    assert "Stale: macro missing from tonight&#39;s drop after waiting 6 s" in html
