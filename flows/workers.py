"""The backfill's worker side: fetch a session's drop and land it (I/O), then parse its files and
compute its gamma partitions (CPU). Workers never open the warehouse; what they return is picklable.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.build import gamma_partitions
from flows.ingest import Landed, Prepared, expand_paths, land_files, prepare_one
from warehouse.files import batch_id_for

QUOTE_ORDER = ["quote_date", "root", "expiry", "strike", "right"]
TAGS = ("alvh", "backfill")


def night_label(day: date) -> str:
    """The batch label of one session's drop: the same in `nightly`, `demo` and `backfill`."""
    return f"night-{day.isoformat()}"


@dataclass
class DayWork:
    """What a worker hands the writer for one session (picklable: frames, paths, dataclasses)."""

    day: date
    batch_id: str | None = None
    landed: list[Landed] = field(default_factory=list)
    prepared: list[Prepared] | None = None
    gamma: dict[str, pl.DataFrame] | None = None
    quote_rows: int = 0  # chain rows (every gamma underlying) the day's gamma was computed from
    skipped: bool = False  # the batch is already built: nothing to parse
    missing: str | None = None  # why there is no drop for this session


@lru_cache(maxsize=2)
def _market(seed: int):
    """One simulated sample market per worker process (its path is computed once, then reused)."""
    from sources.sample import SampleMarket

    return SampleMarket(seed=seed)


@task(name="fetch-day", task_run_name="fetch-{day}", retries=2, retry_delay_seconds=[2, 10],
      timeout_seconds=900, cache_policy=NO_CACHE, tags=[*TAGS, "io"])
def fetch_day(day: date, source: str, folder: Path, home: Path, seed: int) -> list[Landed] | None:
    """Materialise one session's drop and land its files; None when a drop folder is absent."""
    if source == "sample":
        from sources.sample import write_drop

        shutil.rmtree(folder, ignore_errors=True)  # a killed run may have left a partial drop
        write_drop(_market(seed), day, folder)
    elif not folder.is_dir():
        return None
    return land_files.fn(expand_paths([folder]), home)


def stored_quotes(day: date, landed: list[Landed], prepared: list[Prepared],
                  batch_id: str) -> pl.DataFrame:
    """The option rows of `day` whose roots feed the gamma tables (every underlying with dealer-gamma
    conventions), exactly as raw.option_quotes will hold them after the day's load (lineage
    columns added, ordered like `reads.option_quotes`), from the parsed files."""
    from transforms.conventions import GAMMA_ROOTS

    frames = []
    for item, prep in zip(landed, prepared, strict=True):
        p = prep.parsed
        if p is None or prep.error or p.table != "raw.option_quotes" or p.rows.is_empty():
            continue
        frames.append(p.rows.filter(pl.col("root").is_in(sorted(GAMMA_ROOTS)) & (pl.col("quote_date") == day))
                      .with_columns(batch_id=pl.lit(batch_id), file_id=pl.lit(item.landed.file_id)))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed").sort(QUOTE_ORDER)


@task(name="prepare-day", task_run_name="prepare-{day}", cache_policy=NO_CACHE, tags=[*TAGS, "cpu"])
def prepare_day(day: date, landed: list[Landed] | None, home: Path, conventions,
                max_reject_ratio: float, built: frozenset[str] = frozenset()) -> DayWork:
    """Parse the day's files and compute its gamma partitions (pure CPU, no warehouse)."""
    if landed is None:
        return DayWork(day, missing="no drop folder for this session")
    batch = batch_id_for([x.landed.file_id for x in landed], night_label(day))
    if batch in built:
        return DayWork(day, batch, landed, skipped=True)
    prepared = [prepare_one(x, home, max_reject_ratio, not_after=day) for x in landed]
    quotes = stored_quotes(day, landed, prepared, batch)
    gamma = gamma_partitions(quotes, conventions) if quotes.height else None
    return DayWork(day, batch, landed, prepared, gamma, quotes.height)


def fetch_and_prepare(day: date, source: str, folder: Path, home: Path, seed: int, conventions,
                      max_reject_ratio: float, built: frozenset[str]) -> DayWork:
    """fetch-day then prepare-day as plain functions, for a worker process outside Prefect."""
    landed = fetch_day.fn(day, source, folder, home, seed)
    return prepare_day.fn(day, landed, home, conventions, max_reject_ratio, built)
