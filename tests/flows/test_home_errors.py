"""A home the pipeline cannot write (read-only, or a full disk at the landing or the warehouse
write) gives one line and exit 1 through the real CLI, and leaves nothing half-written.

The full disk is simulated (no size-limited filesystem here): the write raises OSError(ENOSPC)
at the point where the disk would refuse it, so the real error path runs from there."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from warehouse.db import Warehouse

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cboe_quotedata" / "vix_quotedata.csv"
FULL = "the disk is full: free space and run again (landed files are kept)"


@pytest.fixture
def vendor_file(tmp_path) -> Path:
    src = tmp_path / "drop" / "vix_quotedata.csv"
    src.parent.mkdir()
    shutil.copy(FIXTURE, src)
    return src


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def _no_partial_files(home: Path) -> None:
    assert not [p for p in home.rglob("*") if p.name.endswith(".part")]


def test_read_only_home_is_one_line_and_exit_1(tmp_path, vendor_file):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 0o555 is not enforced for root (the EROFS test below "
                    "simulates the read-only write instead)")
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    try:
        r = CliRunner().invoke(app, ["ingest", str(vendor_file), "--home", str(home)])
    finally:
        home.chmod(0o755)
    assert r.exit_code == 1, r.output
    line = _one_line(r.output)
    assert re.fullmatch(rf"error: {re.escape(str(home))}\S*: permission denied: ALVH_HOME must be writable "
                        r"by you", line), line
    assert vendor_file.read_bytes() == FIXTURE.read_bytes()  # the raw file is kept
    assert not (home / "landing").exists() or not any((home / "landing").rglob("*.csv"))


def test_read_only_file_system_at_landing_is_one_line(tmp_path, vendor_file, monkeypatch):
    import warehouse.files as files

    home = tmp_path / "home"

    def refuse(*a, dir=None, **kw):  # noqa: A002 - tempfile.mkstemp's own keyword
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    r = CliRunner().invoke(app, ["ingest", str(vendor_file), "--home", str(home)])
    assert r.exit_code == 1, r.output
    line = _one_line(r.output)
    assert line == f"error: {home / 'landing' / 'cboe_chain'}: read-only file system: point ALVH_HOME at a " \
                   "writable folder", line
    assert vendor_file.read_bytes() == FIXTURE.read_bytes()
    assert not list((home / "landing").rglob("*.csv"))
    _no_partial_files(home)


def test_full_disk_while_landing_leaves_no_partial_file(tmp_path, vendor_file, monkeypatch):
    home = tmp_path / "home"
    real_fsync = os.fsync

    def fsync(fd):  # the landing copy's bytes are written, the disk refuses to keep them
        path = os.readlink(f"/proc/self/fd/{fd}")
        if "/landing/" in path:
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd (Linux) to tell the landing write from others")
    monkeypatch.setattr(os, "fsync", fsync)
    r = CliRunner().invoke(app, ["ingest", str(vendor_file), "--home", str(home)])
    assert r.exit_code == 1, r.output
    line = _one_line(r.output)
    landing = re.escape(str(home / "landing" / "cboe_chain"))
    assert re.fullmatch(rf"error: {landing}/\.[0-9a-f]{{12}}-vix_quotedata\.csv\.\w+\.part: {re.escape(FULL)}",
                        line), line
    _no_partial_files(home)  # the temporary copy is removed
    assert not list((home / "landing").rglob("*.csv"))  # and no short file under a sha256 name
    assert vendor_file.read_bytes() == FIXTURE.read_bytes()


def test_full_disk_in_the_warehouse_rolls_back_and_keeps_the_landed_file(tmp_path, vendor_file,
                                                                         monkeypatch):
    import warehouse.files as files

    home = tmp_path / "home"

    def write_group(wh, table, group, batch_id):  # the registry row is written, then the rows: full
        raise OSError(errno.ENOSPC, "No space left on device", str(home / "warehouse.duckdb"))

    monkeypatch.setattr(files, "_write_group", write_group)
    r = CliRunner().invoke(app, ["ingest", str(vendor_file), "--home", str(home)])
    assert r.exit_code == 1, r.output
    assert _one_line(r.output) == f"error: {home / 'warehouse.duckdb'}: {FULL}"
    monkeypatch.undo()
    landed = list((home / "landing").rglob("*vix_quotedata.csv"))
    assert len(landed) == 1 and landed[0].read_bytes() == FIXTURE.read_bytes()  # kept, whole
    with Warehouse.open(home / "warehouse.duckdb", read_only=True) as wh:
        # the day's transaction rolled back: no registry row, no rows (a rerun loads the file)
        assert wh.scalar("select count(*) from audit.files") == 0
        if "raw.option_quotes" in wh.tables():
            assert wh.scalar("select count(*) from raw.option_quotes") == 0
    _no_partial_files(home)
