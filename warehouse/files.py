"""Landing zone and file registry: files as received, identified by sha256, with their lineage.

Landing copies are never modified. Loading a parsed file is one transaction: its partitions,
its refused rows and its audit.files row commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse.db import Warehouse, WriteMode


@dataclass(frozen=True)
class LandedFile:
    file_id: str  # sha256 hex
    bytes: int
    original_path: str
    landing_path: str  # relative to home
    source: str

    def absolute(self, home: Path) -> Path:
        return home / self.landing_path


@dataclass(frozen=True)
class LoadResult:
    file_id: str
    status: str
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    partitions: tuple = ()
    error: str | None = None
    skipped: bool = False  # bytes already known: nothing was done


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def land(home: Path, original: Path, data: bytes, source: str) -> LandedFile:
    """Copy `data` to landing/<source>/<sha12>-<name> (once; the copy is never rewritten)."""
    sha = sha256_bytes(data)
    rel = Path("landing") / source / f"{sha[:12]}-{original.name}"
    dest = home / rel
    if not dest.exists() or dest.stat().st_size != len(data):
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A private temporary name per writer: parallel workers (a backfill) may land the same
        # bytes at once, and a shared `.part` would interleave their writes. fsync before the
        # atomic rename, so even a power cut never leaves a short file under a sha256 name.
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)  # atomic: a crash never leaves a half-written landing file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return LandedFile(sha, len(data), str(original), rel.as_posix(), source)


def known_file(wh: Warehouse, file_id: str) -> dict | None:
    df = wh.sql("select * from audit.files where file_id = ?", [file_id])
    return None if df.is_empty() else df.row(0, named=True)


def _quarantine_frame(rejects: pl.DataFrame, landed: LandedFile, table: str, batch_id: str,
                      check: str = "parse") -> pl.DataFrame:
    return rejects.select(
        file_id=pl.lit(landed.file_id),
        source_path=pl.lit(landed.landing_path),
        table_name=pl.lit(table),
        line=pl.col("line").cast(pl.Int64),
        raw=pl.col("raw"),
        reason=pl.col("reason"),
        check_name=pl.lit(check),
        batch_id=pl.lit(batch_id),
        as_of=pl.lit(None, pl.Date),
    )


def load_file(
    wh: Warehouse,
    landed: LandedFile,
    *,
    batch_id: str,
    format: str | None,
    table: str | None,
    rows: pl.DataFrame | None,
    rejects: pl.DataFrame | None,
    partition_by: tuple[str, ...] = (),
    mode: WriteMode = "replace",
    error: str | None = None,
    provenance: dict | None = None,
    landed_at: datetime | None = None,
) -> LoadResult:
    """Register a landed file and, unless `error` is set, replace its partitions with `rows`.

    A file with an error keeps its refused rows in audit.quarantine and writes no rows.
    Files whose rows were all replaced by a later file are marked `superseded`.
    """
    rejects = rejects if rejects is not None else pl.DataFrame()
    n_rej = rejects.height
    n_rows = rows.height if rows is not None else 0
    if error:
        status = "unrecognised" if format is None else "rejected"
    else:
        status = "loaded_with_rejects" if n_rej else "loaded"
    partitions: list = []
    with wh.transaction():
        written = 0
        replaced: list[str] = []
        if not error and rows is not None and table:
            data = rows.with_columns(file_id=pl.lit(landed.file_id), batch_id=pl.lit(batch_id))
            if mode == "replace":
                replaced = [f for f in wh.files_in_partitions(table, rows, partition_by)
                            if f != landed.file_id]
            written = wh.write(table, data, by=partition_by, mode=mode)
            keys = rows.select(partition_by).unique().sort(partition_by)
            partitions = [[str(v) for v in r] for r in keys.rows()] if keys.height <= 50 else [
                ["...", f"{keys.height} partitions"]]
        if n_rej and table:
            wh.append("audit.quarantine", _quarantine_frame(rejects, landed, table, batch_id))
        wh.con.execute(
            "insert or replace into audit.files values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [landed.file_id, landed.bytes, landed.original_path, landed.landing_path, landed.source,
             format, table, batch_id, (landed_at or datetime.now(UTC)).replace(tzinfo=None), status,
             n_rows + n_rej, written, n_rej, json.dumps(partitions), error,
             json.dumps(provenance, default=str) if provenance else None])
        # A file whose every row was replaced by this one is superseded (lineage stays answerable).
        for old in replaced:
            left = wh.scalar(f"select count(*) from {table} where file_id = ?", [old])
            if not left:
                wh.con.execute("update audit.files set status = 'superseded' where file_id = ? "
                               "and status in ('loaded', 'loaded_with_rejects')", [old])
    return LoadResult(landed.file_id, status, n_rows + n_rej, written, n_rej,
                      tuple(map(tuple, partitions)), error)


def batch_id_for(file_ids: list[str], label: str = "") -> str:
    """A batch is named by what it contains, so the same files always make the same batch."""
    digest = hashlib.sha256("\n".join(sorted(file_ids)).encode()).hexdigest()[:12]
    return f"{label}-{digest}" if label else digest


def copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, dirs_exist_ok=True)
