"""Wiring of the plausibility checks: at ingest (a parsed file against the warehouse's history)
and in the nightly audit (tonight's stored partitions, findings into audit.validations).

Wiring only: the checks live in expectations/plausibility.py, the SQL in warehouse/history.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl

from expectations.plausibility import CRITICAL, Finding, check_table, critical
from warehouse import history as hist
from warehouse.db import Warehouse

_DATE_COL = {"raw.option_quotes": "quote_date", "raw.index_bars": "date",
             "raw.vx_futures": "trade_date", "raw.breadth": "date", "raw.funding_rates": "funding_ts"}


def history_for(wh: Warehouse, table: str, rows: pl.DataFrame,
                tables: frozenset[str] | None = None) -> tuple[pl.DataFrame | None, dict]:
    """(history frame, extra keyword arguments) the checks of `table` need for `rows`."""
    if rows.is_empty() or table not in _DATE_COL:
        return None, {}
    col = _DATE_COL[table]
    if table == "raw.option_quotes":
        day = rows[col].max()
        prev = hist.option_chain_before(wh, rows["root"].unique().to_list(), day, tables)
        closes = hist.index_closes_on(wh, rows["underlying"].unique().to_list(), [day], tables)
        return prev, {"index_close": closes}
    if table == "raw.funding_rates":
        keys = rows.select("venue", "symbol").unique()
        return hist.funding_around(wh, keys, rows[col].min(), rows[col].max(), tables), {}
    first, last = rows[col].min(), rows[col].max()
    if table == "raw.index_bars":
        return hist.index_bars_around(wh, rows["symbol"].unique().to_list(), first, last, tables), {}
    if table == "raw.vx_futures":
        return hist.vx_around(wh, first, last, tables), {}
    return hist.breadth_around(wh, rows["exchange"].unique().to_list(), first, last, tables), {}


# The key column(s) history_for selects a table's history by (besides the date).
_KEYS = {"raw.index_bars": ("symbol",), "raw.breadth": ("exchange",), "raw.vx_futures": (),
         "raw.funding_rates": ("venue", "symbol")}


class BatchHistory:
    """The history of a batch of files judged against one warehouse state: one read per table
    (the union of the files' keys and dates) instead of one per file, each file then served the
    very rows `history_for` would read for it alone (same predicates, applied in memory).

    Valid while the warehouse does not change: the writer judges a batch's new files before it
    loads any of them (flows.ingest.load_many) and drops this object if it must load one first.
    """

    def __init__(self, wh: Warehouse, frames: list[tuple[str, pl.DataFrame]]):
        self.tables = frozenset(wh.tables())
        self._frames: dict[str, pl.DataFrame | None] = {}
        self._chains: dict[date, dict[str, date]] = {}  # day -> root -> latest stored date before
        want: dict[str, list[pl.DataFrame]] = {}
        for table, rows in frames:
            if table in _DATE_COL and not rows.is_empty():
                want.setdefault(table, []).append(rows)
        for table, parts in want.items():
            self._read(wh, table, parts)

    def _read(self, wh: Warehouse, table: str, parts: list[pl.DataFrame]) -> None:
        col = _DATE_COL[table]
        t = self.tables
        if table == "raw.option_quotes":
            roots_by_day: dict[date, set[str]] = {}
            closes: set[str] = set()
            for r in parts:
                roots_by_day.setdefault(r[col].max(), set()).update(r["root"].unique().to_list())
                closes.update(r["underlying"].unique().to_list())
            self._chains = {d: hist.latest_chain_dates(wh, sorted(roots), d, t)
                            for d, roots in roots_by_day.items()}
            prevs = sorted({p for latest in self._chains.values() for p in latest.values()})
            roots = sorted(set().union(*roots_by_day.values()))
            self._frames[table] = hist.option_chains_on(wh, roots, prevs, t) if prevs else None
            self._frames["closes"] = hist.index_closes_on(wh, sorted(closes), sorted(roots_by_day), t)
            return
        first = min(r[col].min() for r in parts)
        last = max(r[col].max() for r in parts)
        if table == "raw.funding_rates":
            keys = pl.concat([r.select("venue", "symbol") for r in parts]).unique()
            self._frames[table] = hist.funding_around(wh, keys, first, last, t)
        elif table == "raw.index_bars":
            syms = sorted(set().union(*(r["symbol"].unique().to_list() for r in parts)))
            self._frames[table] = hist.index_bars_around(wh, syms, first, last, t)
        elif table == "raw.vx_futures":
            self._frames[table] = hist.vx_around(wh, first, last, t)
        else:
            exch = sorted(set().union(*(r["exchange"].unique().to_list() for r in parts)))
            self._frames[table] = hist.breadth_around(wh, exch, first, last, t)

    def history_for(self, table: str, rows: pl.DataFrame) -> tuple[pl.DataFrame | None, dict]:
        """What `history_for(wh, table, rows)` returns, from the batch's reads."""
        if rows.is_empty() or table not in _DATE_COL:
            return None, {}
        col = _DATE_COL[table]
        if table == "raw.option_quotes":
            day = rows[col].max()
            roots = rows["root"].unique()
            closes = self._frames.get("closes")
            if closes is not None:
                closes = closes.filter(pl.col("symbol").is_in(rows["underlying"].unique().implode())
                                       & (pl.col("date") == day))
            latest = [d for r, d in self._chains.get(day, {}).items() if r in set(roots.to_list())]
            chains = self._frames.get(table)
            if "raw.option_quotes" not in self.tables or not latest or chains is None:
                return None, {"index_close": closes}
            prev = chains.filter((pl.col("quote_date") == max(latest))
                                 & pl.col("root").is_in(roots.implode()))
            return prev, {"index_close": closes}
        frame = self._frames.get(table)
        if frame is None:
            return None, {}
        first, last = rows[col].min(), rows[col].max()
        sel = pl.col(col).is_between(first - timedelta(days=hist.HISTORY_DAYS), last)
        for k in _KEYS[table]:
            sel = sel & pl.col(k).is_in(rows[k].unique().implode())
        return frame.filter(sel), {}


def judged(prep) -> bool:
    """Does `judge_file` check this prepared file against history?"""
    p = prep.parsed
    return not (p is None or prep.error or p.rows.is_empty() or p.table not in _DATE_COL)


def judge_file(wh: Warehouse, prep, file: str, max_reject_ratio: float,
               batch: BatchHistory | None = None):
    """A prepared file (flows.ingest.Prepared) against the warehouse: rows named by a critical
    finding are refused (audit.quarantine, check_name = the check); a critical finding about the
    file as a whole, or refused rows beyond the reject ratio, refuse the file. Returns the new
    Prepared and the findings. `batch`: the history already read for the file's batch."""
    if not judged(prep):
        return prep, []
    p = prep.parsed
    history, extra = (batch.history_for(p.table, p.rows) if batch is not None
                      else history_for(wh, p.table, p.rows))
    findings = check_table(p.table, p.rows, history, file=file, **extra)
    crit = critical(findings)
    if not crit:
        return prep, findings
    # Refuse the offending rows themselves (by position; a chain line also holds the other side).
    reason_of: dict[int, tuple[str, str]] = {}
    for f in crit:
        for i in f.index:
            reason_of.setdefault(i, (f.check, f.reason))
    # A critical finding that names no row of the frame (a restated series, a stale or mis-scaled
    # file) refuses the file: its rows must not replace what the warehouse holds.
    error = next((f.one_line() for f in crit if not f.index), None)
    rows = p.rows.with_row_index("__pos")
    sel = pl.col("__pos").is_in(sorted(reason_of))
    refused, kept = rows.filter(sel), rows.filter(~sel).drop("__pos")
    n_all = p.rows_read
    n_bad = refused.height + p.rejects.height - p.expected_rejects
    if error is None and n_bad > max_reject_ratio * max(n_all, 1):
        first = crit[0]
        error = (f"{file}:{first.line}: {n_bad:,} of {n_all:,} rows refused ({n_bad / n_all:.1%} > "
                 f"{max_reject_ratio:.1%} allowed); first: {first.check}: {first.reason}")
    failures = None
    if refused.height:
        col = _DATE_COL[p.table]
        as_of = pl.col(col).cast(pl.Date) if col in refused.columns else pl.lit(None, pl.Date)
        pos = refused["__pos"].to_list()
        failures = refused.select(
            row=pl.col("__pos").cast(pl.Int64), line="line",
            check_name=pl.Series([reason_of[i][0] for i in pos], dtype=pl.String),
            reason=pl.Series([f"{reason_of[i][0]}: {reason_of[i][1]}" for i in pos], dtype=pl.String),
            raw=pl.struct(pl.all().exclude("line", "__pos")).struct.json_encode(), as_of=as_of)
        if prep.contract_failures is not None and prep.contract_failures.height:
            failures = pl.concat([prep.contract_failures, failures.cast(prep.contract_failures.schema)])
    new = replace(prep, parsed=replace(p, rows=kept), error=prep.error or error,
                  contract_failures=failures if failures is not None else prep.contract_failures)
    return new, findings


def record_ingest_findings(wh: Warehouse, file_id: str, findings: list[Finding]) -> None:
    hist.record_findings(wh, [f.record() for f in findings], stage="ingest", file_id=file_id)


def record_batch_findings(wh: Warehouse, by_file: dict[str, list[Finding]],
                          tables: frozenset[str] | None = None) -> None:
    """`record_ingest_findings` for a batch's files in one delete and one insert."""
    hist.record_file_findings(wh, {k: [f.record() for f in v] for k, v in by_file.items()},
                              stage="ingest", tables=tables)


# -- the nightly audit ---------------------------------------------------------------------------
def night_findings(wh: Warehouse, as_of: date) -> list[Finding]:
    """Tonight's stored raw partitions re-judged against the history before them (what a batch's
    order hid at ingest: the chain's spot vs tonight's index close)."""
    out: list[Finding] = []
    for table, col in _DATE_COL.items():
        if table == "raw.funding_rates":
            continue  # judged per file at ingest (a funding day spans two dates)
        rows = hist.night_partition(wh, table, col, as_of)
        if rows is None or rows.is_empty():
            continue
        history, extra = history_for(wh, table, rows)
        if history is not None and table != "raw.option_quotes":
            history = history.filter(pl.col(col) < as_of)
        out += check_table(table, rows, history, file=None, **extra)
    return out


def audit_rows(wh: Warehouse, as_of: date, run_id: str) -> list[dict]:
    """audit.validations rows for the night's plausibility: one failing row per finding (ingest
    findings about the night and tonight's re-judged partitions), one passing row per raw table
    judged without a critical finding. Severity as found; kind `plausibility`."""
    found = night_findings(wh, as_of)
    hist.record_findings(wh, [f.record() for f in found], stage="audit", as_of=as_of)
    stored = hist.night_findings(wh, [as_of])
    now = datetime.now(UTC).replace(tzinfo=None)
    rows: list[dict] = []
    seen: set[tuple] = set()
    for r in stored.iter_rows(named=True):
        key = (r["table_name"], r["check_name"], r["reason"])
        if key in seen:
            continue
        seen.add(key)
        where = f"{r['file']}:{r['line']}: " if r.get("file") and r.get("line") else (
            f"{r['file']}: " if r.get("file") else "")
        lines = json.loads(r["rows"] or "[]")
        rows.append({"run_id": run_id, "as_of": as_of, "table_name": r["table_name"],
                     "suite": "plausibility", "expectation": r["check_name"], "column_name": None,
                     "severity": r["severity"], "success": False, "element_count": None,
                     "unexpected_count": r["row_count"] or None,
                     "observed": json.dumps({"observed_value": f"{where}{r['reason']}",
                                             "rows": lines}),
                     "validated_at": now, "kind": "plausibility", "data_docs": None})
    failed_tables = {r["table_name"] for r in rows if r["severity"] == CRITICAL}
    for table in _DATE_COL:
        if table not in failed_tables and table in wh.tables():
            rows.append({"run_id": run_id, "as_of": as_of, "table_name": table,
                         "suite": "plausibility", "expectation": "plausible_vs_history",
                         "column_name": None, "severity": CRITICAL, "success": True,
                         "element_count": None, "unexpected_count": 0,
                         "observed": json.dumps({"observed_value": "no critical finding"}),
                         "validated_at": now, "kind": "plausibility", "data_docs": None})
    return rows

