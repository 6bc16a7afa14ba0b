"""The `ingest` flow: land vendor files as received, register them, read them, load them.

Wiring only: formats live in sources/, storage in warehouse/. Retries sit on file I/O alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from flows import console
from flows.engine import NO_CACHE, flow, task
from flows.gate import check_parsed, contract_quarantine, with_contract_rejects
from flows.plausibility import (
    BatchHistory,
    judge_file,
    judged,
    record_batch_findings,
    record_ingest_findings,
)
from flows.settings import Settings, load_settings
from sources.base import Parsed, SourceError
from sources.formats import detect, parse_bytes
from warehouse.db import Warehouse
from warehouse.files import (
    FileLoad,
    LandedFile,
    LoadResult,
    batch_id_for,
    known_file,
    known_files,
    land,
    load_batch,
    load_file,
)
from warehouse.history import forget_failed_load


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # loaded | loaded_with_rejects | rejected | unrecognised | known
    format: str | None = None
    table: str | None = None
    rows: int = 0
    quarantined: int = 0
    error: str | None = None
    file_id: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("rejected", "unrecognised")

    def line(self) -> str:
        name = Path(self.path).name
        if self.failed:
            return f"FAIL  {self.error}"
        if self.status == "known":
            return f"same  {name:<44} already landed ({self.file_id[:12]}), nothing to do"
        q = f", {self.quarantined:,} quarantined" if self.quarantined else ""
        return f"ok    {name:<44} {self.format:<22} {self.rows:>9,} rows -> {self.table}{q}"


@dataclass(frozen=True)
class IngestSummary:
    batch_id: str
    files: tuple[FileOutcome, ...]

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.failed]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)


# Files that sit beside vendor data in a drop but are not data: skipped (and listed) in a folder
# walk, never landed as failures. A file named on the command line is always read.
NOT_DATA_NAMES = {"readme", "readme.md", "readme.txt", "license", "manifest.txt", "sha256sums",
                  "md5sums", "checksums.txt", "thumbs.db", "desktop.ini"}
NOT_DATA_SUFFIXES = (".md", ".sha256", ".sha1", ".md5", ".sig", ".asc", ".pdf", ".log")


def not_data(f: Path) -> bool:
    name = f.name.lower()
    return name in NOT_DATA_NAMES or name.endswith(NOT_DATA_SUFFIXES)


def skipped_files(paths: list[Path]) -> list[Path]:
    """The files of the folders in `paths` that a walk skips as not vendor data (see NOT_DATA_*)."""
    return sorted(f for p in map(Path, paths) if p.is_dir() for f in p.rglob("*")
                  if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
                  and not_data(f))


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, folders walked recursively (hidden, partial and not-data files skipped),
    sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)
                              and not f.name.endswith(".part") and not not_data(f)))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


@dataclass(frozen=True)
class Landed:
    landed: LandedFile
    format: str | None
    error: str | None


@task(name="land-files", retries=3, retry_delay_seconds=[2, 5, 15], cache_policy=NO_CACHE)
def land_files(paths: list[Path], home: Path) -> list[Landed]:
    """Copy each file into landing/<source>/ before anything can go wrong with reading it."""
    out = []
    for p in paths:
        data = p.read_bytes()
        try:
            fmt = detect(data, str(p))
            source, name, error = fmt.source, fmt.name, None
        except SourceError as e:
            source, name, error = "unrecognised", None, e.one_line()
        out.append(Landed(land(home, p, data, source), name, error))
    return out


def _policy(parsed: Parsed, file: str, max_reject_ratio: float) -> str | None:
    """Why a parsed file must not be loaded, or None. A truncated or mostly-bad file is refused."""
    if parsed.fatal is not None:
        return parsed.fatal.one_line()
    n_all = parsed.rows_read
    n_bad = parsed.rejects.height - parsed.expected_rejects  # placeholders etc. are not damage
    if n_bad > 0 and n_bad > max_reject_ratio * n_all:
        first = parsed.rejects.row(0, named=True)
        return (f"{file}:{first['line']}: {n_bad:,} of {n_all:,} rows refused "
                f"({n_bad / n_all:.1%} > {max_reject_ratio:.1%} allowed); first: {first['reason']}")
    return None


@dataclass(frozen=True)
class Prepared:
    """A landed file read and judged without the warehouse, ready for the one writer.

    `parsed` is None when the file could not be read (`error` says why); with a policy refusal
    both are set (the refused rows still go to audit.quarantine). Picklable, so a worker process
    can make it (flows/workers.py).
    """

    format: str | None
    parsed: Parsed | None
    error: str | None
    unrecognised: bool = False
    contract_failures: pl.DataFrame | None = None  # rows refused by the table's contract (flows/gate.py)


def prepare_one(item: Landed, home: Path, max_reject_ratio: float,
                not_after: date | None = None) -> Prepared:
    """Read and judge one landed file (CPU only: no warehouse, safe in any worker). `not_after`:
    the night being loaded, when later than tomorrow (flows/gate.py `row_context`)."""
    if item.error:
        return Prepared(None, None, item.error, unrecognised=True)
    shown = item.landed.original_path
    data = item.landed.absolute(home).read_bytes()
    try:
        parsed = parse_bytes(data, shown)
    except SourceError as e:
        return Prepared(item.format, None, e.one_line())
    del data  # a large file's bytes are not held through the contract check (bounded memory)
    # The contract at the parse boundary: rows breaking the table's pandera model are refused
    # (audit.quarantine, check_name = the check) and count against the reject ratio.
    checked = check_parsed(parsed, shown, not_after)
    refusal = checked.error or _policy(with_contract_rejects(parsed, checked), shown, max_reject_ratio)
    # `fatal` is summarised in `refusal`; dropping it keeps Prepared picklable (SourceError is not).
    return Prepared(parsed.format, replace(parsed, rows=checked.rows, fatal=None), refusal,
                    contract_failures=checked.failures)


def file_load(item: Landed, prep: Prepared, batch_id: str, provenance: dict | None = None) -> FileLoad:
    """What the warehouse registers and writes for one prepared file."""
    lf = item.landed
    if prep.parsed is None:
        return FileLoad(lf, prep.format, error=prep.error, provenance=provenance)
    p = prep.parsed
    return FileLoad(lf, p.format, p.table, p.rows, p.rejects, p.partition_by, p.mode,  # type: ignore[arg-type]
                    prep.error, provenance,
                    refused=contract_quarantine(lf, batch_id=batch_id, table=p.table,
                                                failures=prep.contract_failures))


def _outcome(item: Landed, prep: Prepared, res: LoadResult) -> FileOutcome:
    lf = item.landed
    if prep.parsed is None:
        status = "unrecognised" if prep.unrecognised else "rejected"
        return FileOutcome(lf.original_path, status, prep.format, error=prep.error, file_id=lf.file_id)
    return FileOutcome(lf.original_path, res.status, prep.parsed.format, prep.parsed.table,
                       res.rows_written, res.rows_quarantined, prep.error, lf.file_id)


def load_prepared(wh: Warehouse, item: Landed, prep: Prepared, batch_id: str,
                  provenance: dict | None = None) -> FileOutcome:
    """Register and load one prepared file (the writer's half of `load_one`), known or not."""
    ld = file_load(item, prep, batch_id, provenance)
    res = load_file(wh, ld.landed, batch_id=batch_id, format=ld.format, table=ld.table, rows=ld.rows,
                    rejects=ld.rejects, partition_by=ld.partition_by, mode=ld.mode, error=ld.error,
                    provenance=ld.provenance, refused=ld.refused)
    return _outcome(item, prep, res)


def load_one(wh: Warehouse, item: Landed, home: Path, batch_id: str, *, force: bool,
             max_reject_ratio: float, provenance: dict | None = None,
             prepared: Prepared | None = None, not_after: date | None = None) -> FileOutcome:
    """Load one landed file unless its bytes are known; `prepared` skips the parse (backfill)."""
    lf = item.landed
    prior = known_file(wh, lf.file_id)
    if prior is not None and not force and prior["status"] not in FAILED:
        return FileOutcome(lf.original_path, "known", prior["format"], prior["table_name"],
                           file_id=lf.file_id)
    if prior is not None:
        forget_failed_load(wh, lf.file_id)
    prep = prepared if prepared is not None else prepare_one(item, home, max_reject_ratio, not_after)
    prep, found = judge_file(wh, prep, lf.original_path, max_reject_ratio)  # plausibility vs history
    out = load_prepared(wh, item, prep, batch_id, provenance)
    _record(wh, lf.file_id, found)
    return out


# Bytes whose earlier landing failed are read again (and fail again, with the same line): only
# bytes that loaded are "already landed". A retry loop must not "succeed" on a vendor's 503 page.
FAILED = ("rejected", "unrecognised")


def _record(wh: Warehouse, file_id: str, found: list) -> None:
    record_ingest_findings(wh, file_id, found)
    _show(found)


def _show(found: list) -> None:
    for f in found:
        if f.severity == "critical":
            console.error(f"critical  {f.one_line()}")


def load_many(wh: Warehouse, items: list[Landed], home: Path, batch_id: str, *,
              max_reject_ratio: float, force: bool = False,
              provenance: dict[str, dict] | None = None,
              prepared: list[Prepared] | None = None,
              not_after: date | None = None) -> list[FileOutcome]:
    """`load_one` for each item in turn (same outcomes, same warehouse), in one transaction and
    one batched load (`warehouse.files.load_batch`). Known bytes are skipped, unless `force`
    (then each file is reloaded on its own); `prepared` (aligned with `items`) skips the parse."""
    def prov(item: Landed) -> dict | None:
        return (provenance or {}).get(item.landed.original_path)

    if force:
        return [load_one(wh, item, home, batch_id, force=True, max_reject_ratio=max_reject_ratio,
                         provenance=prov(item), prepared=prepared[i] if prepared else None,
                         not_after=not_after)
                for i, item in enumerate(items)]
    registered = known_files(wh, [x.landed.file_id for x in items])
    known = {k: (v["format"], v["table_name"]) for k, v in registered.items()
             if v["status"] not in FAILED}
    # Parse first (pure), then read the history the new files are judged against ONCE for the
    # batch: every new file is judged against the warehouse as it was before the batch, as before.
    fresh: dict[int, Prepared] = {}
    seen: set[str] = set(known)
    for i, item in enumerate(items):
        fid = item.landed.file_id
        if fid in seen or fid in registered:
            continue
        seen.add(fid)
        fresh[i] = prepared[i] if prepared is not None else prepare_one(item, home, max_reject_ratio,
                                                                         not_after)
    batch: BatchHistory | None = BatchHistory(wh, [(p.parsed.table, p.parsed.rows)
                                                   for p in fresh.values() if judged(p)])
    tables = batch.tables
    outcomes: list[FileOutcome | None] = [None] * len(items)
    todo: list[tuple[int, Landed, Prepared, FileLoad]] = []
    findings: dict[str, list] = {}
    for i, item in enumerate(items):
        lf = item.landed
        if lf.file_id in known:  # registered before, or earlier in this batch (same bytes twice)
            fmt, table = known[lf.file_id]
            outcomes[i] = FileOutcome(lf.original_path, "known", fmt, table, file_id=lf.file_id)
            continue
        if lf.file_id in registered:  # failed before: read again, registry row replaced
            outcomes[i] = load_one(wh, item, home, batch_id, force=True,
                                   max_reject_ratio=max_reject_ratio, provenance=prov(item),
                                   prepared=prepared[i] if prepared else None, not_after=not_after)
            known[lf.file_id] = (outcomes[i].format, outcomes[i].table)
            batch = None  # the warehouse changed: later files read their own history
            continue
        prep, findings[lf.file_id] = judge_file(wh, fresh[i], lf.original_path, max_reject_ratio,
                                                batch)
        ld = file_load(item, prep, batch_id, prov(item))
        known[lf.file_id] = (ld.format, ld.table)
        todo.append((i, item, prep, ld))
    results = load_batch(wh, [t[3] for t in todo], batch_id=batch_id, new=True)
    for (i, item, prep, _), res in zip(todo, results, strict=True):
        outcomes[i] = _outcome(item, prep, res)
    # The batch's findings in one delete and one insert, then one line per critical one.
    record_batch_findings(wh, {item.landed.file_id: findings.get(item.landed.file_id, [])
                               for _, item, _, _ in todo}, tables)
    for _, item, _, _ in todo:
        _show(findings.get(item.landed.file_id, []))
    return outcomes  # type: ignore[return-value]


LOAD_CHUNK = 64  # files parsed, then loaded in one transaction (bounds the frames held at once)
# (a file's rows, refusals and registry row still commit together: a chunk is all or nothing)


@task(name="load-files", cache_policy=NO_CACHE)
def load_files(wh: Warehouse, items: list[Landed], home: Path, batch_id: str, *,
               force: bool = False, max_reject_ratio: float = 0.01, show: bool = True,
               provenance: dict[str, dict] | None = None, not_after: date | None = None) -> IngestSummary:
    outcomes: list[FileOutcome] = []
    for start in range(0, len(items), LOAD_CHUNK):
        for o in load_many(wh, items[start:start + LOAD_CHUNK], home, batch_id, force=force,
                           max_reject_ratio=max_reject_ratio, provenance=provenance,
                           not_after=not_after):
            outcomes.append(o)
            if show:
                (console.error if o.failed else console.info)(o.line())
    return IngestSummary(batch_id, tuple(outcomes))


def ingest_paths(wh: Warehouse, settings: Settings, paths: list[Path], *, label: str = "ingest",
                 force: bool = False, show: bool = True,
                 provenance: dict[str, dict] | None = None, not_after: date | None = None) -> IngestSummary:
    """Land + load inside a running flow (used by `ingest`, `nightly` and `demo`). `not_after`:
    the night being loaded (rows may be dated up to it even when that is after tomorrow)."""
    files = expand_paths(paths)
    if show:
        for f in skipped_files(paths):
            console.info(f"skip  {f.name:<44} not a vendor file (readme, checksum, notes)")
    landed = land_files(files, settings.root)
    batch = batch_id_for([x.landed.file_id for x in landed], label)
    return load_files(wh, landed, settings.root, batch, force=force,
                      max_reject_ratio=settings.max_reject_ratio, show=show, provenance=provenance,
                      not_after=not_after)


@flow(name="ingest")
def ingest(paths: list[Path], force: bool = False, home: Path | None = None) -> IngestSummary:
    """Land any mix of vendor files and folders, print one line per file."""
    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        return ingest_paths(wh, settings, paths, force=force)
