"""SIGKILL soak (`make soak`): kill `alvh backfill` at random moments, rerun it, and demand a
warehouse identical to an uninterrupted run - every table's checksum.

Each trial copies one base home (sample history + one night: the base_home fixture), starts a
real `alvh backfill` process (threads or Dask worker processes, its own process group), sends
SIGKILL to the whole group after a random delay drawn over the length of an uninterrupted run, checks the killed home
(DuckDB replays its WAL; every registered file has its rows; no temporary landing file is
visible to a reader), reruns the backfill and compares. Trials, seed and range are printed so a
failure can be replayed: ALVH_SOAK_TRIALS (default 12), ALVH_SOAK_SEED (default 20260306).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.backfill import table_checksums
from warehouse.db import Warehouse

pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parents[2]
START, END = date(2026, 3, 6), date(2026, 3, 13)  # 6 sessions: Fri, Mon .. Fri
TRIALS = int(os.environ.get("ALVH_SOAK_TRIALS", "12"))
SEED = int(os.environ.get("ALVH_SOAK_SEED", "20260306"))


def start_backfill(cmd: list[str], home: Path, api_url: str, runner: str) -> subprocess.Popen:
    """`alvh backfill` (`cmd`: the alvh_cmd fixture) over START..END on `home`."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "ALVH_LOCK_TIMEOUT_S": "120"}
    env.pop("ALVH_HOME", None)
    args = ["backfill", "--start", START.isoformat(), "--end", END.isoformat(), "--pages", "0",
            "--runner", runner, "--workers", "2", "--home", str(home)]
    return subprocess.Popen([*cmd, *args], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own group: SIGKILL reaches Dask workers


def run_to_end(cmd: list[str], home: Path, api_url: str, runner: str) -> str:
    p = start_backfill(cmd, home, api_url, runner)
    out, _ = p.communicate(timeout=1800)
    assert p.returncode == 0, out[-3000:]
    return out


def run_timed(cmd: list[str], home: Path, api_url: str, runner: str) -> dict[str, float]:
    """Run to the end, noting when the flow starts its days and when the writer is done."""
    t0 = time.monotonic()
    p = start_backfill(cmd, home, api_url, runner)
    marks: dict[str, float] = {}
    assert p.stdout is not None
    for line in p.stdout:
        if " sessions " in line and "days" not in marks:
            marks["days"] = time.monotonic() - t0
        if line.startswith("backfill: ") and line.split()[-1].split("/")[0] == line.split("/")[-1].strip():
            marks["written"] = time.monotonic() - t0
    assert p.wait(timeout=1800) == 0
    marks["end"] = time.monotonic() - t0
    return marks


def kill_group(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)  # the group we started: the backfill and its workers
    p.communicate(timeout=60)


def snapshot(home: Path) -> tuple[dict, pl.DataFrame]:
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        sums = table_checksums(wh)
        audit = wh.sql("select * exclude (run_id, validated_at) from audit.validations")
    return sums, audit.sort(audit.columns, nulls_last=True)


def batch_files(wh: Warehouse) -> dict[str, int]:
    return dict(wh.sql("select batch_id, count(*) from audit.files where batch_id like 'night-%' "
                       "group by 1").rows())


def check_killed_home(home: Path, want_batches: dict[str, int]) -> dict:
    """What a reader sees right after the kill: a consistent warehouse."""
    with Warehouse.open(home / "warehouse.duckdb", lock_timeout_s=60) as wh:  # replays the WAL
        got = batch_files(wh)
        # one transaction per day: a night's files are registered all together or not at all
        partial = {b: (n, want_batches.get(b)) for b, n in got.items() if n != want_batches.get(b)}
        assert not partial, f"half-registered nights (registered, expected): {partial}"
        # a registered chain file's rows committed with it
        orphans = wh.sql(
            "select f.file_id from audit.files f where f.table_name = 'raw.option_quotes' and "
            "f.status in ('loaded', 'loaded_with_rejects') and f.rows_written > 0 and not exists "
            "(select 1 from raw.option_quotes q where q.file_id = f.file_id)")
        assert orphans.is_empty(), f"registered chain files without rows: {orphans.rows()}"
        days = wh.scalar("select count(distinct quote_date) from raw.option_quotes "
                         "where quote_date >= ?", [START])
        running = wh.scalar("select count(*) from audit.runs where status = 'running'")
    shown = [p for p in (home / "landing").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert not [p for p in shown if p.name.endswith(".part")]
    return {"days": days, "running": running}


@pytest.fixture(scope="module")
def reference(api_url, alvh_cmd, base_home, copy_home, tmp_path_factory):
    home = copy_home(base_home, tmp_path_factory.mktemp("soak-ref") / "home")
    marks = run_timed(alvh_cmd, home, api_url, "threads")
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        batches = batch_files(wh)
    return snapshot(home), batches, marks


def test_sigkill_at_random_points_then_rerun_gives_the_uninterrupted_warehouse(
        api_url, alvh_cmd, base_home, copy_home, reference, tmp_path_factory):
    (want_sums, want_audit), want_batches, marks = reference
    rng = random.Random(SEED)
    print(f"\nsoak: {TRIALS} trials, seed {SEED}, {START}..{END}, uninterrupted run: days from "
          f"{marks['days']:.1f} s, all written at {marks.get('written', 0):.1f} s, end {marks['end']:.1f} s")
    outcomes = []
    for i in range(TRIALS):
        runner = "dask" if i % 4 == 3 else "threads"
        home = copy_home(base_home, tmp_path_factory.mktemp(f"soak-{i}") / "home")
        # half the kills while the writer applies days, half anywhere after the flow started
        lo = marks["days"] * 0.9
        hi = marks.get("written", marks["end"]) if i % 2 == 0 else marks["end"] * 0.95
        delay = rng.uniform(lo, hi) + (5.0 if runner == "dask" else 0.0)  # workers start slower
        p = start_backfill(alvh_cmd, home, api_url, runner)
        time.sleep(delay)
        finished = p.poll() is not None
        kill_group(p)
        state = check_killed_home(home, want_batches)
        out = run_to_end(alvh_cmd, home, api_url, runner)
        got_sums, got_audit = snapshot(home)
        diff = [t for t in want_sums if want_sums[t] != got_sums.get(t)]
        line = (f"trial {i:2d} {runner:7s} kill at {delay:5.1f} s "
                f"({'after the end' if finished else 'mid-run'}): {state['days']} of 6 days "
                f"committed, {state['running']} run(s) left 'running'; rerun: "
                f"{next((ln for ln in out.splitlines() if ln.startswith('backfill ')), '?')}")
        print(line)
        outcomes.append(line)
        assert diff == [], f"{line}\ntables differ: {diff}"
        assert got_audit.equals(want_audit), f"{line}\naudit.validations differ"
        with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
            assert wh.scalar("select count(*) from audit.runs where status = 'running'") == 0
    assert sum("mid-run" in o for o in outcomes) >= min(10, TRIALS)


def test_two_backfills_on_one_home_take_turns_and_build_it_once(
        api_url, alvh_cmd, base_home, copy_home, reference, tmp_path_factory):
    """Two real writers at once: the second waits on the writer lock, then finds every day built."""
    (want_sums, want_audit), _, _ = reference
    home = copy_home(base_home, tmp_path_factory.mktemp("soak-turns") / "home")
    procs = [start_backfill(alvh_cmd, home, api_url, "threads") for _ in range(2)]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[-2000:] for o in outs]
    lines = [next(ln for ln in o.splitlines() if ln.startswith("backfill ")) for o in outs]
    assert sorted("(6 built, 0 already built, 0 failed)" in ln for ln in lines) == [False, True]
    assert sorted("(0 built, 6 already built, 0 failed)" in ln for ln in lines) == [False, True]
    got_sums, got_audit = snapshot(home)
    assert got_sums == want_sums and got_audit.equals(want_audit)
