"""The trader's commands without Prefect: `alvh show`, `export`, `quarantine`, `config`, the
notification, and the papercuts (version, bad dates, a never-built night). A two-night warehouse
of a few hand-written rows is the worked example; commands run in-process through typer."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.settings import load_settings
from warehouse import queries
from warehouse.db import Warehouse

D1, D2 = date(2026, 11, 20), date(2026, 11, 23)


def _signals(d: date, regime: str, gamma: float, funding: float) -> dict:
    return {"date": d, "regime": regime, "regime_sessions": 1, "regime_reason": "held",
            "gamma_score_pts": gamma, "funding_score_pts": funding, "breadth_score_pts": 5.0, "volatility_score_pts": 10.0,
            "events_score_pts": 0.0, "unwind_score": gamma + funding + 15.0, "components_available": 4,
            "components_missing": "events"}


@pytest.fixture
def built(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("ALVH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    home.mkdir()
    with Warehouse.open(home / "warehouse.duckdb") as wh:
        wh.append("core.signals_daily", pl.DataFrame([_signals(D1, "calm", 10.0, 5.0),
                                                      _signals(D2, "crowded", 30.0, 8.0)]))
        wh.append("core.gamma_daily", pl.DataFrame({
            "date": [D1, D2], "underlying": ["SPX"] * 2, "preset": ["default"] * 2,
            "spot": [5990.0, 6000.0], "net_gex_usd_per_pct": [1e9, -1e9], "call_gex_usd_per_pct": [2e9, 1e9],
            "put_gex_usd_per_pct": [-1e9, -2e9], "contracts": [10, 10], "expired_rows": [0, 0]}))
        wh.append("core.recommendations", pl.DataFrame([{
            "as_of": D2, "status": "ok", "structure": "iron_condor", "regime": "crowded",
            "unwind_score": 53.0, "spot": 6000.0, "vix": 18.0, "root": "SPXW",
            "expiry": date(2026, 12, 7), "dte_days": 14, "short_put": 5800.0, "long_put": 5750.0,
            "short_call": 6150.0, "long_call": 6200.0, "credit_pts": 4.5, "max_loss_pts": 45.5,
            "be_low": 5795.5, "be_high": 6154.5, "contracts": 3, "credit_usd": 1350.0,
            "max_loss_usd": 13650.0, "risk_budget_usd": 15000.0, "risk_used_usd": 13650.0,
            "risk_used_pct": 1.365}]))
        wh.append("core.recommendation_legs", pl.DataFrame([
            {"as_of": D2, "layer": "condor", "leg_no": i, "instrument": "option", "underlying": "SPX",
             "root": "SPXW", "expiry": date(2026, 12, 7), "strike": k, "right": r, "side": s,
             "quantity": 3, "price": p}
            for i, (k, r, s, p) in enumerate([(5750.0, "P", "buy", 3.1), (5800.0, "P", "sell", 5.2),
                                              (6150.0, "C", "sell", 4.0), (6200.0, "C", "buy", 1.6)])]))
        wh.append("audit.quarantine", pl.DataFrame([{
            "file_id": None, "source_path": "landing/cboe_index/abc-VIX_History.csv",
            "table_name": "raw.index_bars", "line": 7, "raw": "01/09/2024,x,,,", "reason":
            "OPEN is not a number", "check_name": "parse", "batch_id": "b", "as_of": D2}]))
    return home


runner = CliRunner()


def test_score_moves_rank_components_by_change():
    moves = queries.score_moves(_signals(D2, "crowded", 30.0, 8.0), _signals(D1, "calm", 10.0, 5.0))
    assert [(m["component"], m["change"]) for m in moves[:3]] == [
        ("gamma", 20.0), ("funding", 3.0), ("breadth", 0.0)]


def test_show_prints_regime_score_move_legs_and_risk(built):
    res = runner.invoke(app, ["show"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "night 2026-11-23: regime crowded (was calm)" in out
    assert "score 53/100 (4/5 components, missing events); +23.0 since 2026-11-20: gamma +20.0, funding +3.0" in out
    assert "3 x SPXW 2026-12-07 (14 DTE)" in out and "5800" in out and "6200" in out
    assert "13,650 USD" in out


def test_show_of_a_night_never_built_is_an_error(built):
    res = runner.invoke(app, ["show", "--as-of", "2026-11-24"])
    assert res.exit_code == 1 and "no night built for 2026-11-24" in res.output


def test_export_csv_and_parquet_with_a_date_range(built, tmp_path):
    res = runner.invoke(app, ["export", "signals", "--start", "2026-11-21", "--out", str(tmp_path / "s.csv")])
    assert res.exit_code == 0, res.output
    assert pl.read_csv(tmp_path / "s.csv")["regime"].to_list() == ["crowded"]
    res = runner.invoke(app, ["export", "legs", "--format", "parquet", "--out", str(tmp_path / "l.parquet")])
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(tmp_path / "l.parquet")["strike"].to_list() == [5750.0, 5800.0, 6150.0, 6200.0]
    res = runner.invoke(app, ["export", "nonsense"])
    assert res.exit_code == 1 and "unknown table 'nonsense'" in res.output


def test_quarantine_lists_file_line_and_reason(built):
    res = runner.invoke(app, ["quarantine", "--as-of", "2026-11-23", "--raw"])
    assert res.exit_code == 0, res.output
    assert "landing/cboe_index/abc-VIX_History.csv:7: OPEN is not a number [raw.index_bars, parse]" in res.output
    assert "01/09/2024,x,,," in res.output
    assert "no quarantined rows for 2026-11-20" in runner.invoke(app, ["quarantine", "--as-of", "2026-11-20"]).output


def test_report_and_audit_of_a_night_never_built_fail(built):
    res = runner.invoke(app, ["report", "--as-of", "2026-11-24"])
    assert res.exit_code == 1 and "no night built for 2026-11-24" in res.output
    res = runner.invoke(app, ["audit", "--as-of", "2026-11-24"])
    assert res.exit_code == 1 and "nothing loaded for 2026-11-24" in res.output


def test_bad_date_is_a_one_line_usage_error():
    res = runner.invoke(app, ["report", "--as-of", "2026-13-01"])
    assert res.exit_code == 2
    assert res.output.strip() == "error: --as-of: '2026-13-01' is not a date (YYYY-MM-DD)"


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("alvh ")


def test_config_file_and_environment_override_defaults(built, monkeypatch):
    (built.parent / "alvh.toml").write_text("[strategy]\ncapital_usd = 250000\ntarget_dte = 21\n")
    monkeypatch.setenv("ALVH_STRATEGY__SHORT_DELTA", "0.1")
    from flows.strategy import load_strategy

    s = load_strategy(load_settings())
    assert (s.alvh.capital_usd, s.alvh.target_dte, s.alvh.short_delta) == (250000.0, 21, 0.1)
    assert s.backtest.alvh == s.alvh  # the backtest replays the same strategy
    assert s.origin["strategy.capital_usd"].startswith("file ")
    assert s.origin["strategy.short_delta"] == "environment ALVH_STRATEGY__SHORT_DELTA"
    assert s.origin["strategy.wing_width_pts"] == "default"
    assert s.changed() == {"strategy.capital_usd": 250000.0, "strategy.target_dte": 21,
                           "strategy.short_delta": 0.1}
    res = runner.invoke(app, ["config", "show"])
    assert res.exit_code == 0 and "strategy.target_dte" in res.output


def test_invalid_config_is_one_line_naming_the_setting(built):
    (built.parent / "alvh.toml").write_text("[strategy]\ntarget_dte = 200\nwing_widht_pts = 5\n")
    res = runner.invoke(app, ["config", "show"])
    assert res.exit_code == 1
    assert "[strategy] unknown setting(s) wing_widht_pts" in res.output


def test_alvh_toml_changes_the_recommendation_parameters(built, monkeypatch):
    """The recommendation step builds with the file's strategy (and records it in params_json)."""
    import flows.build as build
    import transforms.alvh as alvh
    import transforms.alvh_nights as alvh_nights

    (built.parent / "alvh.toml").write_text("[strategy]\nwing_width_pts = 25\nmax_risk_pct = 1\n")
    seen = []
    real = alvh.recommend

    def recommend(d, spx, *, params, **kw):
        seen.append(params)
        return real(d, spx.clear(), params=params, **kw)

    monkeypatch.setattr(alvh, "recommend", recommend)
    monkeypatch.setattr(alvh_nights, "recommend", recommend)  # the night loop's own reference
    monkeypatch.setattr(build, "nights_trust", lambda wh, dates: {d: (True, "") for d in dates})
    with Warehouse.open(built / "warehouse.duckdb") as wh:
        build.build_recommendations.fn(wh, [D2], load_settings())
        stored = json.loads(wh.scalar("select params_json from core.recommendations where as_of = ?", [D2]))
    assert (seen[0].wing_width_pts, seen[0].max_risk_pct) == (25.0, 1.0)
    assert (stored["wing_width_pts"], stored["max_risk_pct"]) == (25.0, 1.0)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_regime_change_is_notified_to_a_local_json_endpoint(built, monkeypatch):
    from flows.notify import notify_night

    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("ALVH_NOTIFY", f"json://127.0.0.1:{server.server_port}/hook")
        with Warehouse.open(built / "warehouse.duckdb", read_only=True) as wh:
            notify_night(wh, load_settings(), D2, "ok")   # calm -> crowded: told
            notify_night(wh, load_settings(), D1, "ok")   # first night, nothing changed: silent
    finally:
        server.shutdown()
    assert len(_Hook.received) == 1
    msg = _Hook.received[0]
    assert msg["title"] == "ALVH 2026-11-23: regime changed: calm -> crowded"
    assert "unwind score 53/100" in msg["message"]


def test_a_readme_beside_the_data_is_skipped_not_failed(tmp_path, monkeypatch, fixtures):
    """`alvh ingest FOLDER` runs without a Prefect server; notes beside the data are listed."""
    import shutil

    monkeypatch.setenv("ALVH_HOME", str(tmp_path / "home"))
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(fixtures / "cboe_index_history" / "VIX_History.csv", drop)
    (drop / "README.md").write_text("# what this vendor sent\n")
    (drop / "VIX_History.csv.sha256").write_text("abc  VIX_History.csv\n")
    res = runner.invoke(app, ["ingest", str(drop)])
    assert res.exit_code == 0, res.output
    assert "skip  README.md" in res.output and "skip  VIX_History.csv.sha256" in res.output
    assert "0 failed" in res.output


def test_the_report_says_which_strategy_settings_built_the_night(built):
    """A night's run records its changed settings; the report's lineage section shows them."""
    from datetime import datetime

    from reports.sections import Context
    from reports.sections.lineage import build as lineage

    with Warehouse.open(built / "warehouse.duckdb") as wh:
        wh.append("audit.runs", pl.DataFrame([{
            "run_id": "r1", "flow": "nightly", "as_of": D2, "started_at": datetime(2026, 11, 23, 22),
            "status": "ok", "params": json.dumps({"source": "drop", "strategy": {
                "strategy.capital_usd": 250000.0, "strategy.target_dte": 21}})}]))
        shown = lineage(Context(wh, D2, built / "reports", run={"run_id": "report-only"}))["settings"]
        assert shown == "strategy.capital_usd = 250000.0; strategy.target_dte = 21"
        assert queries.run_strategy(wh, "r1", D1) == {"strategy.capital_usd": 250000.0,
                                                      "strategy.target_dte": 21}
        assert queries.run_strategy(wh, None, D1) is None  # no run recorded settings for D1


def test_a_drop_is_waited_for_the_sources_it_delivered_on_earlier_nights(tmp_path, monkeypatch, fixtures):
    import shutil

    from flows.nightly import expected_for_drop

    monkeypatch.delenv("ALVH_EXPECTED_SOURCES", raising=False)
    for night in ("2026-11-19", "2026-11-20"):  # this vendor sends index history and VX only
        (tmp_path / night).mkdir()
        shutil.copy(fixtures / "cboe_index_history" / "VIX_History.csv", tmp_path / night)
        shutil.copy(fixtures / "cfe_vx_history" / "VX_2024-01-17.csv", tmp_path / night)
    template = tmp_path / "{as_of}"
    settings = load_settings(home=tmp_path / "home")
    assert expected_for_drop(settings, template, D2) == ["cboe_index", "cfe_vx"]
    assert expected_for_drop(settings, tmp_path / "2026-11-23", D2) == [  # no history to go by
        "cboe_chain", "cboe_index", "cfe_vx", "funding", "breadth", "macro"]
    monkeypatch.setenv("ALVH_EXPECTED_SOURCES", "cboe_chain")  # what the user sets wins
    assert expected_for_drop(load_settings(home=tmp_path / "home"), template, D2) == ["cboe_chain"]
