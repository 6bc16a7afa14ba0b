"""Shared fixtures: where the real vendor files are, the Prefect harness, homes and drops that
several test folders use. Fixtures only: tests/ is not a package (pytest runs --import-mode=importlib),
so a helper shared between files is a fixture here, never a module to import."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

# Prefect must never touch ~/.prefect or the network from tests: a private home per session,
# set before anything imports prefect.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="alvh-test-prefect-")
for _k, _v in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_UI_ENABLED": "false",
}.items():
    os.environ.setdefault(_k, _v)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
# Real vendor files live beside the repo, never inside it (see ../shared/realdata/README.md).
REALDATA = Path(os.environ.get("ALVH_REALDATA", REPO.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real vendor files; tests using this fixture skip (with the reason) when absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real vendor files not found at {REALDATA} (set ALVH_REALDATA to run conformance)")
    return REALDATA


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (about 7-12 s to start, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh ALVH_HOME for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("ALVH_HOME", str(h))
    return h


@pytest.fixture(scope="session")
def api_url(prefect_harness) -> str:
    """The harness's API address, for `alvh` processes started by a test."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def alvh_cmd() -> list[str]:
    """The command that runs `alvh`: the console script beside this Python, else the module."""
    exe = Path(sys.executable).with_name("alvh")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "flows.cli"]


# -- a hand-sized CBOE quotedata export (tests/flows/test_ingest.py, tests/warehouse/test_files.py) --
class QuoteData:
    """SPXW on 2022-02-07 at 15:45 ET: `head` (blank line, spot, date, column header: data starts
    on line 5), then `row(strike)` lines, each a call and a put (bid 1, ask 2, IV 0.2, gamma
    0.001). Every value is valid: a test breaks one on purpose."""

    head = (
        "\nS&P 500 INDEX,Last: 4500.25,Change:  -1.5\n"
        '"Date: February 7, 2022 at 3:45 PM EST",Bid: 1,Ask: 2,Size: 1*1,Volume: 0\n'
        "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
        "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n"
    )

    @staticmethod
    def row(strike: int, oi: int = 100) -> str:
        return (f"Mon Feb 07 2022,SPXW220207C0{strike}000,1,0,1,2,3,0.2,0.5,0.001,{oi},{strike}.00,"
                f"SPXW220207P0{strike}000,1,0,1,2,3,0.2,-0.5,0.001,{oi}\n")


@pytest.fixture(scope="session")
def quotedata() -> QuoteData:
    return QuoteData()


# -- warehouse homes ---------------------------------------------------------------------------------
def _copy_home(src: Path, dest: Path) -> Path:
    # READY marks a finished shared home; *.lock is the writer lock of the home copied from
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("READY", "*.lock"))
    return dest


def _checksums(home: Path) -> dict:
    from flows.backfill import table_checksums
    from warehouse.db import Warehouse

    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        return table_checksums(wh)


@pytest.fixture(scope="session")
def copy_home() -> Callable[[Path, Path], Path]:
    """`copy_home(src, dest)`: a private copy of a built home (without its lock), returned."""
    return _copy_home


@pytest.fixture(scope="session")
def checksums() -> Callable[[Path], dict]:
    """`checksums(home)`: every warehouse table's (rows, checksum), read-only."""
    return _checksums


# -- shared homes: the sample history plus one night, and `nightly` night by night after it; built
# once per test session (flows/test_backfill.py, flows/test_reliability.py, soak/test_sigkill.py),
# never edited: tests work on copies.
BASE_NIGHT = date(2026, 3, 5)  # a Thursday: the base home holds the sample history + this night


def _shared_root(tmp_path_factory) -> Path:
    """Where homes shared by the whole test session live: under pytest-xdist, the parent of the
    workers' own base temps, so two workers build a shared home once (the other waits on its lock)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once(root: Path, build: Callable[[Path], object]) -> Path:
    """Build `root` once: a READY marker says it is complete, a file lock keeps builders apart."""
    with FileLock(str(root) + ".lock"):
        if not (root / "READY").exists():
            shutil.rmtree(root, ignore_errors=True)
            build(root)
            (root / "READY").touch()
    return root


@pytest.fixture(scope="session")
def base_home(prefect_harness, tmp_path_factory) -> Path:
    """The sample history + the night of BASE_NIGHT (copy it before writing)."""
    from flows.nightly import nightly

    return _once(_shared_root(tmp_path_factory) / f"alvh-base-{BASE_NIGHT}",
                 lambda h: nightly(as_of=BASE_NIGHT, home=h))


@pytest.fixture(scope="session")
def reference_home(base_home, tmp_path_factory, copy_home, checksums) -> Callable[[list[date]], Path]:
    """`reference_home(days)`: `nightly` for each of `days` in turn on a copy of the base home,
    built on first use (checksums after the first night kept in first-night.json)."""
    from flows.nightly import nightly

    def reference(days: list[date]) -> Path:
        def build(h: Path) -> None:
            copy_home(base_home, h)
            for i, d in enumerate(days):
                assert nightly(as_of=d, home=h).status in ("ok", "warning")
                if i == 0:
                    (h / "first-night.json").write_text(json.dumps(checksums(h)))
        return _once(_shared_root(tmp_path_factory) / f"alvh-nightly-{days[0]}-{days[-1]}", build)
    return reference


# -- the sample home: a short demo (the report tests read it; the demo test extends a copy) -------
SAMPLE_AS_OF = date(2026, 11, 23)  # a Monday; the home holds the SAMPLE_DAYS sessions up to it
SAMPLE_DAYS = 15
SAMPLE_PAGES = 2


@dataclass(frozen=True)
class SampleHome:
    home: Path
    as_of: date
    nights: list[date]

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def page(self, d: date | None = None) -> Path:
        return self.reports / f"{(d or self.as_of).isoformat()}.html"


@pytest.fixture(scope="session")
def sample_home(prefect_harness, tmp_path_factory) -> SampleHome:
    """SAMPLE_DAYS sessions of the sample market through the real demo flow (ingest, build,
    audit, backtest, report), built once per test session (across xdist workers) and shared,
    read-only, by every report test."""
    from flows.demo import demo
    from sources import calendar
    from warehouse.db import Warehouse

    home = _once(_shared_root(tmp_path_factory) / f"sample-home-{SAMPLE_AS_OF}-{SAMPLE_DAYS}",
                 lambda h: demo(as_of=SAMPLE_AS_OF, days=SAMPLE_DAYS, pages=SAMPLE_PAGES, home=h))
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        nights = wh.sql("select distinct date from core.gamma_daily order by 1")["date"].to_list()
    as_of = calendar.sessions_between(calendar.FIRST, SAMPLE_AS_OF)[-1]  # what demo reports on
    return SampleHome(home, as_of, nights)


@pytest.fixture(scope="module")
def no_heartbeat_wait():
    """Every flow ends with a ~1 s wait on Prefect's heartbeat thread; without heartbeats, ~0.1 s
    (docs/ecosystem.md). For modules that run many flows: `pytest.mark.usefixtures`."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


# -- a late, incomplete drop (tests/flows/test_schedule.py and tests/soak/test_schedule_soak.py) ---
@pytest.fixture
def late_drop(tmp_path) -> Callable[[date], tuple[Path, list[Path], list[Path], int]]:
    """`late_drop(day)`: tonight's sample drop in tmp_path with the breadth files held back and the
    macro file never sent; returns (drop, late files, never-sent files, files in the full drop)."""
    def make(day: date) -> tuple[Path, list[Path], list[Path], int]:
        from sources.formats import detect
        from sources.sample import SampleMarket, write_drop

        full, drop = tmp_path / "full", tmp_path / "drop"
        write_drop(SampleMarket(seed=7), day, full)
        drop.mkdir()
        source = {f: detect(f.read_bytes(), f.name).source for f in full.iterdir()}
        late = [f for f, src in source.items() if src == "breadth"]
        never = [f for f, src in source.items() if src == "macro"]
        assert late and never
        for f in full.iterdir():
            if f not in late and f not in never:
                shutil.copy(f, drop / f.name)
        return drop, late, never, len(source)
    return make


@pytest.fixture(scope="session")
def deliver() -> Callable[[list[Path], Path, float], threading.Thread]:
    """`deliver(files, drop, after_s)`: a started thread that copies `files` into `drop` after
    `after_s` seconds, as a vendor would; join it."""
    def start(files: list[Path], drop: Path, after_s: float) -> threading.Thread:
        def courier() -> None:
            time.sleep(after_s)
            for f in files:  # as a vendor would: a temporary name, then a rename
                shutil.copy(f, drop / (f.name + ".part"))
                (drop / (f.name + ".part")).rename(drop / f.name)
        t = threading.Thread(target=courier)
        t.start()
        return t
    return start
