"""The nightly audit: tonight's partition of every warehouse table through its Great Expectations
suite (one real checkpoint per table, on a pandas copy), results as audit.validations rows, and
Data Docs built offline. Reads through the Warehouse handed in; writes nothing to DuckDB.

GE 1.24 cannot validate DuckDB directly (its SQL source loses the connection), and has no polars
support: each partition is read with DuckDB into polars, then `to_pandas()` (see
../shared/ecosystem-notes.md). GE is imported only when an audit runs (it takes seconds).
"""

from __future__ import annotations

import json
import math
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from expectations.contracts import Contract, contracts
from expectations.suites import (
    CRITICAL,
    HISTORY_NIGHTS,
    WARNING,
    DriftRef,
    History,
    build_suite,
    idle,
    jump_column,
    suite_name,
)

NEW_YORK = ZoneInfo("America/New_York")
CLOSE_NY = time(16, 0)
SITE = "alvh"
DATASOURCE = "alvh_warehouse"
JUMP_LOOKBACK = 10  # sessions searched for a series' last stored value
DOCS_RESULTS_LIMIT = 400  # validation results listed on the Data Docs index page
STYLESHEET = Path(__file__).with_name("data_docs.css")


def close_utc(d: date) -> datetime:
    """The 16:00 New York close of `d`, as naive UTC (how TIMESTAMP columns store instants)."""
    return datetime.combine(d, CLOSE_NY, NEW_YORK).astimezone(UTC).replace(tzinfo=None)


def q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


# -- tonight's partition and the trailing history ---------------------------------------------------

def _is_ts(wh, c: Contract) -> bool:
    return isinstance(c.schema.columns[c.date_col].dtype.type, pl.Datetime) if c.date_col else False


def partition_filter(c: Contract, as_of: date, sessions: list[date], ts: bool,
                     alias: str = "") -> tuple[str, list]:
    """SQL predicate (and params) selecting tonight's rows of the table."""
    if c.cadence == "static" or not c.date_col:
        return "true", []
    col = (f"{alias}." if alias else "") + q(c.date_col)
    if ts:  # the funding day: after the previous session's close, up to tonight's
        prev = [s for s in sessions if s < as_of]
        lo = close_utc(prev[-1]) if prev else close_utc(as_of) - timedelta(days=1)
        return f"{col} > ? and {col} <= ?", [lo, close_utc(as_of)]
    return f"{col} = ?", [as_of]


def load_partition(wh, c: Contract, as_of: date, sessions: list[date]) -> pl.DataFrame:
    """Tonight's rows, plus `<value>_vs_prev` (value / the series' last stored value) for jump checks."""
    ts = _is_ts(wh, c)
    jump = jump_column(c)
    if not jump or c.cadence == "static":
        where, params = partition_filter(c, as_of, sessions, ts)
        return wh.sql(f"select * from {c.table} where {where}", params)
    keys, value = c.jump
    key_list = ", ".join(q(k) for k in keys)
    col = q(c.date_col)
    before = [s for s in sessions if s < as_of][-JUMP_LOOKBACK:] or [as_of]
    if ts:
        prev_where, prev_params = f"{col} > ? and {col} <= ?", [
            close_utc(before[0]) - timedelta(days=4), close_utc(before[-1])]
    else:
        prev_where, prev_params = f"{col} >= ? and {col} < ?", [before[0], as_of]
    where, params = partition_filter(c, as_of, sessions, ts, alias="t")
    sql = (f"select t.*, t.{q(value)} / nullif(p._prev, 0) as {q(jump)} from {c.table} t "
           f"left join (select {key_list}, arg_max({q(value)}, {col}) as _prev from {c.table} "
           f"where {prev_where} and {q(value)} is not null group by {key_list}) p using ({key_list}) "
           f"where {where}")
    return wh.sql(sql, [*prev_params, *params])


def _night_of(ts_values: pl.Series, nights: list[date]) -> pl.Series:
    """Map UTC instants to the session whose funding day holds them ((prev close, close])."""
    closes = np.array([np.datetime64(close_utc(d), "us") for d in nights])
    idx = np.searchsorted(closes, ts_values.to_numpy().astype("datetime64[us]"), side="left")
    out = [nights[i] if 0 <= i < len(nights) else None for i in idx]
    return pl.Series("_night", out, dtype=pl.Date)


def _drift_ref(col: str, values: pl.DataFrame) -> DriftRef | None:
    v = values.filter(pl.col(col).is_not_null() & pl.col(col).cast(pl.Float64).is_finite())
    if v.is_empty():
        return None
    x = v[col].cast(pl.Float64).to_numpy()
    edges = sorted(set(np.quantile(x, np.linspace(0.1, 0.9, 9)).round(12).tolist()))
    if len(edges) < 2:
        return None
    inner, _ = np.histogram(x, bins=edges)
    counts = np.concatenate([[np.sum(x < edges[0])], inner, [np.sum(x > edges[-1])]]).astype(float)
    weights = counts / counts.sum() + 1e-4  # a bin never seen before must not make KL infinite
    weights = (weights / weights.sum()).tolist()
    medians = (v.group_by("_night").agg(pl.col(col).cast(pl.Float64).median())[col]).to_list()
    return DriftRef(col, [float(e) for e in edges], weights, [float(m) for m in medians],
                    nights=v["_night"].n_unique())


def load_history(wh, c: Contract, as_of: date, sessions: list[date],
                 partition: pl.DataFrame | None = None) -> History:
    """Row counts per previous session (the last HISTORY_NIGHTS) and drift references."""
    if c.cadence == "static" or not c.date_col:
        return History()
    prev = [s for s in sessions if s < as_of][-HISTORY_NIGHTS:]
    if not prev:
        return History()
    col = q(c.date_col)
    ts = _is_ts(wh, c)
    drift_cols = [d for d in c.drift if d in c.columns]
    picks = ", ".join(q(d) for d in drift_cols)
    if ts:
        lo = close_utc(prev[0]) - timedelta(days=4)  # a Monday's funding day opens on Friday
        df = wh.sql(f"select {col} as _ts{', ' + picks if picks else ''} from {c.table} "
                    f"where {col} > ? and {col} <= ?", [lo, close_utc(prev[-1])])
        df = df.with_columns(_night_of(df["_ts"], prev)).filter(pl.col("_night").is_not_null())
        counts_df = df.group_by("_night").len()
    else:
        counts_df = wh.sql(f"select {col} as _night, count(*) as len from {c.table} "
                           f"where {col} in (select unnest(?::date[])) group by 1", [prev])
        df = (wh.sql(f"select {col} as _night, {picks} from {c.table} where {col} in "
                     f"(select unnest(?::date[]))", [prev]) if picks else pl.DataFrame())
    by_night = dict(zip(counts_df["_night"].to_list(), counts_df["len"].to_list(), strict=True))
    drift = {}
    for d in drift_cols:
        ref = _drift_ref(d, df.select("_night", d))
        if ref is not None:
            drift[d] = ref
    scale = 1.0
    if ts:
        days = [s for s in sessions if s <= as_of]
        windows = {d: (close_utc(d) - close_utc(p)).total_seconds()
                   for p, d in zip(days, days[1:], strict=False)}
        trailing = sorted(windows[d] for d in prev if d in windows)
        if trailing and as_of in windows:
            scale = windows[as_of] / trailing[len(trailing) // 2]
    has_prev = {}
    jump = jump_column(c)
    if jump and partition is not None and jump in partition.columns:
        has_prev[c.jump[1]] = bool(partition[jump].is_not_null().any())
    return History(counts=[int(by_night.get(s, 0)) for s in prev], drift=drift, has_previous=has_prev,
                   scale=scale)


# -- Great Expectations ---------------------------------------------------------------------------

def gx_context(home: Path, docs_dir: Path):
    """The file-backed GE project in <home>/gx, Data Docs site `alvh` in `docs_dir`, bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="file", project_root_dir=str(home))
    site = {SITE: {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "validation_results_limit": DOCS_RESULTS_LIMIT},
    }}
    changed = False
    if dict(ctx.variables.data_docs_sites or {}) != site:
        ctx.variables.data_docs_sites = site
        changed = True
    bars = ctx.variables.progress_bars
    if not bars or getattr(bars, "globally", None) is not False:
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        changed = True
    if ctx.variables.analytics_enabled is not False:
        ctx.variables.analytics_enabled = False
        changed = True
    if changed:
        ctx.variables.save()
        ctx = gx.get_context(mode="file", project_root_dir=str(home))
    # Data Docs load Bootstrap from CDNs; this stylesheet is inlined into every page so they read
    # well offline too.
    css = Path(ctx.root_directory) / "plugins" / "custom_data_docs" / "styles" / "data_docs_custom_styles.css"
    want = STYLESHEET.read_text(encoding="utf-8")
    if not css.exists() or css.read_text(encoding="utf-8") != want:
        css.parent.mkdir(parents=True, exist_ok=True)
        css.write_text(want, encoding="utf-8")
    return ctx


def _batch_definition(ctx, asset_name: str):
    ds = ctx.data_sources.add_or_update_pandas(DATASOURCE) if DATASOURCE not in ctx.data_sources.all() \
        else ctx.data_sources.get(DATASOURCE)
    try:
        asset = ds.get_asset(asset_name)
    except LookupError:
        asset = ds.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("night")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("night")


def _checkpoint(ctx, name: str, suite):
    """The table's checkpoint with tonight's suite. The suite is saved each night (its bounds move
    with the history); the validation definition and checkpoint are created once and reused -
    GE's add_or_update cascade would re-save all three (most of a night's audit time)."""
    from great_expectations import Checkpoint, ValidationDefinition
    from great_expectations.exceptions import DataContextError

    suite = ctx.suites.add_or_update(suite)
    try:
        return ctx.checkpoints.get(f"alvh_{name}")
    except DataContextError:
        pass
    try:
        vd = ctx.validation_definitions.get(name)
    except DataContextError:
        vd = ctx.validation_definitions.add(
            ValidationDefinition(name=name, data=_batch_definition(ctx, name), suite=suite))
    return ctx.checkpoints.add(Checkpoint(
        name=f"alvh_{name}", validation_definitions=[vd], actions=[],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _observed(er) -> dict:
    cfg = er.expectation_config
    res = er.result or {}
    expected = {k: v for k, v in cfg.kwargs.items()
                if k not in ("batch_id", "column", "column_list", "partition_object", "result_format")}
    out: dict = {"expected": expected}
    for k in ("observed_value", "unexpected_percent", "missing_count"):
        if res.get(k) is not None:
            out[k] = res[k]
    if res.get("partial_unexpected_list"):
        out["examples"] = res["partial_unexpected_list"][:5]
    if cfg.meta.get("note"):
        out["note"] = cfg.meta["note"]
    info = er.exception_info or {}
    if info.get("raised_exception"):
        out["exception"] = (info.get("exception_message") or "")[:300]
    return out


def _clean(obj: Any) -> Any:
    """Plain JSON: NaN/inf become strings, numpy scalars Python numbers."""
    return json.loads(json.dumps(obj, default=_jsonable, allow_nan=True).replace("NaN", '"NaN"')
                      .replace("-Infinity", '"-inf"').replace("Infinity", '"inf"'))


@dataclass
class TableAudit:
    table: str
    suite: str
    rows: int
    results: list[dict] = field(default_factory=list)
    docs: str | None = None  # Data Docs page, relative to the home
    note: str = ""

    def failed(self, severity: str | None = None) -> list[dict]:
        return [r for r in self.results if not r["success"]
                and (severity is None or r["severity"] == severity)]


@dataclass
class NightAudit:
    as_of: date
    run_id: str
    tables: list[TableAudit]
    seconds: dict[str, float]
    docs_index: str | None = None  # relative to the home

    def rows(self) -> list[dict]:
        return [r for t in self.tables for r in t.results]

    @property
    def critical(self) -> list[dict]:
        return [r for r in self.rows() if not r["success"] and r["severity"] == CRITICAL]

    @property
    def warnings(self) -> list[dict]:
        return [r for r in self.rows() if not r["success"] and r["severity"] == WARNING]

    @property
    def trusted(self) -> bool:
        return not self.critical


def _docs_page(ctx, vid, home: Path) -> str | None:
    """The Data Docs page of one validation result, relative to the home when inside it."""
    urls = ctx.get_docs_sites_urls(resource_identifier=vid, site_name=SITE)
    if not urls or not urls[0].get("site_url"):
        return None
    page = Path(urls[0]["site_url"].removeprefix("file://"))
    return page.relative_to(home).as_posix() if page.is_relative_to(home) else str(page)


def _result_row(er, *, run_id: str, as_of: date, table: str, suite: str, validated_at: datetime,
                docs: str | None) -> dict:
    cfg = er.expectation_config
    kw = cfg.kwargs
    column = kw.get("column") or (",".join(kw["column_list"]) if kw.get("column_list") else None)
    res = er.result or {}
    raised = bool((er.exception_info or {}).get("raised_exception"))
    return {
        "run_id": run_id, "as_of": as_of, "table_name": table, "suite": suite,
        "expectation": cfg.type, "column_name": column,
        "severity": cfg.meta.get("severity", CRITICAL), "success": bool(er.success) and not raised,
        "element_count": res.get("element_count"), "unexpected_count": res.get("unexpected_count"),
        "observed": json.dumps(_clean(_observed(er)), sort_keys=True),
        "validated_at": validated_at, "kind": cfg.meta.get("kind"), "data_docs": docs,
    }


def _idle_row(table: str, *, run_id: str, as_of: date, validated_at: datetime) -> dict:
    return {"run_id": run_id, "as_of": as_of, "table_name": table, "suite": suite_name(table),
            "expectation": "table_idle", "column_name": None, "severity": WARNING,
            "success": True, "element_count": 0, "unexpected_count": 0,
            "observed": json.dumps({"note": f"no rows tonight nor in the previous {HISTORY_NIGHTS} "
                                            "sessions: nothing to validate"}),
            "validated_at": validated_at, "kind": "idle", "data_docs": None}


def _no_contract_row(table: str, *, run_id: str, as_of: date, validated_at: datetime) -> dict:
    return {"run_id": run_id, "as_of": as_of, "table_name": table, "suite": suite_name(table),
            "expectation": "table_has_contract", "column_name": None, "severity": WARNING,
            "success": False, "element_count": None, "unexpected_count": None,
            "observed": json.dumps({"note": "no pandera model in expectations/: not audited"}),
            "validated_at": validated_at, "kind": "schema", "data_docs": None}


def run_audit(wh, as_of: date, sessions: list[date], *, home: Path, docs_dir: Path, run_id: str,
              tables: list[str] | None = None, build_docs: bool = True,
              keep_nights: int | None = None) -> NightAudit:
    """Validate tonight's partition of each table (default: every raw/core table in the warehouse).

    `sessions`: XNYS sessions up to and including `as_of` (at least HISTORY_NIGHTS + 1 of them).
    `keep_nights`: keep GE's stored results and Data Docs pages of the latest N nights only
    (audit.validations in the warehouse keeps every result; these files are ~2 MB a night).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    t0 = _time.perf_counter()
    seconds: dict[str, float] = {}
    registry = contracts()
    present = [t for t in wh.tables() if t.split(".")[0] in ("raw", "core")]
    todo = tables or present
    ctx = gx_context(home, docs_dir)
    seconds["context"] = _time.perf_counter() - t0
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    run = RunIdentifier(run_name=f"night-{as_of.isoformat()}",
                        run_time=datetime.combine(as_of, time(0), UTC))
    audits: list[TableAudit] = []
    ids = []
    by_id: dict = {}
    t_read = t_gx = 0.0
    for table in todo:
        c = registry.get(table)
        if c is None:
            audits.append(TableAudit(table, suite_name(table), 0,
                                     [_no_contract_row(table, run_id=run_id, as_of=as_of,
                                                       validated_at=validated_at)], note="no contract"))
            continue
        t1 = _time.perf_counter()
        part = load_partition(wh, c, as_of, sessions)
        hist = load_history(wh, c, as_of, sessions, part)
        pdf = part.to_pandas()
        t2 = _time.perf_counter()
        name = suite_name(table)
        if idle(c, hist, part.height):
            audits.append(TableAudit(table, suite_name(table), 0, [_idle_row(
                table, run_id=run_id, as_of=as_of, validated_at=validated_at)], note="idle"))
            continue
        cp = _checkpoint(ctx, name, build_suite(c, hist, part.height))
        result = cp.run(batch_parameters={"dataframe": pdf}, run_id=run)
        t3 = _time.perf_counter()
        t_read += t2 - t1
        t_gx += t3 - t2
        audit = TableAudit(table, name, part.height)
        for vid, vres in result.run_results.items():
            ids.append(vid)
            by_id[vid] = audit
            for er in vres.results:
                audit.results.append(_result_row(er, run_id=run_id, as_of=as_of, table=table,
                                                 suite=name, validated_at=validated_at, docs=None))
        audits.append(audit)
    seconds["read"] = t_read
    seconds["validate"] = t_gx
    index = None
    if keep_nights is not None:
        prune_nights(Path(ctx.root_directory) / "uncommitted" / "validations", keep_nights)
    if build_docs and ids:
        t4 = _time.perf_counter()
        ctx.build_data_docs(site_names=[SITE], resource_identifiers=ids)
        from expectations.docs_offline import write_offline_index

        write_offline_index(docs_dir)  # the index's own table needs CDN scripts
        if keep_nights is not None:
            prune_nights(docs_dir / "validations", keep_nights)
        for vid, audit in by_id.items():
            audit.docs = _docs_page(ctx, vid, home)
            for r in audit.results:
                r["data_docs"] = audit.docs
        seconds["data_docs"] = _time.perf_counter() - t4
        index = Path(docs_dir / "index.html").relative_to(home).as_posix() \
            if docs_dir.is_relative_to(home) else str(docs_dir / "index.html")
    seconds["total"] = _time.perf_counter() - t0
    return NightAudit(as_of, run_id, audits, seconds, index)


def prune_nights(results: Path, keep: int) -> list[Path]:
    """Remove `<suite>/night-YYYY-MM-DD` folders of all but the latest `keep` nights under
    `results` (GE's validation store or the Data Docs pages). Returns what was removed."""
    import shutil

    runs = [d for suite in results.glob("*/") for d in suite.glob("night-*") if d.is_dir()]
    nights = sorted({d.name for d in runs})
    old = set(nights[:-keep]) if keep > 0 else set(nights)
    gone = [d for d in runs if d.name in old]
    for d in gone:
        shutil.rmtree(d, ignore_errors=True)
    return gone
