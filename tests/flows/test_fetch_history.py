"""`alvh fetch --history` on recorded payloads (tests/fixtures/live_history, no network): one line
per file, one-line misses, the vendor's file names in one folder; the folder then seeds a home
through the ingest with the fetch's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.fetch
from flows.cli import app
from flows.research import seed_home
from flows.settings import load_settings
from sources.live.history import fetch_history_file, url_of
from sources.live.net import LiveError
from sources.live.recorded import RecordedSession
from warehouse.db import Warehouse

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "live_history"


@pytest.fixture
def recorded(monkeypatch):
    monkeypatch.setattr(flows.fetch, "SESSIONS", lambda provider: RecordedSession.from_dir(RECORDED))
    monkeypatch.setenv("ALVH_LIVE_CBOE_PER_MIN", "100000")


def test_urls_are_the_vendors_public_files():
    assert url_of("VIX3M") == "https://cdn.cboe.com/api/global/us_indices/daily_prices/VIX3M_History.csv"
    assert url_of("DIX") == "https://squeezemetrics.com/monitor/static/DIX.csv"


def test_an_error_page_is_refused_in_one_line():
    with pytest.raises(LiveError) as e:
        fetch_history_file("VVIX", session=RecordedSession.from_dir(RECORDED), timeout_s=5)
    assert e.value.reason.startswith("https://cdn.cboe.com/api/global/us_indices/daily_prices/VVIX_History.csv "
                                     "answered HTTP 200 but not with a history file: an HTML page")
    assert "\n" not in e.value.reason


def test_fetch_history_writes_the_files_and_says_what_is_missing(recorded, tmp_path, monkeypatch):
    monkeypatch.setenv("ALVH_HISTORY_FILES", "VIX,SKEW,VVIX,VIX6M,DIX")
    to = tmp_path / "history"
    res = CliRunner().invoke(app, ["fetch", "--history", "--to", str(to), "--home", str(tmp_path / "home")])
    assert res.exit_code == 1, res.output  # two of five did not come
    lines = res.output.strip().splitlines()
    ok = [ln.split()[1] for ln in lines if ln.startswith("ok")]
    assert ok == ["VIX_History.csv", "SKEW_History.csv", "DIX.csv"]
    miss = [ln for ln in lines if ln.startswith("error: miss")]  # one line each, on stderr
    assert len(miss) == 2 and "VVIX_History.csv" in miss[0] and "HTML page" in miss[0]
    assert "VIX6M_History.csv" in miss[1] and "404" in miss[1]
    assert lines[-1] == (f"history: 3 files in {to}, 2 missing; seed a home with: alvh research "
                         f"--seed-home --history-dir {to}")
    assert sorted(p.name for p in to.iterdir()) == [".live-manifest.json", "DIX.csv", "SKEW_History.csv",
                                                    "VIX_History.csv"]
    assert (to / "DIX.csv").read_bytes() == (RECORDED / "squeezemetrics" / "DIX.csv").read_bytes()  # as received

    settings = load_settings(home=tmp_path / "home")
    with Warehouse.memory() as wh:
        seeded = seed_home(wh, settings, to, show=False)
        assert seeded.failed == () and seeded.loaded == 3
        assert wh.sql("select count(*) from raw.index_bars where symbol = 'VIX'").item() == 8
        assert wh.sql("select count(*) from raw.dix_gex").item() == 8
        prov = {Path(p).name: json.loads(v) for p, v in
                wh.sql("select original_path, provenance from audit.files").rows()}
    assert prov["DIX.csv"]["url"] == "https://squeezemetrics.com/monitor/static/DIX.csv"
    assert prov["DIX.csv"]["history"] is True and prov["DIX.csv"]["via"] == "alvh fetch --history"
    assert prov["VIX_History.csv"]["source"] == "cboe"
