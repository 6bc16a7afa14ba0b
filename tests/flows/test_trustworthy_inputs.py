"""A corrupted vendor file never reaches a trusted night: plausibility findings at ingest make the
night untrusted and quarantine the named rows; bytes that failed once fail again when re-sent."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from expectations import night_is_trusted
from flows.cli import app
from warehouse.db import Warehouse

HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
          "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n")


def chain(day: int, oi_first: int = 13_510) -> str:
    """An SPX chain of Feb <day> 2022 (a March expiry), calls and puts near parity."""
    spot = 4500.25 + (day - 7) * 3.5  # a live market: spot and quotes move between days
    head = (f"\nS&P 500 INDEX,Last: {spot},Change:  -1.5\n"
            f'"Date: February {day}, 2022 at 3:45 PM EST",Bid: 1,Ask: 2,Size: 1*1,Volume: 0\n' + HEADER)
    rows = []
    for i, k in enumerate(range(4300, 4800, 5)):  # 200 rows: one bad row stays under 1 %
        c = round(max(spot - k, 0) + 60, 2)
        p = round(max(k - spot, 0) + 60, 2)
        oi = oi_first if i == 20 else 1000
        rows.append(f"Fri Mar 18 2022,SPX220318C0{k}000,{c},0,{c},{c + 1},50,0.2,0.5,0.002,{oi},{k}.00,"
                    f"SPX220318P0{k}000,{p},0,{p},{p + 1},50,0.2,-0.5,0.002,1000\n")
    return head + "".join(rows)


def test_open_interest_spike_is_quarantined_and_the_night_untrusted(prefect_harness, tmp_path):
    home = tmp_path / "home"
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    (tmp_path / "d1" / "spx.csv").write_text(chain(7))
    (tmp_path / "d2" / "spx.csv").write_text(chain(8, oi_first=999_999_999_999))
    r1 = CliRunner().invoke(app, ["ingest", str(tmp_path / "d1"), "--home", str(home)])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(app, ["ingest", str(tmp_path / "d2"), "--home", str(home)])
    assert "critical" in r2.output and "open_interest_vs_volume" in r2.output
    assert f"{tmp_path / 'd2' / 'spx.csv'}:25" in r2.output  # file:line of the bad row
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        q = wh.sql("select line, check_name, reason from audit.quarantine where check_name <> 'parse'")
        # only the call of line 25 (its put is valid) is refused, with the checks it failed
        assert q["line"].to_list() == [25] and "999,999,999,999" in q["reason"][0]
        assert q["check_name"][0] in ("open_interest_vs_volume", "open_interest_bound")
        oi = wh.scalar("select max(open_interest) from raw.option_quotes where quote_date = ?",
                       [date(2022, 2, 8)])
        assert oi < 1_000_000  # the bad row never reached raw
        ok, reasons = night_is_trusted(wh, date(2022, 2, 8))
        assert not ok and any("open_interest_vs_volume" in r for r in reasons)
        # (the 7th lacks the other required tables of a night, but no plausibility finding)
        _, reasons = night_is_trusted(wh, date(2022, 2, 7))
        assert not any("plausibility" in r for r in reasons), reasons


def test_failed_bytes_fail_again_and_loaded_bytes_are_a_no_op(prefect_harness, tmp_path):
    home = tmp_path / "home"
    d = tmp_path / "drop"
    d.mkdir()
    bad = d / "spx_503.csv"
    bad.write_text("<html><body><h1>503 Service Unavailable</h1></body></html>\n")
    runs = [CliRunner().invoke(app, ["ingest", str(bad), "--home", str(home)]) for _ in range(2)]
    for r in runs:
        assert r.exit_code == 1, r.output
        assert f"{bad}:1: an HTML page, not vendor data" in r.output and "already landed" not in r.output
    good = d / "spx.csv"
    good.write_text(chain(7))
    runs = [CliRunner().invoke(app, ["ingest", str(good), "--home", str(home)]) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0]
    assert "already landed" in runs[1].output
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        assert wh.scalar("select count(*) from audit.files") == 2


def test_a_home_that_is_a_file_is_one_line_and_exit_1(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder\n")
    r = CliRunner().invoke(app, ["ingest", str(tmp_path), "--home", str(home)])
    assert r.exit_code == 1
    assert f"{home}: not a folder" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
