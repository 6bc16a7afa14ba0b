"""`alvh gex FILE... [--preset NAME] [--json]`: one summary per file without a warehouse; a bad file
prints its one-line error to stderr, the others still print, and the exit code says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.gex import gex_command
from sources.formats import parse_file

REQUIRED = {"file", "underlying", "quote_date", "snapshot_date", "spot", "net_gex_usd_per_pct",
            "call_gex_usd_per_pct", "put_gex_usd_per_pct", "zero_gamma", "call_wall", "put_wall", "expired_rows"}


@pytest.fixture
def mini(fixtures) -> Path:
    return fixtures / "gamma" / "spx_mini_quotedata.csv"


def vendor_spot_gex(path: Path) -> float:
    """Σ ± vendor gamma × OI × 100 × S² × 0.01 straight from the reader's rows."""
    rows = parse_file(path).rows
    return sum((1 if r["right"] == "C" else -1) * r["gamma"] * r["open_interest"] * 100
               * r["spot"] ** 2 * 0.01 for r in rows.iter_rows(named=True))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_line_per_file_in_usd(mini, capsys):
    assert gex_command([mini], "perfiliev", as_json=True) == 0
    (out,) = json_lines(capsys.readouterr().out)
    assert set(out) >= REQUIRED
    assert (out["file"], out["underlying"], out["quote_date"], out["snapshot_date"]) == (
        str(mini), "SPX", "2022-02-04", "2022-02-04")
    assert out["spot"] == 4500.5
    assert out["net_gex_usd_per_pct"] == pytest.approx(vendor_spot_gex(mini), rel=1e-12)  # USD, not bn
    assert out["net_gex_usd_per_pct"] == pytest.approx(out["call_gex_usd_per_pct"] + out["put_gex_usd_per_pct"])
    assert out["flip_count"] == 2 and out["zero_gamma"] == out["zero_gamma_flips"][0]
    assert (out["call_wall"], out["put_wall"], out["expired_rows"]) == (4550.0, 4500.0, 0)


def test_bad_files_print_one_line_errors_and_the_others_still_print(mini, tmp_path, capsys):
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("not,a,chain\n1,2,3\n")
    index = tmp_path / "vix_history.csv"  # a real vendor format, but not an option chain
    index.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2020,13.46,13.72,12.42,12.47\n")
    missing = tmp_path / "missing.csv"
    code = gex_command([garbage, mini, index, missing, mini], "perfiliev", as_json=False)
    out, err = capsys.readouterr()
    assert code == 1
    assert out.count("spx_mini_quotedata.csv: SPX 2022-02-04") == 2
    errors = err.strip().splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"error: {garbage}:1: unrecognised format")
    assert errors[1].startswith(f"error: {index}: not an option chain")
    assert errors[2].startswith(f"error: {missing}: ")


def test_expired_rows_and_no_flip_in_text_output(realdata, capsys):
    path = realdata / "cboe_chains" / "spx_2026-03-14_expired_rows.csv"
    assert gex_command([path], "perfiliev", as_json=False) == 0
    line = capsys.readouterr().out
    assert "zero gamma none within 5,305.75–7,958.63" in line
    assert "36 expired rows excluded" in line and "GEX -12.90 bn USD/1%" in line


def test_real_chains_as_json_match_the_readme(realdata, capsys):
    files = sorted((realdata / "cboe_chains").glob("*.csv"))
    assert gex_command(files, "perfiliev", as_json=True) == 0
    got = {Path(o["file"]).name: o for o in json_lines(capsys.readouterr().out)}
    assert got["spx_2022-02-05.csv"]["net_gex_usd_per_pct"] == pytest.approx(-19.156144e9, rel=1e-6)
    assert got["spx_2022-02-05.csv"]["zero_gamma"] == pytest.approx(4585.16, abs=0.5)
    assert got["spx_2026-03-14_expired_rows.csv"]["zero_gamma"] is None
    assert got["spy_2025-09-25.csv"]["underlying"] == "SPY"


def test_unknown_preset_is_a_usage_error(mini, capsys):
    assert gex_command([mini], "squeezemetrics", as_json=False) == 2
    assert "unknown gamma preset 'squeezemetrics'" in capsys.readouterr().err


def test_registered_on_the_alvh_app(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("ALVH_GAMMA_PRESET", "perfiliev")
    result = CliRunner().invoke(app, ["gex", str(mini), str(mini), "--json"])
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert len(lines) == 2 and {o["preset"] for o in lines} == {"perfiliev"}
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n")
    result = CliRunner().invoke(app, ["gex", str(bad), str(mini), "--preset", "default"])
    assert result.exit_code == 1
    assert "[default]" in result.stdout and f"{bad}:1:" in result.stderr


def test_rows_the_contract_refuses_are_left_out_with_one_line(capsys):
    """The same contract gate as ingest (flows/gate.py): the crossed quote of line 17 is not counted."""
    path = Path(__file__).parents[1] / "bad_inputs" / "files" / "chain_crossed_quote.csv"
    assert gex_command([path], "perfiliev", as_json=True) == 0
    out, err = capsys.readouterr()
    assert f"{path}:17: 1 row(s) refused by the raw.option_quotes contract" in err
    assert "ask_ge_bid: ask below bid (crossed quote)" in err
    summary = json_lines(out)[0]
    assert summary["contracts"] == parse_file(path).rows.height - 1


@pytest.mark.parametrize("preset", ["default", "perfiliev"])
def test_cli_and_the_build_agree_on_the_real_chains(realdata, preset, capsys, monkeypatch):
    """`alvh gex --json` and the nightly's core.gamma_daily (gamma_partitions with the build's
    completed conventions: the one rates source) give the same figures for the same file."""
    from flows.build import gamma_conventions, gamma_partitions
    from flows.settings import Settings

    monkeypatch.delenv("ALVH_GAMMA_RATE", raising=False)
    monkeypatch.delenv("ALVH_GAMMA_DIV_YIELD", raising=False)
    files = sorted((realdata / "cboe_chains").glob("*.csv"))
    assert len(files) == 4, files
    conv = gamma_conventions(Settings().model_copy(update={"gamma_preset": preset}))
    for path in files:
        capsys.readouterr()
        assert gex_command([path], preset, as_json=True) == 0
        cli = {(o["underlying"], o["quote_date"]): o for o in json_lines(capsys.readouterr().out)}
        daily = gamma_partitions(parse_file(path).rows, conv)["core.gamma_daily"]
        assert daily.height == len(cli) > 0, path.name
        for row in daily.iter_rows(named=True):
            o = cli[(row["underlying"], row["date"].isoformat())]
            for col in ("net_gex_usd_per_pct", "call_gex_usd_per_pct", "put_gex_usd_per_pct", "gross_gex_usd_per_pct", "zero_gamma"):
                if row[col] is None:
                    assert o[col] is None, (path.name, col)
                else:
                    assert o[col] == pytest.approx(row[col], rel=1e-12), (path.name, col)
            assert o["zero_gamma_flips"] == pytest.approx(row["zero_gamma_flips"], rel=1e-12)


def test_underlying_filters_a_files_summaries(realdata, capsys):
    spy = realdata / "cboe_chains" / "spy_2025-09-25.csv"
    assert gex_command([spy], "perfiliev", as_json=True, underlying="SPY") == 0
    (out,) = json_lines(capsys.readouterr().out)
    assert out["underlying"] == "SPY" and out["net_vanna_usd_per_vol_pt"] is not None
    assert gex_command([spy], "perfiliev", as_json=True, underlying="QQQ") == 1
    assert f"{spy}: no QQQ chain in this file" in capsys.readouterr().err


def test_stored_rows_by_underlying_from_the_tables(tmp_path, capsys):
    """`alvh gex --underlying SPY` without a file: the home's core.gamma_daily row, same JSON."""
    from datetime import date, datetime

    import polars as pl

    from flows.build import gamma_partitions, write_gamma_partitions
    from flows.gex import stored_command
    from warehouse.db import Warehouse

    def chain(root, und, spot):
        return pl.DataFrame([{"quote_date": date(2025, 9, 25), "quote_ts": datetime(2025, 9, 25, 20),
                              "root": root, "expiry": date(2025, 10, 3), "strike": spot * m, "right": r,
                              "underlying": und, "spot": spot, "open_interest": 1000, "iv": 0.2,
                              "gamma": 0.0} for m, r in ((0.97, "P"), (1.0, "C"), (1.0, "P"), (1.03, "C"))])

    tables = gamma_partitions(pl.concat([chain("SPXW", "SPX", 6600.0), chain("SPY", "SPY", 660.0)]),
                              "default")
    path = tmp_path / "warehouse.duckdb"  # Settings(home=tmp_path).warehouse_path
    with Warehouse.open(path) as wh:
        write_gamma_partitions(wh, tables)
    assert stored_command(path, "SPY", "default", None, as_json=True) == 0
    (out,) = json_lines(capsys.readouterr().out)
    want = tables["core.gamma_daily"].filter(pl.col("underlying") == "SPY").row(0, named=True)
    assert (out["file"], out["underlying"], out["quote_date"], out["spot"]) == (
        "core.gamma_daily", "SPY", "2025-09-25", 660.0)
    assert out["net_gex_usd_per_pct"] == want["net_gex_usd_per_pct"]
    assert out["net_charm_usd_per_day"] == want["net_charm_usd_per_day"]
    assert stored_command(path, "SPY", "default", None, as_json=False) == 0
    assert "core.gamma_daily: SPY 2025-09-25" in capsys.readouterr().out
    assert stored_command(path, "QQQ", "default", None, as_json=False) == 1
    assert "no core.gamma_daily row for QQQ (preset default); stored underlyings: SPX, SPY" in \
        capsys.readouterr().err
    result = CliRunner().invoke(app, ["gex", "--underlying", "spy", "--as-of", "2025-09-25",
                                      "--home", str(tmp_path), "--preset", "default", "--json"])
    assert result.exit_code == 0, result.output
    assert json_lines(result.stdout)[0]["underlying"] == "SPY"
