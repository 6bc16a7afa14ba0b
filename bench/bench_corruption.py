"""Corruption benchmark: plant each kind of vendor fault into sample nights and count how many the
ingest gate catches (critical), and how many clean nights raise a false critical.

    .venv/bin/python bench/bench_corruption.py                 # seed 7, 260 nights (the report)
    .venv/bin/python bench/bench_corruption.py --seed 11 --nights 40 --end 2025-06-30  # design

The gate is what `alvh ingest` runs on each file: the reader (file:line errors), the table's row
contract and reject policy, then the plausibility checks against the warehouse's history (here:
the previous nights' parsed rows, as the warehouse would hold them). A breadth file that loads is
also judged as the nightly audit judges it: in the night's complete breadth row (its sibling
fields from the same night), where total volume and volume per issue are known.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expectations.plausibility import check_table, critical  # noqa: E402
from flows.gate import check_parsed, with_contract_rejects  # noqa: E402
from flows.ingest import _policy  # noqa: E402
from sources import calendar  # noqa: E402
from sources.base import SourceError  # noqa: E402
from sources.formats import parse_bytes  # noqa: E402
from sources.sample.drop import write_drop  # noqa: E402
from sources.sample.faults import FAULTS, plant  # noqa: E402
from sources.sample.market import SampleMarket  # noqa: E402

HISTORY_SESSIONS = 25  # trailing sessions of each table kept as "the warehouse"
WARMUP = 5  # nights loaded before the first measured one
MAX_REJECT_RATIO = 0.01


class History:
    """Each table's rows as the warehouse would hold them (a later file replaces its keys)."""

    KEYS = {"raw.option_quotes": ["quote_date", "root", "expiry", "strike", "right"],
            "raw.index_bars": ["symbol", "date"], "raw.vx_futures": ["trade_date", "expiry"],
            "raw.funding_rates": ["venue", "symbol", "funding_ts"], "raw.breadth": ["exchange", "date"]}

    def __init__(self) -> None:
        self.t: dict[str, pl.DataFrame] = {}

    def get(self, table: str) -> pl.DataFrame | None:
        return self.t.get(table)

    def add(self, table: str, rows: pl.DataFrame, day: date) -> None:
        if table not in self.KEYS or rows.is_empty():
            return
        old = self.t.get(table)
        keys = self.KEYS[table]
        if old is not None:
            if table == "raw.breadth":  # merge: one column per file
                rows = rows.join(old, on=keys, how="left", suffix="_old").with_columns(
                    [pl.coalesce(c, f"{c}_old").alias(c) for c in rows.columns
                     if c not in keys and f"{c}_old" in rows.join(old, on=keys, how="left", suffix="_old").columns]
                ).select(rows.columns)
            old = old.join(rows.select(keys), on=keys, how="anti")
            rows = pl.concat([old, rows.select(old.columns)], how="vertical_relaxed")
        dcol = keys[0] if table != "raw.funding_rates" else None
        if table == "raw.option_quotes":  # yesterday's chain is the history a chain needs
            rows = rows.filter(pl.col("quote_date") >= rows["quote_date"].max())
        elif dcol and table != "raw.option_quotes":
            col = "date" if "date" in keys else "trade_date"
            sess = calendar.sessions_between(date(day.year - 1, day.month, 1), day)[-HISTORY_SESSIONS:]
            rows = rows.filter(pl.col(col) >= sess[0])
        else:
            rows = rows.filter(pl.col("funding_ts") >= rows["funding_ts"].max() - pl.duration(days=40))
        self.t[table] = rows


def judge(name: str, data: bytes, hist: History, index_close: pl.DataFrame | None):
    """(refusal or None, findings, parsed rows kept) for one file, as the ingest gate sees it."""
    try:
        parsed = parse_bytes(data, name)
    except SourceError as e:
        return e.one_line(), [], None, None
    checked = check_parsed(parsed, name)
    refusal = checked.error or _policy(with_contract_rejects(parsed, checked), name, MAX_REJECT_RATIO)
    extra = {"index_close": index_close} if parsed.table == "raw.option_quotes" else {}
    findings = check_table(parsed.table, checked.rows, hist.get(parsed.table), file=name, **extra)
    return refusal, findings, checked.rows, parsed.table


def night_files(m: SampleMarket, day: date, tmp: Path) -> dict[str, bytes]:
    out = tmp / day.isoformat()
    paths = write_drop(m, day, out)
    data = {p.name: p.read_bytes() for p in paths}
    for p in paths:
        p.unlink()
    return data


def index_closes(drop_rows: dict[str, tuple]) -> pl.DataFrame | None:
    frames = [r for (_, _, r, t) in drop_rows.values() if t == "raw.index_bars" and r is not None]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def judge_night(drop: dict[str, bytes], hist: History) -> dict[str, tuple]:
    """Index files first (the chain's spot is checked against tonight's index close)."""
    order = sorted(drop, key=lambda n: (0 if "History" in n else 1, n))
    res: dict[str, tuple] = {}
    for n in order:
        ic = index_closes(res) if "quotedata" in n else None
        res[n] = judge(n, drop[n], hist, ic)
    return res


def night_breadth(res: dict[str, tuple], swap: tuple[str, pl.DataFrame] | None = None):
    """The night's breadth rows as the warehouse holds them once every field file is loaded (one
    row per exchange and date, each field from its file; `swap` replaces one file's rows): what
    the nightly audit re-judges."""
    frames = [r for n, (_, _, r, t) in res.items()
              if t == "raw.breadth" and r is not None and not (swap and n == swap[0])]
    if swap is not None:
        frames.append(swap[1])
    if not frames:
        return None
    f = pl.concat(frames, how="diagonal_relaxed")
    keys = ["exchange", "date"]
    return f.group_by(keys, maintain_order=True).agg(
        [pl.col(c).drop_nulls().first() for c in f.columns if c not in keys])


def audit_breadth(rows: pl.DataFrame | None, hist: History, file: str | None = None) -> list:
    """Critical findings of the nightly audit on the night's complete breadth rows."""
    if rows is None or rows.is_empty():
        return []
    return critical(check_table("raw.breadth", rows, hist.get("raw.breadth"), file=file))


def judge_planted(name: str, bad: bytes, hist: History, clean: dict[str, tuple]):
    """(refusal, findings) of a damaged file: the ingest gate, then (a breadth file that loads)
    the nightly audit on the night's complete breadth row."""
    ic = index_closes(clean) if "quotedata" in name else None
    refusal, findings, rows, table = judge(name, bad, hist, ic)
    if not refusal and not critical(findings) and table == "raw.breadth":
        findings = findings + audit_breadth(night_breadth(clean, (name, rows)), hist, file=name)
    return refusal, findings


def run_block(seed: int, days: list[date], first: int, warmup: int) -> tuple:
    """Nights `days[warmup:]` measured after `warmup` nights of history (`first`: the global index
    of days[0], so the fault rotation is the same however the nights are split across workers)."""
    m = SampleMarket(seed)
    hist = History()
    false_crit: list[str] = []
    caught: Counter = Counter()
    planted: Counter = Counter()
    missed: list[str] = []
    prev: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as td:
        for k, day in enumerate(days):
            drop = night_files(m, day, Path(td))
            clean = judge_night(drop, hist)
            if k >= warmup:
                for refusal, findings, _, _ in clean.values():
                    crit = critical(findings)
                    if refusal or crit:
                        false_crit.append(f"{day} {refusal or crit[0].one_line()}")
                # The nightly audit re-judges the night's complete breadth rows.
                crit = audit_breadth(night_breadth(clean), hist)
                if crit:
                    false_crit.append(f"{day} audit: {crit[0].one_line()}")
                # Each fault kind on every 4th night, in turn (about 65 plants of each over 260).
                for j, fault in enumerate(FAULTS):
                    if (first + k + j) % ROTATION != 0:
                        continue
                    planted_file = plant(fault, drop, prev)
                    if planted_file is None:
                        continue
                    name, bad = planted_file
                    refusal, findings = judge_planted(name, bad, hist, clean)
                    planted[fault.name] += 1
                    if refusal or critical(findings):
                        caught[fault.name] += 1
                    else:
                        missed.append(f"{day} {fault.name}: "
                                      + "; ".join(f.one_line() for f in findings)[:200])
            for _, _, rows, table in clean.values():
                if rows is not None:
                    hist.add(table, rows, day)
            prev = drop
    return false_crit, caught, planted, missed


ROTATION = 4


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nights", type=int, default=260)
    ap.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 27))
    ap.add_argument("--jobs", type=int, default=4, help="worker processes (blocks of nights)")
    a = ap.parse_args()
    days = calendar.sessions_between(date(2016, 1, 4), a.end)[-(a.nights + WARMUP):]
    measured = days[WARMUP:]
    size = -(-len(measured) // a.jobs)
    blocks = []
    for b in range(0, len(measured), size):
        lo = b + WARMUP  # index in `days` of the block's first measured night
        blocks.append((a.seed, days[lo - WARMUP: lo + size], lo - WARMUP, WARMUP))
    t0 = time.perf_counter()
    false_crit: list[str] = []
    caught: Counter = Counter()
    planted: Counter = Counter()
    missed: list[str] = []
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        for fc, c, p, mi in ex.map(run_block, *zip(*blocks, strict=True)):
            false_crit += fc
            caught += c
            planted += p
            missed += mi
    n_planted, n_caught = sum(planted.values()), sum(caught.values())
    print(f"corruption bench: seed {a.seed}, {len(measured)} nights {measured[0]}..{measured[-1]}, "
          f"{len(FAULTS)} fault kinds, {time.perf_counter() - t0:.0f} s ({a.jobs} workers)")
    for f in FAULTS:
        print(f"  {f.name:<32} {caught[f.name]:>3} / {planted[f.name]:<3} caught")
    print(f"planted critical faults caught: {n_caught} / {n_planted} ({n_caught / max(n_planted, 1):.1%})")
    print(f"clean nights with a false critical: {len({x[:10] for x in false_crit})} / {len(measured)}")
    for x in false_crit[:15]:
        print(f"  false: {x}"[:240])
    for x in missed[:25]:
        print(f"  missed: {x}"[:240])


if __name__ == "__main__":
    main()
