"""Cold start (docs/research.md): a home seeded from a history folder (tests/fixtures/history, the
real layouts, four months) has z-scores, MACD and a regime on night one; a second seeding has
nothing to do; the night's report says which inputs came from the chain and which from history files."""

from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl
import pytest

from flows.research import seed_home
from flows.settings import load_settings
from warehouse import reads
from warehouse.db import Warehouse

NIGHT = date(2022, 2, 4)  # tests/fixtures/gamma/spx_mini_quotedata.csv
LAST_SEEDED = date(2022, 2, 3)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, fixtures):
    settings = load_settings(home=tmp_path_factory.mktemp("home"))
    wh = Warehouse.memory()
    res = seed_home(wh, settings, fixtures / "history", until=NIGHT, show=False)
    yield wh, settings, res
    wh.close()


def test_seeding_lands_every_history_file_through_the_ingest(seeded):
    wh, _, res = seeded
    assert res.failed == () and res.files == res.loaded == 11  # README.md and the script are not data
    files = wh.sql("select format, status, provenance from audit.files order by format")
    assert set(files["status"]) == {"loaded"}
    assert all(json.loads(p)["history"] is True for p in files["provenance"])
    assert sorted(set(files["format"])) == ["binance_funding_archive", "breadth_csv", "cboe_index_history",
                                            "squeezemetrics_dix"]
    assert res.sessions[0] == date(2021, 10, 1) and res.sessions[-1] == LAST_SEEDED
    assert len(res.sessions) == 87


def test_the_last_seeded_session_has_z_scores_macd_and_a_regime(seeded):
    wh, _, res = seeded
    row = wh.sql("select * from core.signals_daily where date = ?", [LAST_SEEDED]).row(0, named=True)
    for col in ("gex_z", "gex_macd_hist_usd", "funding_apr_z", "mcclellan_osc", "vix_vix3m_ratio",
                "unwind_score", "regime"):
        assert row[col] is not None, col
    assert row["components_missing"] == "events"  # no macro calendar in the folder: said, not invented
    n = wh.sql("select count(*) from core.signals_daily").item()
    assert n == len(res.sessions)


def test_a_second_seeding_has_nothing_to_do(seeded, fixtures):
    wh, settings, _ = seeded
    before = wh.checksum("core.signals_daily")
    again = seed_home(wh, settings, fixtures / "history", until=NIGHT, show=False)
    assert again.nothing_to_do and again.loaded == 0 and again.sessions == ()
    assert "nothing to do" in again.line()
    assert wh.checksum("core.signals_daily") == before


def test_signal_inputs_say_history_file_before_the_first_chain(seeded):
    wh, _, _ = seeded
    got = {(r["component"], r["input"]): r for r in reads.signal_inputs(wh, LAST_SEEDED)}
    gamma = got[("gamma", "SPX dealer gamma (net GEX)")]
    assert gamma["tonight"] == "history file" and gamma["history_file"] == 60 and gamma["chain"] == 0
    assert got[("volatility", "VIX")]["tonight"] == "history file"
    assert got[("funding", "perp funding rates")]["tonight"] == "history file"


def test_night_one_has_z_scores_and_macd_and_the_report_says_history_file(prefect_harness, tmp_path, fixtures,
                                                                          monkeypatch):
    from flows.nightly import nightly

    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(fixtures / "gamma" / "spx_mini_quotedata.csv", drop / "spx_quotedata.csv")
    monkeypatch.setenv("ALVH_HISTORY_DIR", str(fixtures / "history"))
    monkeypatch.setenv("ALVH_DROP_WAIT_S", "0")
    home = tmp_path / "home"
    s = nightly(as_of=NIGHT, source="drop", drop=drop, home=home)
    assert s.report is not None and s.report.exists()
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        sig = wh.sql("select * from core.signals_daily where date = ?", [NIGHT]).row(0, named=True)
        assert sig["gex_z"] is not None and sig["gex_macd_hist_usd"] is not None
        assert sig["funding_apr_z"] is not None and sig["regime"] is not None
        g = wh.sql("select gex_macd_hist_usd from core.gamma_daily where date = ? and underlying = 'SPX'",
                   [NIGHT])
        assert g.height == 1 and g.item() is not None  # the chain night's MACD ran over the vendor history
        inputs = {r["input"]: r for r in reads.signal_inputs(wh, NIGHT)}
    assert inputs["SPX dealer gamma (net GEX)"]["tonight"] == "chain"
    assert inputs["SPX dealer gamma (net GEX)"]["history_file"] == 60
    html = s.report.read_text()
    table = html[html.index('id="signal-inputs"'):]
    table = table[:table.index("</table>")]
    assert "SPX dealer gamma (net GEX)</td><td class=\"l\">chain" in table
    assert table.count("history file") >= 3  # VIX, VIX3M, SPX close came from the history folder


def test_seed_counts_match_the_fixture_rows(seeded, fixtures):
    wh, _, _ = seeded
    vix = pl.read_csv(fixtures / "history" / "VIX_History.csv")
    assert wh.sql("select count(*) from raw.index_bars where symbol = 'VIX'").item() == vix.height


def test_alvh_research_seed_home_then_nothing_to_do(tmp_path, fixtures, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.setenv("ALVH_HISTORY_YEARS", "0.25")  # the last three months are enough here
    args = ["research", "--seed-home", "--history-dir", str(fixtures / "history"), "--home", str(tmp_path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    last = first.output.strip().splitlines()[-1]
    assert last.startswith(f"seed {fixtures / 'history'}: 11 files (11 new); built ") and "..2022-02-03)" in last
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == (
        f"seed {fixtures / 'history'}: nothing to do (11 files already landed, sessions built)")
