"""Reliability: the same night gives the same tables every time, a corrupt file fails only its own
day, and a second run on the same home waits for the writer lock or exits 2 without harm (two real
processes). The long SIGKILL trials live in tests/soak (`make soak`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from flows.backfill import backfill
from flows.nightly import nightly
from warehouse.db import Warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_heartbeat_wait")]

REPO = Path(__file__).resolve().parents[2]
# the homes (base_home, reference_home) are fixtures of tests/conftest.py
DAYS = [date(2026, 3, 6), date(2026, 3, 9)]  # Friday, (weekend), Monday


def without(sums: dict, *tables: str) -> dict:
    return {t: v for t, v in sums.items() if t not in tables}


# -- helpers for real processes ---------------------------------------------------------------------
def alvh(cmd: list[str], *args: str, home: Path, lock_timeout_s: float,
         api_url: str) -> subprocess.Popen:
    """`alvh ...` (`cmd`: the alvh_cmd fixture) in its own process, reporting to the test
    session's Prefect API."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "ALVH_LOCK_TIMEOUT_S": str(lock_timeout_s)}
    env.pop("ALVH_HOME", None)
    return subprocess.Popen([*cmd, *args, "--home", str(home)], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


HOLD = """
import sys, time
from pathlib import Path
from warehouse.db import Warehouse
wh = Warehouse.open(sys.argv[1])
Path(sys.argv[2]).touch()
time.sleep(float(sys.argv[3]))
wh.close()
"""


# -- tests -----------------------------------------------------------------------------------------
def test_the_same_night_three_times_gives_identical_tables(
        prefect_harness, base_home, reference_home, copy_home, checksums, tmp_path_factory):
    ref = reference_home(DAYS)  # run 1: the reference home's first night
    first = {t: tuple(v) for t, v in json.loads((ref / "first-night.json").read_text()).items()}
    home = copy_home(base_home, tmp_path_factory.mktemp("night") / "home")
    assert nightly(as_of=DAYS[0], home=home).status in ("ok", "warning")  # run 2: another home
    assert checksums(home) == first
    again = nightly(as_of=DAYS[0], home=home)  # run 3: the same night again on that home
    assert again.rows == 0  # every file already landed
    # nothing moves but the audit log, which records every run's checks
    assert without(checksums(home), "audit.validations") == without(first, "audit.validations")


def _truncate(path: Path, share: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])  # cut mid-line, as a broken download would


def test_a_corrupt_file_or_a_missing_drop_fails_its_day_and_the_others_complete(
        prefect_harness, base_home, copy_home, checksums, tmp_path):
    from sources.sample import SampleMarket, write_drop

    fri, mon, tue = date(2026, 3, 6), date(2026, 3, 9), date(2026, 3, 10)  # after the base night
    drops, home = tmp_path / "drops", copy_home(base_home, tmp_path / "home")
    market = SampleMarket(seed=7)
    for d in (fri, tue):  # nothing delivered for Monday yet
        write_drop(market, d, drops / d.isoformat())
    chain = drops / fri.isoformat() / "spx_quotedata.csv"
    good = chain.read_bytes()
    _truncate(chain)

    def run():
        return backfill(start=fri, end=tue, source="drop", drops=drops, home=home, pages=0,
                        workers=2, audit="last")

    def gamma_days() -> list[date]:
        with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
            return wh.sql("select date from core.gamma_daily where date >= ? and underlying = 'SPX' "
                          "order by 1", [fri])["date"].to_list()

    s = run()
    assert [(d.day, d.status) for d in s.days] == [(fri, "failed"), (mon, "failed"), (tue, "built")]
    (truncated,), (absent,) = s.days[0].errors, s.days[1].errors
    assert truncated.startswith(f"{chain}:") and "file is truncated" in truncated
    assert absent == f"{mon}: no drop folder for this session"
    assert s.exit_code == 1 and gamma_days() == [tue]
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        assert wh.scalar("select count(*) from raw.option_quotes where quote_date = ? and "
                         "underlying = 'SPX'", [fri]) == 0
        assert wh.scalar("select status from audit.files where original_path = ?",
                         [str(chain)]) == "rejected"  # registered with its reason, no rows

    write_drop(market, mon, drops / mon.isoformat())  # Monday's files arrive late
    again = run()
    assert [d.status for d in again.days] == ["failed", "built", "skipped"]
    assert again.days[0].errors == [truncated]  # failed bytes are read again and fail again (issue 14)

    chain.write_bytes(good)  # the vendor re-sends the chain: that day builds, the others are kept
    before = checksums(home)
    fixed = run()
    assert [d.status for d in fixed.days] == ["built", "skipped", "skipped"]
    assert gamma_days() == [fri, mon, tue] and fixed.exit_code == 0
    after = checksums(home)
    assert after["raw.option_quotes"][0] > before["raw.option_quotes"][0]
    assert after["audit.files"][0] == before["audit.files"][0] + 1  # just the corrected chain


def test_a_second_run_gives_up_after_the_lock_timeout_with_exit_code_2(
        api_url, alvh_cmd, base_home, copy_home, checksums, tmp_path_factory):
    home = copy_home(base_home, tmp_path_factory.mktemp("busy") / "home")
    before = checksums(home)
    ready = home / "holder-ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home / "warehouse.duckdb"),
                               str(ready), "300"], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "lock holder did not start"
            time.sleep(0.1)
        p = alvh(alvh_cmd, "nightly", "--as-of", DAYS[0].isoformat(), home=home, lock_timeout_s=1,
                 api_url=api_url)
        out, err = p.communicate(timeout=300)
        assert p.returncode == 2, (out, err)
        assert "is in use by another alvh run (waited 1 s" in err
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    assert checksums(home) == before  # nothing written, nothing damaged


def test_workers_landing_the_same_bytes_at_once_never_leave_a_short_file(tmp_path):
    """Two backfill days can deliver identical files; their workers land them concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    from warehouse.files import land

    data = os.urandom(1 << 22)
    with ThreadPoolExecutor(8) as pool:
        landed = list(pool.map(lambda i: land(tmp_path, Path(f"/drop/{i}/same.csv"), data, "x"),
                               range(16)))
    (path,) = {lf.absolute(tmp_path) for lf in landed}
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
