"""Scheduling: the nightly deployment's cron, the night a scheduled run is for, `alvh serve`
refusing without a server, and a drop that is late or incomplete (wait, then stale sections).

A real `prefect server start` + `alvh serve` creating and running scheduled runs is in
tests/soak/test_schedule_soak.py (it needs minutes of wall time)."""

from __future__ import annotations

import os
import re
import subprocess
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


def test_serve_refuses_without_a_prefect_server(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deploy import ServerUnavailable, require_server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}), \
            pytest.raises(ServerUnavailable, match="^no Prefect server to schedule on .* `alvh server`"):
        require_server()
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}), \
            pytest.raises(ServerUnavailable, match="at http://127.0.0.1:9/api is not reachable"):
        require_server()  # nothing listens on port 9


def test_alvh_serve_without_a_server_is_one_line_and_exit_1(alvh_cmd, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    p = subprocess.run([*alvh_cmd, "serve", "--home", str(tmp_path / "home")], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.startswith("error: no Prefect server to schedule on") and p.stderr.count("\n") == 1


def test_a_late_file_is_waited_for_and_a_missing_one_marks_its_sections_stale(
        late_drop, deliver, tmp_path):
    from flows.nightly import NightSummary, _mark_stale, expected_sources, wait_for_drop

    day = date(2026, 3, 6)
    drop, late, _, _ = late_drop(day)
    courier = deliver(late, drop, 0.5)
    try:
        t0 = time.monotonic()
        missing = wait_for_drop.fn(drop, expected_sources(load_settings(home=tmp_path)), 3, 0.1)
        waited = time.monotonic() - t0
    finally:
        courier.join()
    assert missing == ["macro"] and waited >= 3  # breadth came during the wait, macro never
    s = NightSummary(day)
    _mark_stale(s, drop, missing, 3)
    assert s.stale == {"events": f"no macro files in {drop} after waiting 3 s"}
    assert s.messages == ["Stale: macro missing from tonight's drop after waiting 3 s; affected "
                          "sections show the last data the warehouse has."]
    assert wait_for_drop.fn(tmp_path / "nothing-yet", ["cboe_chain"], 0, 0.1) == ["cboe_chain"]
