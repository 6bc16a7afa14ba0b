"""Instant daily commands (issue 17): what `alvh status`, `alvh ingest FILE` and `import flows.cli`
load, checked by module names in a fresh interpreter (never by timing: timings are in
bench/bench_cli.py), and the XNYS session list kept between commands in $ALVH_HOME/cache.

Why these packages: each costs a measurable share of the targets (status 1 s, ingest 1.5 s wall)
- Prefect ~1.5 s, Great Expectations ~2 s, pandas/pandera ~0.6 s, building the XNYS calendar ~1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sources import calendar as xnys
from warehouse.db import Warehouse

REPO = Path(__file__).resolve().parents[2]
NEVER = {"prefect", "great_expectations", "quantstats", "scipy", "plotly", "jinja2"}
DATA_STACK = {"pandas", "pandera", "exchange_calendars", "polars", "numpy", "pyarrow"}


def _loaded(body: str, home: Path, *argv: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """Top-level packages of NEVER | DATA_STACK | duckdb loaded by `body` in a fresh Python."""
    watch = sorted(NEVER | DATA_STACK | {"duckdb"})
    code = ("import atexit, json, sys\n"
            f"atexit.register(lambda: print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}}"
            f" & set({watch!r}))), file=sys.stderr))\n"
            f"sys.argv = ['alvh', *{list(argv)!r}]\n" + body)
    env = {**os.environ, "ALVH_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=home.parent, capture_output=True,
                          text=True, timeout=300)
    return set(json.loads(done.stderr.strip().splitlines()[-1])), done


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def test_importing_the_cli_loads_no_data_package(home):
    loaded, _ = _loaded("import flows.cli", home)
    assert loaded == set()  # not even DuckDB or polars: `--help`, `--version`, a holiday night


def test_status_reads_the_warehouse_without_polars_or_pandas(home):
    Warehouse.open(home / "warehouse.duckdb").close()  # an empty warehouse with the schema
    loaded, done = _loaded("from flows.cli import main\nmain()", home, "status")
    assert done.returncode == 0, done.stderr
    assert "raw.option_quotes" in done.stdout
    assert loaded == {"duckdb"}


def test_ingest_of_one_file_loads_no_prefect_ge_or_calendar(home, fixtures):
    """With the session list kept (the first command of the day writes it), `alvh ingest` loads
    pandera (the row contracts) and polars, never Prefect, GE, scipy or exchange_calendars."""
    xnys.keep_sessions_in(home / "cache")
    try:
        xnys.sessions()  # writes today's list, as the day's first `alvh` command would
    finally:
        xnys.keep_sessions_in(None)
    loaded, done = _loaded("from flows.cli import main\nmain()", home, "ingest",
                           str(fixtures / "cboe_index_history" / "VIX_History.csv"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout
    assert not loaded & NEVER and "exchange_calendars" not in loaded
    assert {"pandera", "polars", "duckdb"} <= loaded  # the contract gate really ran


def test_sessions_kept_in_a_folder_are_the_calendar_and_are_rebuilt_when_damaged(tmp_path):
    computed = xnys.sessions()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "xnys-sessions-1965-01-04-2000-01-03-xc0.txt").write_text("n=1\n1965-01-04\n")  # an old day
    try:
        xnys.keep_sessions_in(cache)
        assert xnys.sessions() == computed
        [kept] = cache.iterdir()  # today's list, the old day's removed
        assert kept.read_text().splitlines()[:2] == [f"n={len(computed)}", "1965-01-04"]
        xnys.keep_sessions_in(cache)
        assert xnys.sessions() == computed  # read back
        kept.write_text(kept.read_text()[:5000])  # a truncated file (a full disk): not trusted
        xnys.keep_sessions_in(cache)
        assert xnys.sessions() == computed
        assert kept.read_text().count("\n") == len(computed) + 1
        assert xnys.is_session(date(2024, 12, 24)) and not xnys.is_session(date(2024, 12, 25))
    finally:
        xnys.keep_sessions_in(None)
    assert xnys.sessions() == computed
