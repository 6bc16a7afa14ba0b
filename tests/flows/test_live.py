"""Live mode through the real flows on recorded API payloads (no network): `alvh fetch`, and
`nightly --source live` end to end (fetch -> drop folder -> ingest with provenance -> build ->
report); offline it fails with one line, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.fetch
from flows.cli import app
from sources.live.recorded import RecordedSession
from warehouse.db import Warehouse

LIVE = Path(__file__).resolve().parents[1] / "fixtures" / "live"
NIGHT = date(2026, 5, 20)
OFFLINE_LINE = ("error: live fetch: cannot reach cdn.cboe.com, query2.finance.yahoo.com, fapi.binance.com, "
                "api.bybit.com, www.okx.com, api.hyperliquid.xyz (network unreachable); run with "
                "--source sample or drop")


def recorded(offline: set[str] | bool = False):
    def factory(provider: str) -> RecordedSession:
        s = RecordedSession.from_dir(LIVE)
        s.offline = offline
        return s
    return factory


@pytest.fixture(autouse=True)
def small_night(monkeypatch):
    """The recorded payloads cover 12 days of funding and 130 sessions of bars; no pacing waits."""
    import ccxt

    for k, v in {"ALVH_LIVE_FUNDING_DAYS": "12", "ALVH_LIVE_HISTORY_DAYS": "200",
                 "ALVH_LIVE_YAHOO_MAX_EXPIRIES": "2", "ALVH_LIVE_YAHOO_PER_MIN": "100000",
                 "ALVH_LIVE_CBOE_PER_MIN": "100000"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(ccxt.Exchange, "throttle", lambda self, cost=None: None)


def test_alvh_fetch_prints_one_line_per_file(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.fetch, "SESSIONS", recorded())
    home = tmp_path / "home"
    res = CliRunner().invoke(app, ["fetch", "--as-of", str(NIGHT), "--only", "cboe,funding:okx",
                                   "--home", str(home)])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert [ln.split()[1] for ln in lines[:-1]] == [
        "cboe_SPX_delayed_quotes_2026-05-20.json", "cboe_VIX_delayed_quotes_2026-05-20.json",
        "ccxt_okx_BTC_funding_2026-05-20.json", "ccxt_okx_ETH_funding_2026-05-20.json"]
    folder = home / "drops" / "2026-05-20-live"
    assert lines[-1] == f"fetch 2026-05-20: 4 files in {folder}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".live-manifest.json"] + [ln.split()[1] for ln in lines[:-1]])


def test_alvh_fetch_offline_is_one_line_and_exit_1(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.fetch, "SESSIONS", recorded(offline=True))
    res = CliRunner().invoke(app, ["fetch", "--as-of", str(NIGHT), "--home", str(tmp_path / "h")])
    assert res.exit_code == 1
    assert res.output.strip() == OFFLINE_LINE
    assert "Traceback" not in res.output


def test_nightly_source_live_end_to_end(prefect_harness, tmp_path, monkeypatch):
    from flows.nightly import nightly

    monkeypatch.setattr(flows.fetch, "SESSIONS", recorded())
    home = tmp_path / "home"
    s = nightly(as_of=NIGHT, source="live", home=home)
    assert s.status == "ok", (s.failed, s.messages)
    assert s.files == 19 and s.quarantined == 0
    assert s.report == home / "reports" / "2026-05-20.html" and s.report.exists()
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        files = wh.sql("select original_path, format, status, provenance from audit.files")
        assert files.height == 19 and set(files["status"]) == {"loaded"}
        prov = {Path(p).name: json.loads(v) for p, v in files.select("original_path", "provenance").rows()}
        spx = prov["cboe_SPX_delayed_quotes_2026-05-20.json"]
        assert spx["source"] == "cboe" and spx["fetched_at"]
        assert spx["url"] == "https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json"
        assert prov["yahoo_GSPC_history_2026-05-20.csv"]["url"].startswith(
            "https://query2.finance.yahoo.com/v8/finance/chart/^GSPC?range=")
        assert prov["ccxt_bybit_ETH_funding_2026-05-20.json"]["market_interval_h"] == 4
        assert set(files["format"]) == {"cboe_delayed_json", "cboe_quotedata", "yfinance_csv",
                                        "ccxt_funding_history", "ccxt_open_interest_history", "ccxt_liquidations"}
        assert prov["ccxt_okx_BTC_liquidations_2026-05-20.json"]["url"].startswith(
            "https://www.okx.com/api/v5/public/liquidation-orders?instType=SWAP&instFamily=BTC-USDT")
        assert wh.scalar("select count(*) from raw.option_quotes where quote_date = ? and underlying = 'SPX'",
                         [NIGHT]) == 250
        assert wh.scalar("select spot from core.gamma_daily where date = ? and underlying = 'SPX'",
                         [NIGHT]) == 5812.34
        venues = wh.sql("select distinct venue from raw.funding_rates order by 1")["venue"].to_list()
        assert venues == ["binance", "bybit", "hyperliquid", "okx"]
        assert wh.scalar("select count(*) from core.vol_daily where date = ?", [NIGHT]) == 1
        # the fetched positioning reaches core.funding_daily: the funding day (Tuesday's 16:00 ET
        # close to tonight's) sums the recorded OKX fills; Binance's OI is its last hourly row
        okx = json.loads((LIVE / "okx" / "liquidations_BTC-USDT.json").read_text())["data"][0]["details"]
        lo, hi = int(datetime(2026, 5, 19, 20, tzinfo=UTC).timestamp() * 1000), int(datetime(
            2026, 5, 20, 20, tzinfo=UTC).timestamp() * 1000)
        longs = sum(int(d["sz"]) * 0.01 * float(d["bkPx"]) for d in okx
                    if d["posSide"] == "long" and lo < int(d["ts"]) <= hi)
        row = wh.sql("select liquidations_long_usd, open_interest_usd from core.funding_daily "
                     "where date = ? and venue = 'okx' and symbol = 'BTC'", [NIGHT]).row(0)
        assert longs > 0 and row[0] == pytest.approx(longs)
        oi = json.loads((LIVE / "binance" / "openInterestHist_BTCUSDT.json").read_text())[-1]
        assert wh.scalar("select open_interest_usd from core.funding_daily where date = ? and venue = 'binance' "
                         "and symbol = 'BTC'", [NIGHT]) == pytest.approx(float(oi["sumOpenInterestValue"]))


def test_nightly_live_offline_fails_in_one_line_and_records_the_run(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.fetch, "SESSIONS", recorded(offline=True))
    home = tmp_path / "home"
    res = CliRunner().invoke(app, ["nightly", "--as-of", str(NIGHT), "--source", "live", "--home", str(home)])
    assert res.exit_code == 1
    assert res.output.strip() == OFFLINE_LINE and "Traceback" not in res.output
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        status, error = wh.sql("select status, summary from audit.runs").row(0)
        assert status == "failed" and "cannot reach cdn.cboe.com" in error


def test_alvh_fetch_refuses_a_day_that_is_not_a_session(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.fetch, "SESSIONS", recorded())
    res = CliRunner().invoke(app, ["fetch", "--as-of", "2026-05-23", "--home", str(tmp_path / "h")])
    assert res.exit_code == 1
    assert res.output.strip() == "error: 2026-05-23 is not an XNYS session (Saturday): nothing to fetch"
