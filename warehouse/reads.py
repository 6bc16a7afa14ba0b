"""Typed reads the flows and reports share. Each returns a polars frame with a stated schema
(the three summaries `alvh status` prints return plain `Rows`: that command never loads polars).

Reads only; writes live in db.py and files.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from warehouse.db import Rows, Warehouse

if TYPE_CHECKING:  # imported where a frame is built here: `alvh status` reads plain rows
    import polars as pl

# The column that dates each table's rows, in order of preference.
_DATE_COLUMNS = ("quote_date", "date", "trade_date", "funding_ts", "as_of", "landed_at", "started_at")


def date_column(wh: Warehouse, table: str) -> str | None:
    cols = wh.columns(table)
    return next((c for c in _DATE_COLUMNS if c in cols), None)


def table_summary(wh: Warehouse) -> Rows:
    """table, rows, first, last (as text) for every audit/raw/core table."""
    out: list[tuple] = []
    for t in wh.tables():
        col = date_column(wh, t)
        if col:
            n, lo, hi = wh.one(f'select count(*), min("{col}")::date, max("{col}")::date from {t}')
        else:
            n, lo, hi = wh.one(f"select count(*), null, null from {t}")
        out.append((t, int(n), None if lo is None else str(lo), None if hi is None else str(hi)))
    return Rows(["table", "rows", "first", "last"], out)


def option_quotes(wh: Warehouse, quote_dates: list[date], underlying: str = "SPX") -> pl.DataFrame:
    """raw.option_quotes for the given sessions and underlying (all roots)."""
    if not quote_dates:
        return wh.sql("select * from raw.option_quotes limit 0")
    return wh.sql(
        "select * from raw.option_quotes where underlying = ? and quote_date in "
        "(select unnest(?::date[])) order by quote_date, root, expiry, strike, \"right\"",
        [underlying, quote_dates])


QUOTE_KEYS = ("quote_date", "root", "expiry", "strike", "right")  # the grain of raw.option_quotes


def option_chains(wh: Warehouse, underlying: str = "SPX", *, dates: list[date] | None = None,
                  end: date | None = None, columns: tuple[str, ...] | None = None,
                  max_dte: int | None = None) -> pl.DataFrame:
    """raw.option_quotes of `underlying` for the sessions `dates` (or every session up to `end`),
    only `columns` (all when None), only unexpired contracts of at most `max_dte` calendar days
    when given: the rows `option_quotes`
    returns, in its order (quote_date, root, expiry, strike, right: the table's grain, so the
    order is total). Sorted in polars: a year of SPX chains (2.5M rows) reads in ~1.2 s wall
    against ~2.9 s with DuckDB's ORDER BY on the 2 busy cores here."""
    cols = "*" if columns is None else ", ".join(f'"{c}"' for c in dict.fromkeys((*QUOTE_KEYS, *columns)))
    clauses, args = ["underlying = ?"], [underlying]
    if dates is not None:
        clauses.append("quote_date in (select unnest(?::date[]))")
        args.append(list(dates))
    if end is not None:
        clauses.append("quote_date <= ?")
        args.append(end)
    if max_dte is not None:
        clauses.append("(expiry >= quote_date and expiry - quote_date <= ?)")
        args.append(max_dte)
    df = wh.sql(f"select {cols} from raw.option_quotes where {' and '.join(clauses)}", args)
    df = df.sort(list(QUOTE_KEYS), maintain_order=True)
    return df if columns is None else df.select(columns)


def option_roots(wh: Warehouse, quote_dates: list[date]) -> pl.DataFrame:
    """(quote_date, root, underlying, rows) of raw.option_quotes for the given sessions: which
    chains a session holds (the gamma step builds every underlying with conventions)."""
    import polars as pl

    schema = {"quote_date": pl.Date, "root": pl.String, "underlying": pl.String, "rows": pl.Int64}
    if not quote_dates:
        return pl.DataFrame(schema=schema)
    df = wh.sql("select quote_date, root, underlying, count(*) as rows from raw.option_quotes "
                "where quote_date in (select unnest(?::date[])) group by all order by all",
                [list(quote_dates)])
    return df.cast(schema) if df.height else pl.DataFrame(schema=schema)


def quote_dates(wh: Warehouse, underlying: str = "SPX") -> list[date]:
    df = wh.sql("select distinct quote_date from raw.option_quotes where underlying = ? order by 1",
                [underlying])
    return df["quote_date"].to_list()


def index_bars(wh: Warehouse, symbols: list[str], end: date | None = None) -> pl.DataFrame:
    """raw.index_bars for symbols, up to `end` inclusive (all history when None)."""
    q = "select * from raw.index_bars where symbol in (select unnest(?::varchar[]))"
    params: list = [symbols]
    if end is not None:
        q += " and date <= ?"
        params.append(end)
    return wh.sql(q + " order by symbol, date", params)


def history(wh: Warehouse, table: str, end: date | None = None, date_col: str = "date",
            start: date | None = None) -> pl.DataFrame:
    """All rows of a dated table within [start, end], ordered by date."""
    clauses, params = [], []
    if start is not None:
        clauses.append(f'"{date_col}" >= ?')
        params.append(start)
    if end is not None:
        clauses.append(f'"{date_col}" <= ?')
        params.append(end)
    where = " and ".join(clauses)
    return wh.table(table, where, params, order_by=f'"{date_col}"')


def recent_runs(wh: Warehouse, n: int = 5) -> Rows:
    return wh.rows("select run_id, flow, as_of, status, started_at, finished_at from audit.runs "
                  "order by started_at desc limit ?", [n])


def files_by_status(wh: Warehouse) -> Rows:
    return wh.rows("select source, status, count(*)::bigint as files, sum(rows_written)::bigint as rows, "
                  "sum(rows_quarantined)::bigint as quarantined from audit.files group by all order by 1, 2")


def files_for_date(wh: Warehouse, as_of: date) -> pl.DataFrame:
    """Every landed file that contributed a raw row dated `as_of` (all raw tables), with its sha256."""
    parts = []
    for t in wh.tables():
        if not t.startswith("raw.") or "file_id" not in wh.columns(t):
            continue
        col = date_column(wh, t)
        if col:
            parts.append(f'select distinct file_id, \'{t}\' as table_name from {t} where "{col}"::date = $1')
    if not parts:
        import polars as pl

        return pl.DataFrame()
    return wh.sql(
        "select f.file_id, u.table_name, f.original_path, f.landing_path, f.format, f.status, "
        "f.rows_written, f.rows_quarantined from audit.files f join (" + " union ".join(parts) +
        ") u using (file_id) order by u.table_name, f.landing_path", [as_of])


# -- named reads of the build and the flows (each once: the flows hold no SQL) --------------------


def first_date(wh: Warehouse, table: str, date_col: str = "date") -> date | None:
    """The earliest `date_col` of `table` (None when empty)."""
    return wh.scalar(f'select min("{date_col}") from {table}')


def last_date(wh: Warehouse, table: str, date_col: str = "date", *, preset: str | None = None) -> date | None:
    """The latest `date_col` of `table` (of one gamma `preset` when given; None when empty)."""
    if preset is None:
        return wh.scalar(f'select max("{date_col}") from {table}')
    return wh.scalar(f'select max("{date_col}") from {table} where preset = ?', [preset])


def on_dates(wh: Warehouse, table: str, dates: list[date], date_col: str = "date") -> pl.DataFrame:
    """The rows of `table` dated one of `dates` (in storage order)."""
    return wh.table(table, f'"{date_col}" in (select unnest(?::date[]))', [list(dates)])


def gamma_history(wh: Warehouse, preset: str, end: date, underlying: str | None = None) -> pl.DataFrame:
    """core.gamma_daily of a preset (and underlying) up to `end`, ordered by date."""
    if underlying is None:
        return wh.table("core.gamma_daily", "preset = ? and date <= ?", [preset, end], order_by="date")
    return wh.table("core.gamma_daily", "underlying = ? and preset = ? and date <= ?",
                    [underlying, preset, end], order_by="date")


def gamma_daily_row(wh: Warehouse, underlying: str, preset: str, day: date | None = None) -> dict | None:
    """The core.gamma_daily row of `underlying` and `preset` on `day` (None: the last stored day)."""
    if day is None:
        df = wh.sql("select * from core.gamma_daily where underlying = ? and preset = ? "
                    "order by date desc limit 1", [underlying, preset])
    else:
        df = wh.table("core.gamma_daily", "underlying = ? and preset = ? and date = ?",
                      [underlying, preset, day])
    return df.row(0, named=True) if df.height else None


def gamma_underlyings(wh: Warehouse, preset: str) -> list[str]:
    """Underlyings with a core.gamma_daily row of `preset`, sorted."""
    return wh.sql("select distinct underlying from core.gamma_daily where preset = ? order by 1",
                  [preset])["underlying"].to_list()


def built_gamma_dates(wh: Warehouse, preset: str, start: date, end: date) -> set[date]:
    """Sessions in [start, end] with a core.gamma_daily row of `preset`."""
    return set(wh.sql("select distinct date from core.gamma_daily where preset = ? and date between ? and ?",
                      [preset, start, end])["date"].to_list())


def perp_rows_before(wh: Warehouse, table: str, ts_col: str, before: datetime | date) -> pl.DataFrame:
    """raw.perp_open_interest / raw.perp_liquidations stamped before `before`, by venue, symbol, time."""
    return wh.table(table, f'"{ts_col}" < ?', [before], order_by=f'venue, symbol, "{ts_col}"')


def funding_rates_before(wh: Warehouse, before: datetime | date) -> pl.DataFrame:
    """raw.funding_rates stamped before `before`, by venue, symbol, time."""
    return wh.table("raw.funding_rates", "funding_ts < ?", [before], order_by="venue, symbol, funding_ts")


def macro_events(wh: Warehouse) -> pl.DataFrame:
    return wh.table("raw.macro_events", order_by="date, event")


def funding_daily(wh: Warehouse, venue: str, symbol: str, end: date) -> pl.DataFrame:
    """core.funding_daily of one venue and symbol up to `end`, ordered by date."""
    return wh.table("core.funding_daily", "venue = ? and symbol = ? and date <= ?", [venue, symbol, end],
                    order_by="date")


def ok_recommendations(wh: Warehouse, before: date, excluding: list[date]) -> pl.DataFrame:
    """Stored 'ok' core.recommendations rows dated before `before` and not in `excluding`, by date."""
    return wh.sql("select * from core.recommendations where as_of < ? and status = 'ok' and as_of "
                  "not in (select unnest(?::date[])) order by as_of", [before, list(excluding)])


def recommendation_status(wh: Warehouse, as_of: date) -> str | None:
    return wh.scalar("select status from core.recommendations where as_of = ?", [as_of])


def rows_of_files(wh: Warehouse, day: date, file_ids: list[str], roots: list[str]) -> tuple[int, int]:
    """(option rows of `roots` stored for `day`, how many of them come from none of `file_ids`)."""
    n, foreign = wh.one(
        "select count(*), count(*) filter (where file_id is null or file_id not in "
        "(select unnest(?::varchar[]))) from raw.option_quotes where root in "
        "(select unnest(?::varchar[])) and quote_date = ?", [list(file_ids), list(roots), day])
    return n, foreign


def has_spx_bars_before(wh: Warehouse, day: date) -> bool:
    """Whether raw.index_bars holds an SPX close before `day` (the home has history)."""
    return bool(wh.scalar("select count(*) from raw.index_bars where symbol = 'SPX' and date < ?", [day]))


_HEADLINE = {  # part -> the night's row it shows (flows/nightly.py, the Prefect UI's summary)
    "signals": "select regime, unwind_score from core.signals_daily where date = ?",
    "recommendation": "select * from core.recommendations where as_of = ?",
    "gamma": "select spot, net_gex_usd_per_pct, zero_gamma from core.gamma_daily where date = ? and "
             "underlying = 'SPX' order by preset limit 1",
    "vol": "select vix, vix_vix3m_ratio from core.vol_daily where date = ?",
    "backtest": "select total_return, cagr, sharpe, max_drawdown, irr, note from core.backtest_metrics where as_of = ? and "
                "strategy = 'alvh'",
}


def night_headline(wh: Warehouse, as_of: date) -> dict[str, dict | None]:
    """The night's row of each headline part, None when absent (or its table is not there yet)."""
    out: dict[str, dict | None] = {}
    for part, query in _HEADLINE.items():
        try:
            f = wh.sql(query, [as_of])
        except Exception:  # a table this home does not have yet
            f = None
        out[part] = f.row(0, named=True) if f is not None and f.height else None
    return out


def index_closes_until(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.index_bars closes (symbol, date, close) up to `end`, by symbol and date (research mode)."""
    return wh.sql("select symbol, date, close from raw.index_bars where date <= ? order by symbol, date",
                  [end])


def index_bars_until(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.index_bars (symbol, date, open, close) up to `end`, by symbol and date (research mode:
    the open is the SOQ proxy and the 11:00 path's start)."""
    return wh.sql("select symbol, date, open, close from raw.index_bars where date <= ? "
                  "order by symbol, date", [end])


def dix_gex_until(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.dix_gex (date, price, dix, gex) up to `end`, by date (research mode: dealer gamma where
    no chain exists)."""
    return wh.sql("select * exclude (file_id, batch_id, line) from raw.dix_gex where date <= ? "
                  "order by date", [end])


def breadth_until(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.breadth up to `end` (research mode)."""
    return wh.sql("select * from raw.breadth where date <= ? order by exchange, date", [end])


def funding_until(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.funding_rates up to the end of `end` (research mode)."""
    return wh.sql("select * from raw.funding_rates where funding_ts < ? + interval 1 day "
                  "order by venue, symbol, funding_ts", [end])


def macro_series_all(wh: Warehouse) -> pl.DataFrame:
    """raw.macro_series (series_id, date, value), by series and date."""
    return wh.sql("select series_id, date, value from raw.macro_series order by series_id, date")


# -- history folders: the vendor GEX and where each signal input came from (docs/research.md) -----


def dix_gex(wh: Warehouse, end: date) -> pl.DataFrame:
    """raw.dix_gex (date, price, gex_usd) up to `end`, by date: SqueezeMetrics' daily S&P 500 GEX."""
    return wh.sql("select date, price, gex_usd from raw.dix_gex where date <= ? order by date", [end])


def index_bar_dates(wh: Warehouse, symbols: list[str], start: date, end: date) -> list[date]:
    """Dates in [start, end] with a raw.index_bars close of any of `symbols`, ascending."""
    return wh.sql("select distinct date from raw.index_bars where symbol in (select unnest(?::varchar[])) "
                  "and date between ? and ? order by 1", [symbols, start, end])["date"].to_list()


def dated(wh: Warehouse, table: str, start: date, end: date, date_col: str = "date") -> set[date]:
    """The distinct dates of `table` in [start, end]."""
    return set(wh.sql(f'select distinct "{date_col}" as d from {table} where "{date_col}" between ? and ?',
                      [start, end])["d"].to_list())


# Where a raw row came from, told by its file (audit.files): a file landed from a history folder
# (`alvh research --seed-home`, ALVH_HISTORY_DIR) carries {"history": true} in its provenance; the
# SqueezeMetrics DIX file is a history file however it came; a chain is a chain.
_ORIGIN = ("case when coalesce(json_extract(f.provenance, '$.history')::boolean, false) "
           "or f.format = 'squeezemetrics_dix' then 'history file' "
           "when f.table_name = 'raw.option_quotes' then 'chain' else 'drop file' end as origin")

# component, input, the query of (date, origin) rows up to $1 (one row per source row; $2 = preset)
_SIGNAL_INPUTS = (
    ("gamma", "SPX dealer gamma (net GEX)",
     "select date, 'chain' as origin from core.gamma_daily where underlying = 'SPX' and preset = $2 "
     "and date <= $1 union all select r.date, " + _ORIGIN + " from raw.dix_gex r join audit.files f "
     "using (file_id) where r.date <= $1 and r.gex_usd is not null and r.date not in (select date from "
     "core.gamma_daily where underlying = 'SPX' and preset = $2)"),
    ("volatility", "VIX", "select r.date, " + _ORIGIN + " from raw.index_bars r join audit.files f "
     "using (file_id) where r.symbol = 'VIX' and r.date <= $1"),
    ("volatility", "VIX3M", "select r.date, " + _ORIGIN + " from raw.index_bars r join audit.files f "
     "using (file_id) where r.symbol = 'VIX3M' and r.date <= $1"),
    ("volatility", "SPX close", "select r.date, " + _ORIGIN + " from raw.index_bars r join audit.files f "
     "using (file_id) where r.symbol = 'SPX' and r.date <= $1"),
    ("funding", "perp funding rates", "select r.funding_ts::date as date, " + _ORIGIN + " from "
     "raw.funding_rates r join audit.files f using (file_id) where r.funding_ts::date <= $1"),
    ("breadth", "advances / declines", "select r.date, " + _ORIGIN + " from raw.breadth r join "
     "audit.files f using (file_id) where r.date <= $1"),
)


def signal_inputs(wh: Warehouse, as_of: date, preset: str = "default", window: int = 60) -> list[dict]:
    """Per signal input: where tonight's value came from (chain / history file / drop file /
    missing, joined with ' + ' when several files hold it) and, over the `window` dated sessions
    before `as_of`, how many came from each origin. Read from the raw rows' file lineage."""
    import polars as pl

    out = []
    for component, name, query in _SIGNAL_INPUTS:
        rows = wh.sql(f"select date, string_agg(distinct origin, ' + ' order by origin) as origin "
                      f"from ({query}) group by date order by date",
                      [as_of, preset] if "$2" in query else [as_of])
        tonight = rows.filter(pl.col("date") == as_of)["origin"]
        past = rows.filter(pl.col("date") < as_of).tail(window)
        counts = {o: int((past["origin"].str.contains(o, literal=True)).sum())
                  for o in ("history file", "chain", "drop file")}
        out.append({"component": component, "input": name,
                    "tonight": tonight[0] if tonight.len() else "missing",
                    "sessions": past.height, "first": past["date"].min() if past.height else None,
                    "history_file": counts["history file"], "chain": counts["chain"],
                    "drop_file": counts["drop file"]})
    return out
