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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse.db import Warehouse, WriteMode, plain_dtype


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


def known_files(wh: Warehouse, file_ids: Sequence[str]) -> dict[str, dict]:
    """file_id -> {format, table_name, status, error, original_path} of the registered ones."""
    if not file_ids:
        return {}
    rows = wh.execute(
        "select file_id, format, table_name, status, error, original_path from audit.files "
        "where file_id in (select unnest(?::varchar[]))", [list(dict.fromkeys(file_ids))])
    return {r[0]: dict(zip(("format", "table_name", "status", "error", "original_path"), r[1:],
                           strict=True)) for r in rows}


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


@dataclass(frozen=True)
class FileLoad:
    """One parsed file for `load_batch`: the arguments of `load_file`."""

    landed: LandedFile
    format: str | None
    table: str | None = None
    rows: pl.DataFrame | None = None
    rejects: pl.DataFrame | None = None
    partition_by: tuple[str, ...] = ()
    mode: WriteMode = "replace"
    error: str | None = None
    provenance: dict | None = None
    refused: pl.DataFrame | None = None  # audit.quarantine rows refused after parsing (a contract)

    @property
    def writes(self) -> bool:
        return not self.error and self.rows is not None and bool(self.table)


_REGISTRY: dict[str, pl.DataType] = {  # audit.files
    "file_id": pl.String(), "bytes": pl.Int64(), "original_path": pl.String(),
    "landing_path": pl.String(), "source": pl.String(), "format": pl.String(),
    "table_name": pl.String(), "batch_id": pl.String(), "landed_at": pl.Datetime("us"),
    "status": pl.String(), "rows_read": pl.Int64(), "rows_written": pl.Int64(),
    "rows_quarantined": pl.Int64(), "partitions": pl.String(), "error": pl.String(),
    "provenance": pl.String()}
_SUPERSEDABLE = "status in ('loaded', 'loaded_with_rejects')"


def _partition_keys(rows: pl.DataFrame, by: tuple[str, ...]) -> list[tuple]:
    """The distinct `by` values of `rows`, sorted. In plain Python for small frames whose keys
    compare and sort alike there (no nulls, `plain_dtype`): cheaper than three polars calls, each
    of which hands the GIL to a backfill's busy workers until the writer gets it back."""
    if rows.height <= 4096 and all(
            plain_dtype(rows.schema[c]) and not rows.get_column(c).null_count() for c in by):
        return sorted(set(zip(*(rows.get_column(c).to_list() for c in by), strict=True)))
    return rows.select(by).unique().sort(by).rows()


def _plan(ld: FileLoad, keys: list[tuple] | None) -> LoadResult:
    """What loading `ld` registers (status, counts, partitions), known before any write;
    `keys`: its `_partition_keys` when it writes."""
    n_rej = ld.rejects.height if ld.rejects is not None else 0
    n_ref = ld.refused.height if ld.refused is not None else 0
    n_rows = ld.rows.height if ld.rows is not None else 0
    if ld.error:
        status = "unrecognised" if ld.format is None else "rejected"
    else:
        status = "loaded_with_rejects" if n_rej or n_ref else "loaded"
    partitions: list = []
    if ld.writes:
        assert keys is not None
        partitions = [[str(v) for v in r] for r in keys] if len(keys) <= 50 else [
            ["...", f"{len(keys)} partitions"]]
    return LoadResult(ld.landed.file_id, status, n_rows + n_rej + n_ref, n_rows if ld.writes else 0,
                      n_rej + n_ref, tuple(map(tuple, partitions)), ld.error)


def _keys_of(ld: FileLoad) -> list[tuple] | None:
    return _partition_keys(ld.rows, ld.partition_by) if ld.writes else None  # type: ignore[arg-type]


def _registry_values(ld: FileLoad, res: LoadResult, batch_id: str, landed_at: datetime) -> list:
    lf = ld.landed
    return [lf.file_id, lf.bytes, lf.original_path, lf.landing_path, lf.source, ld.format, ld.table,
            batch_id, landed_at, res.status, res.rows_read, res.rows_written, res.rows_quarantined,
            json.dumps([list(p) for p in res.partitions]), ld.error,
            json.dumps(ld.provenance, default=str) if ld.provenance else None]


def _quarantine_frames(ld: FileLoad, batch_id: str) -> list[pl.DataFrame]:
    out = []
    if ld.rejects is not None and ld.rejects.height and ld.table:
        out.append(_quarantine_frame(ld.rejects, ld.landed, ld.table, batch_id))
    if ld.refused is not None and ld.refused.height:
        out.append(ld.refused)
    return out


def _supersede(wh: Warehouse, candidates: dict[str, list[str]]) -> None:
    """Mark superseded the candidate files (per table) none of whose rows are left in their table
    (a file's rows are in its own table only). One statement for all tables."""
    tables = [t for t, ids in candidates.items() if ids]
    if not tables:
        return
    ids = list(dict.fromkeys(f for t in tables for f in candidates[t]))
    gone = " and ".join(f"not exists (select 1 from {t} t where t.file_id = f.file_id)"
                        for t in tables)
    wh.execute(f"update audit.files f set status = 'superseded' where file_id in "
               f"(select unnest(?::varchar[])) and {_SUPERSEDABLE} and {gone}", [ids])


def _write_file(wh: Warehouse, ld: FileLoad, batch_id: str, keys: list[tuple]) -> None:
    """One file's rows into its table (`keys`: its partition keys); files whose every row it
    replaced are superseded."""
    assert ld.rows is not None and ld.table
    data = _lineage(ld, batch_id)
    if ld.mode == "replace":
        replaced = [f for f in wh.replace(ld.table, data, by=ld.partition_by)
                    if f != ld.landed.file_id]
        _supersede(wh, {ld.table: replaced})
    else:
        wh.write(ld.table, data, by=ld.partition_by, mode=ld.mode,
                 unique_keys=len(keys) == data.height)


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
    refused: pl.DataFrame | None = None,
) -> LoadResult:
    """Register a landed file and, unless `error` is set, replace its partitions with `rows`.

    A file with an error keeps its refused rows in audit.quarantine and writes no rows.
    Files whose rows were all replaced by a later file are marked `superseded`. `refused`: rows
    refused after parsing (audit.quarantine rows, e.g. by a contract), counted as read and
    quarantined. Loading known bytes again replaces their registry row (`alvh ingest --force`).
    """
    ld = FileLoad(landed, format, table, rows, rejects, partition_by, mode, error, provenance,
                  refused)
    keys = _keys_of(ld)
    res = _plan(ld, keys)
    with wh.transaction():
        if ld.writes:
            assert rows is not None and keys is not None
            if not rows.is_empty():
                _write_file(wh, ld, batch_id, keys)
        for frame in _quarantine_frames(ld, batch_id):
            wh.append("audit.quarantine", frame)
        wh.execute(
            f"insert or replace into audit.files ({', '.join(_REGISTRY)}) values "
            f"({', '.join('?' * len(_REGISTRY))})",
            _registry_values(ld, res, batch_id, (landed_at or datetime.now(UTC)).replace(tzinfo=None)))
    return res


def load_batch(wh: Warehouse, loads: Sequence[FileLoad], *, batch_id: str,
               landed_at: datetime | None = None, new: bool = False) -> list[LoadResult]:
    """`load_file` for each of `loads` in turn, in one transaction, with the same rows, registry,
    quarantine and superseding, but a few statements per table instead of a dozen per file.

    `new=True`: the caller made sure no file is registered yet (files already known, or the same
    bytes twice, are loaded one at a time: their registry row is replaced).
    """
    if not loads:
        return []
    ids = [ld.landed.file_id for ld in loads]
    with wh.transaction():
        if len(set(ids)) < len(ids) or (not new and known_files(wh, ids)):
            return [load_file(wh, ld.landed, batch_id=batch_id, format=ld.format, table=ld.table,
                              rows=ld.rows, rejects=ld.rejects, partition_by=ld.partition_by,
                              mode=ld.mode, error=ld.error, provenance=ld.provenance,
                              landed_at=landed_at, refused=ld.refused) for ld in loads]
        keys = [_keys_of(ld) for ld in loads]
        results = [_plan(ld, k) for ld, k in zip(loads, keys, strict=True)]
        at = (landed_at or datetime.now(UTC)).replace(tzinfo=None)
        # Registry rows first: a later file of the batch may supersede an earlier one.
        wh.append("audit.files", pl.DataFrame(
            [_registry_values(ld, res, batch_id, at) for ld, res in zip(loads, results, strict=True)],
            schema=_REGISTRY, orient="row"))
        quarantine = [f for ld in loads for f in _quarantine_frames(ld, batch_id)]
        for frame in _same_schema_runs(quarantine):
            wh.append("audit.quarantine", frame)
        by_table: dict[str, list[tuple[FileLoad, list[tuple]]]] = {}
        for ld, k in zip(loads, keys, strict=True):
            if ld.writes and ld.rows is not None and not ld.rows.is_empty():
                by_table.setdefault(ld.table, []).append((ld, k))  # type: ignore[arg-type]
        candidates: dict[str, list[str]] = {}
        for table, group in by_table.items():
            candidates[table] = _write_group(wh, table, group, batch_id)
        # Counted once all is written: within a table, a file's rows only go (a later file of the
        # batch replaces them), so "none left at the end" is "none left after some write".
        _supersede(wh, candidates)
    return results


def _same_schema_runs(frames: list[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Consecutive frames with one schema, concatenated (fewer appends, same rows in order)."""
    run: list[pl.DataFrame] = []
    for f in frames:
        if run and f.schema != run[0].schema:
            yield pl.concat(run)
            run = []
        run.append(f)
    if run:
        yield pl.concat(run)


def _lineage(ld: FileLoad, batch_id: str) -> pl.DataFrame:
    """The file's rows with their file_id and batch_id."""
    rows = ld.rows
    assert rows is not None
    if "file_id" in rows.columns or "batch_id" in rows.columns:
        return rows.with_columns(file_id=pl.lit(ld.landed.file_id), batch_id=pl.lit(batch_id))
    return rows.hstack([pl.Series("file_id", [ld.landed.file_id]).new_from_index(0, rows.height),
                        pl.Series("batch_id", [batch_id]).new_from_index(0, rows.height)])


def _write_group(wh: Warehouse, table: str, group: list[tuple[FileLoad, list[tuple]]],
                 batch_id: str) -> list[str]:
    """The rows of new files for one table (with their partition keys), as if written one after
    the other by `load_file`.

    replace: each partition holds the rows of the last file that has it; the files none of whose
    rows are left (earlier owners, or files of the group a later one overrides) are superseded.
    merge: per key, each column takes its last non-null value (what successive `coalesce` updates
    leave). Anything else (mixed modes or keys, schemas that do not stack, a key twice in one
    merge file, column defaults) is written one file at a time. Returns the files that may be
    superseded now (the caller marks those with no row left).
    """
    loads = [ld for ld, _ in group]
    mode, by = loads[0].mode, loads[0].partition_by
    data = None
    if all(ld.mode == mode and ld.partition_by == by for ld in loads):
        if mode == "replace":
            data = _replace_rows(group, batch_id)
        elif len(loads) > 1 and not wh.has_defaults(table):
            data = _merged_rows(group, batch_id)
    if data is None:
        for ld, keys in group:  # each supersedes what it replaced, as `load_file` does
            _write_file(wh, ld, batch_id, keys)
        return []
    if mode == "merge":
        wh.write(table, data[0], by=by, mode="merge", unique_keys=True)
        return []
    rows, overridden = data
    ids = [ld.landed.file_id for ld in loads]
    return [f for f in wh.replace(table, rows, by=by) if f not in ids] + overridden


def _replace_rows(group: list[tuple[FileLoad, list[tuple]]],
                  batch_id: str) -> tuple[pl.DataFrame, list[str]] | None:
    """The rows a replace of each file in turn leaves (per partition, the last file's rows) and
    the files with none left; None when the frames do not share one schema."""
    frames = [_lineage(ld, batch_id) for ld, _ in group]
    if len(frames) == 1:
        return frames[0], []
    if any(f.schema != frames[0].schema for f in frames):
        return None
    by = group[0][0].partition_by
    if all(plain_dtype(frames[0].schema[c]) for c in by):  # the keys compare alike in Python
        owner = {k: i for i, (_, keys) in enumerate(group) for k in keys}
        owned = [sum(owner[k] == i for k in keys) for i, (_, keys) in enumerate(group)]
        if all(n in (0, len(keys)) for n, (_, keys) in zip(owned, group, strict=True)):
            return (pl.concat([f for f, n in zip(frames, owned, strict=True) if n]),
                    [ld.landed.file_id for (ld, _), n in zip(group, owned, strict=True) if not n])
    seq = "__alvh_file_seq"  # a file keeps some of its partitions only: filter its rows
    data = pl.concat([f.with_columns(pl.lit(i, pl.Int64).alias(seq)) for i, f in enumerate(frames)])
    data = data.filter(pl.col(seq) == pl.col(seq).max().over(by))
    kept = set(data[seq].unique().to_list())
    return (data.drop(seq),
            [ld.landed.file_id for i, (ld, _) in enumerate(group) if i not in kept])


def _merged_rows(group: list[tuple[FileLoad, list[tuple]]],
                 batch_id: str) -> tuple[pl.DataFrame] | None:
    """One row per key: for each column, the last non-null value in file order; None when a
    column's dtype differs between files or a file repeats a key (successive merges of such a
    file are not a per-key rule)."""
    if any(len(keys) != ld.rows.height for ld, keys in group):  # type: ignore[union-attr]
        return None
    frames = [_lineage(ld, batch_id) for ld, _ in group]
    dtypes: dict[str, pl.DataType] = {}
    for f in frames:
        for c, t in f.schema.items():
            if dtypes.setdefault(c, t) != t:
                return None
    by = list(group[0][0].partition_by)
    data = pl.concat(frames, how="diagonal")
    return (data.group_by(by, maintain_order=True).agg(
        pl.col(c).drop_nulls().last() for c in data.columns if c not in by),)


def batch_id_for(file_ids: list[str], label: str = "") -> str:
    """A batch is named by what it contains, so the same files always make the same batch."""
    digest = hashlib.sha256("\n".join(sorted(file_ids)).encode()).hexdigest()[:12]
    return f"{label}-{digest}" if label else digest


def copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, dirs_exist_ok=True)
