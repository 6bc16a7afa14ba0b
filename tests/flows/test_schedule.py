"""Scheduling: the nightly deployment's cron, the night a scheduled run is for, `alvh serve`
refusing without a server, and a drop that is late or incomplete (wait, then stale sections).

A real `prefect server start` + `alvh serve` creating and running scheduled runs is in
tests/soak/test_schedule_soak.py (it needs minutes of wall time)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_the_deployment_runs_nightly_at_1730_new_york_on_weekdays(tmp_path):
    from flows.deploy import DEPLOYMENT, nightly_deployment

    s = load_settings(home=tmp_path)
    d = nightly_deployment(s, cron=s.schedule_cron, timezone=s.schedule_timezone)
    (sched,) = d.schedules
    assert (sched.schedule.cron, sched.schedule.timezone) == ("30 17 * * 1-5", "America/New_York")
    assert d.name == DEPLOYMENT and set(d.tags) >= {"alvh", "nightly"}
    assert d.parameters == {"source": "sample", "home": str(tmp_path.resolve())}  # no as_of
    drop = nightly_deployment(s, cron="0 18 * * 1-5", timezone="America/Chicago", source="drop",
                              drop="/data/drops/{as_of}")
    assert drop.parameters["drop"] == "/data/drops/{as_of}"


@pytest.mark.parametrize("cron, tz, message", [
    ("61 17 * * 1-5", "America/New_York", "invalid cron '61 17 * * 1-5'"),
    ("30 17 * * 1-5", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
])
def test_a_bad_schedule_is_refused_in_one_line(tmp_path, cron, tz, message):
    from flows.deploy import nightly_deployment

    with pytest.raises(ValueError, match=re.escape(message)) as e:
        nightly_deployment(load_settings(home=tmp_path), cron=cron, timezone=tz)
    assert "\n" not in str(e.value) and "pydantic" not in str(e.value)


NY = "America/New_York"


@pytest.mark.parametrize("when_ny, night, runs", [
    ("2026-03-06 17:30", date(2026, 3, 6), True),    # Friday after the close: that Friday
    ("2026-03-09 09:00", date(2026, 3, 6), True),    # Monday before the close: last Friday
    ("2026-11-27 17:30", date(2026, 11, 27), True),  # day after Thanksgiving, 13:00 close
    ("2026-07-03 17:30", date(2026, 7, 3), False),   # Independence Day observed: skipped
    ("2026-03-07 17:30", date(2026, 3, 7), False),   # a Saturday: skipped
])
def test_a_scheduled_run_is_for_the_last_completed_session(when_ny, night, runs):
    from zoneinfo import ZoneInfo

    from flows.nightly import scheduled_night

    now = datetime.fromisoformat(when_ny).replace(tzinfo=ZoneInfo(NY)).astimezone(UTC)
    assert scheduled_night(now) == (night, runs)


def _serve(env_url: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if env_url:
        env["PREFECT_API_URL"] = env_url
    exe = Path(sys.executable).with_name("alvh")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "flows.cli"]
    return subprocess.run([*cmd, "serve", "--home", str(REPO / "var-never-created")], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_serve_refuses_without_a_prefect_server(tmp_path):
    p = _serve(None)
    assert p.returncode == 1
    assert p.stderr.strip().startswith("error: no Prefect server to schedule on")
    assert "alvh server" in p.stderr and "Traceback" not in p.stderr
    p = _serve("http://127.0.0.1:9/api")  # nothing listens on port 9
    assert p.returncode == 1
    assert "the Prefect server at http://127.0.0.1:9/api is not reachable" in p.stderr
    shutil.rmtree(REPO / "var-never-created", ignore_errors=True)


def test_a_late_drop_is_waited_for_and_what_never_came_is_marked_stale(
        prefect_harness, tmp_path, monkeypatch):
    from flows.nightly import nightly
    from sources.formats import detect
    from sources.sample import SampleMarket, write_drop

    day = date(2026, 3, 6)
    full = tmp_path / "full"
    write_drop(SampleMarket(seed=7), day, full)
    drop = tmp_path / "drop"
    drop.mkdir()
    source = {f: detect(f.read_bytes(), f.name).source for f in full.iterdir()}
    late = [f for f, src in source.items() if src == "breadth"]  # comes a second late
    never = [f for f, src in source.items() if src == "macro"]  # never comes
    assert late and never
    for f in full.iterdir():
        if f not in late and f not in never:
            shutil.copy(f, drop / f.name)

    def deliver_late() -> None:
        time.sleep(1.0)
        for f in late:
            shutil.copy(f, drop / (f.name + ".part"))
            (drop / (f.name + ".part")).rename(drop / f.name)

    monkeypatch.setenv("ALVH_DROP_WAIT_S", "6")
    monkeypatch.setenv("ALVH_DROP_POLL_S", "0.2")
    courier = threading.Thread(target=deliver_late)
    courier.start()
    try:
        s = nightly(as_of=day, source="drop", drop=drop, home=tmp_path / "home")
    finally:
        courier.join()
    assert s.stale == {"events": f"no macro files in {drop} after waiting 6 s"}
    assert s.status == "warning" and s.files == len(source) - len(never)
    html = s.report.read_text()
    assert "Stale: macro missing from tonight&#39;s drop after waiting 6 s" in html
