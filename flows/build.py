"""The `build` flow: raw tables -> core tables for a set of sessions, step by step.

Each step reads what it needs through warehouse/, calls pure transforms, and replaces the
partitions of the sessions asked for. Rolling figures are computed over history up to the last
session asked for, so a row for day D never depends on data after D.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from flows import console
from flows.engine import NO_CACHE, flow, task
from flows.gate import (
    judge,
    replace_all,
    replace_through,
    write_dated,
    write_judged,
    write_partitions,
)
from flows.settings import Settings, load_settings
from warehouse import reads
from warehouse.db import Warehouse


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: dict[str, int]
    note: str = ""


def chunks(items: Sequence[date], n: int) -> Iterator[list[date]]:
    for i in range(0, len(items), n):
        yield list(items[i:i + n])


# -- steps ---------------------------------------------------------------------------------------

GAMMA_KEYS = ("date", "underlying", "preset")


def gamma_conventions(settings: Settings):
    """The configured preset, completed with what only the flow knows: r, q and the half-days."""
    from sources.calendar import early_closes
    from transforms.gamma import GammaConventions

    conv = GammaConventions.preset(settings.gamma_preset)
    if conv.spot_gamma == "model" or conv.time_basis == "calendar_to_settlement":
        conv = conv.model_copy(update={"rate": settings.gamma_rate,
                                       "div_yield": settings.gamma_div_yield,
                                       "early_closes": early_closes()})
    return conv


def gamma_partitions(quotes: pl.DataFrame, conventions) -> dict[str, pl.DataFrame]:
    """The per-day half of the gamma step: option quotes of some sessions (as stored in
    raw.option_quotes, ordered like `reads.option_quotes`) -> the four core.gamma tables for those
    sessions, MACD columns empty. Pure: a backfill worker runs it without the warehouse.
    Each underlying is computed on its own rows alone (exactly what a one-underlying input gives,
    so SPX's tables do not depend on which other chains came in the drop); roots without dealer
    gamma conventions are left out (`gamma_left_out`).
    `conventions` is a GammaConventions (use `gamma_conventions(settings)`) or a preset name."""
    from transforms.gamma import GammaConventions, gamma_quotes, gamma_tables

    if isinstance(conventions, str):
        conventions = GammaConventions.preset(conventions)
    quotes = gamma_quotes(quotes)
    if quotes.is_empty() or "underlying" not in quotes.columns:
        return gamma_tables(quotes, conventions)
    parts = [gamma_tables(quotes.filter(pl.col("underlying") == u), conventions)
             for u in sorted(quotes["underlying"].unique().to_list())]
    if len(parts) == 1:
        return parts[0]
    return {name: pl.concat([p[name] for p in parts]) for name in parts[0]}


def gamma_left_out(roots: pl.DataFrame) -> str:
    """The build note for roots the gamma tables leave out for want of conventions, from a
    (root, underlying, rows) summary; VIX / VIXW (no dealer gamma by design, docs/gamma.md) say nothing."""
    from transforms.conventions import OPTION_ROOTS
    from transforms.gamma import unknown_roots

    unknown = unknown_roots(roots).filter(~pl.col("root").is_in(sorted(OPTION_ROOTS)))
    if unknown.is_empty():
        return ""
    listed = ", ".join(f"{r} ({n:,} rows)" for r, n in unknown.select("root", "rows").iter_rows())
    return (f"root(s) without dealer-gamma conventions left out of core.gamma_*: {listed}; add them "
            "to transforms/conventions.py OPTION_ROOTS")


def write_gamma_partitions(wh: Warehouse, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Replace the (date, underlying, preset) partitions of `tables` in one transaction."""
    with wh.transaction():
        return {table: write_partitions(wh, table, frame, GAMMA_KEYS) for table, frame in tables.items()}


def write_stored_gamma(wh: Warehouse, days: list[date], conventions) -> dict[str, int]:
    """The gamma partitions of `days` from raw.option_quotes, every underlying with dealer-gamma
    conventions, one underlying at a time (each read exactly as a one-underlying home stores it)."""
    from transforms.conventions import GAMMA_ROOTS

    roots = reads.option_roots(wh, days)
    counts: dict[str, int] = {}
    for und in sorted(set(roots.filter(pl.col("root").is_in(sorted(GAMMA_ROOTS)))["underlying"])):
        for table, n in write_gamma_partitions(
                wh, gamma_partitions(reads.option_quotes(wh, days, und), conventions)).items():
            counts[table] = counts.get(table, 0) + n
    return counts


@task(name="build-gamma", cache_policy=NO_CACHE)
def build_gamma(wh: Warehouse, dates: list[date], settings: Settings,
                daily: bool = True) -> StepResult:
    """Gamma tables for `dates`, then the GEX MACD over the stored history.

    daily=False: the per-day partitions are already written (a backfill's workers computed them
    with `gamma_partitions`), so only the history-dependent MACD runs.
    """
    from transforms.conventions import GAMMA_ROOTS
    from transforms.vendor_gex import gamma_with_vendor

    conventions = gamma_conventions(settings)
    counts: dict[str, int] = {}
    roots = reads.option_roots(wh, dates)  # (quote_date, root, underlying, rows) of the sessions
    known = roots.filter(pl.col("root").is_in(sorted(GAMMA_ROOTS)))
    todo = sorted(set(known["quote_date"].to_list()))
    for part in chunks(todo if daily else [], 10):
        for table, n in write_stored_gamma(wh, part, conventions).items():
            counts[table] = counts.get(table, 0) + n
    if todo:
        # MACD over the stored daily net GEX up to the last day built (point in time), the vendor's
        # GEX (raw.dix_gex, a history file) standing in on sessions without a chain.
        hist = gamma_with_vendor(reads.gamma_history(wh, settings.gamma_preset, max(todo)),
                                 reads.dix_gex(wh, max(todo)), preset=settings.gamma_preset)
        macd = hist.filter(pl.col("gex_source") == "chain", pl.col("date").is_in(todo)).drop("gex_source")
        n = write_partitions(wh, "core.gamma_daily", macd, GAMMA_KEYS, replace_quarantine=False,
                             prune=False)
        if not daily:
            counts["core.gamma_daily"] = n
    spx = set(known.filter(pl.col("underlying") == "SPX")["quote_date"].to_list())
    missing = len([d for d in dates if d not in spx])
    notes = [f"{missing} session(s) without an SPX chain" if missing else "",
             gamma_left_out(roots.group_by("root").agg(pl.col("underlying").first(), pl.col("rows").sum()))]
    return StepResult("gamma", counts, "; ".join(n for n in notes if n))


# raw.option_quotes columns core.parity_daily reads
PARITY_QUOTE_COLUMNS = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid", "ask",
                        "iv", "delta", "expired")


@task(name="build-options", cache_policy=NO_CACHE)
def build_options(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.parity_daily (put-call parity, implied forward/carry, extrinsic by tenor) for `dates`:
    each session from its own chain only."""
    from transforms.parity import parity_daily

    have = set(reads.quote_dates(wh, "SPX"))
    todo = [d for d in dates if d in have]
    n = 0
    for part in chunks(todo, 10):
        frame = parity_daily(reads.option_chains(wh, "SPX", dates=part, columns=PARITY_QUOTE_COLUMNS))
        n += write_dated(wh, "core.parity_daily", frame, part, date_col="quote_date")
    missing = len(dates) - len(todo)
    return StepResult("options", {"core.parity_daily": n},
                      f"{missing} session(s) without an SPX chain" if missing else "")


@task(name="build-market", cache_policy=NO_CACHE)
def build_market(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """Breadth, funding, volatility and macro tables over the stored history up to max(dates)."""
    from sources.calendar import sessions_between
    from transforms.breadth import breadth_daily
    from transforms.funding import funding_daily
    from transforms.macro import macro_daily, macro_event_study
    from transforms.pcf import pcf_daily
    from transforms.vol import vol_daily

    end = max(dates)
    first_raw = reads.first_date(wh, "raw.index_bars") or min(dates)
    # The calendar runs past `end`: counting sessions to the next release needs the days ahead.
    sessions = sessions_between(first_raw, date(end.year + 1, 12, 31))
    past = [d for d in sessions if d <= end]
    # Vendor rows on non-sessions (Cboe's VIX on some NYSE holidays) stay in raw; core ignores them.
    bars = reads.history(wh, "raw.index_bars", end=end).filter(pl.col("date").is_in(past))
    funding_raw = reads.funding_rates_before(wh, end + timedelta(days=1))
    events = reads.macro_events(wh)
    series = reads.history(wh, "raw.macro_series", end=end)

    # perp open interest and liquidations beside funding (transforms/perp_positioning.py)
    from transforms.perp_positioning import add_positioning, fill_funding_oi, positioning_daily
    have = set(wh.tables())
    oi_raw, liq_raw = (reads.perp_rows_before(wh, t, c, end + timedelta(days=1)) if t in have else None
                       for t, c in (("raw.perp_open_interest", "ts"), ("raw.perp_liquidations", "liq_ts")))
    funding = add_positioning(funding_daily(fill_funding_oi(funding_raw, oi_raw), past),
                              positioning_daily(oi_raw, liq_raw, past))
    tables = {
        "core.breadth_daily": breadth_daily(reads.history(wh, "raw.breadth", end=end), bars),
        "core.funding_daily": funding,
        "core.vol_daily": vol_daily(bars, reads.history(wh, "raw.vx_futures", end=end,
                                                        date_col="trade_date"), funding),
        "core.macro_daily": macro_daily(events, sessions),
        **({"core.pcf_daily": pcf_daily(reads.history(wh, "raw.constituent_fundamentals", end=end))}
           if "raw.constituent_fundamentals" in have else {}),
        "core.macro_event_study": macro_event_study(events, series, funding, sessions=sessions),
    }
    counts = {t: write_dated(wh, t, f.filter(pl.col("date") <= end), dates) for t, f in tables.items()}
    return StepResult("market", counts)


@task(name="build-signals", cache_policy=NO_CACHE)
def build_signals(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.signals_daily and core.signal_evidence over the stored history up to max(dates)."""
    from flows.strategy import load_strategy
    from transforms.evidence import signal_evidence
    from transforms.signals import signals_daily
    from transforms.vendor_gex import gamma_with_vendor

    end = max(dates)
    params = load_strategy(settings).signals  # alvh.toml [signals]; gamma preset of the run
    # chain rows, and the vendor's GEX (a history file) on sessions without a chain (docs/research.md)
    gamma = gamma_with_vendor(reads.gamma_history(wh, params.gamma_preset, end, underlying=params.underlying),
                              reads.dix_gex(wh, end), underlying=params.underlying, preset=params.gamma_preset)
    funding = reads.funding_daily(wh, params.funding_venue, params.funding_symbol, end)
    sig = signals_daily(gamma, funding, reads.history(wh, "core.breadth_daily", end=end),
                        reads.history(wh, "core.vol_daily", end=end),
                        reads.history(wh, "core.macro_daily", end=end), params)
    counts = {"core.signals_daily": write_dated(wh, "core.signals_daily", sig, dates),
              "core.signal_evidence": write_dated(wh, "core.signal_evidence", signal_evidence(sig, params),
                                                  dates, date_col="as_of")}
    return StepResult("signals", counts)


def _trust_verdict(ok: bool, reasons: list[str]) -> tuple[bool, str]:
    why = "; ".join(map(str, reasons))
    return bool(ok), why or ("" if ok else "critical data-quality checks failed")


def nights_trust(wh: Warehouse, dates: Sequence[date]) -> dict[date, tuple[bool, str]]:
    """The data-quality gate of the recommendations, per night: (True, "") or (False, why) - emit
    no recommendation from that night's data (`expectations.trust.nights_trusted`)."""
    from expectations.trust import nights_trusted

    return {d: _trust_verdict(*v) for d, v in nights_trusted(wh, dates).items()}


# raw.option_quotes columns the recommendation reads (the lineage and vendor extras it does not)
REC_QUOTE_COLUMNS = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid",
                     "ask", "iv", "delta", "expired")


def _by_day(frame: pl.DataFrame, col: str) -> dict[date, pl.DataFrame]:
    return {k[0]: v for k, v in frame.partition_by(col, as_dict=True, maintain_order=True).items()}


class StoredNights:
    """The nights' inputs read from the warehouse a chunk of sessions at a time (re-iterable: the
    recommendation reads them again if the contract refuses a row; chains of a year do not fit)."""

    def __init__(self, wh: Warehouse, dates: list[date], signals: dict[date, dict], chunk: int = 20):
        self.wh, self.dates, self.signals, self.chunk = wh, dates, signals, chunk

    def __iter__(self):
        from transforms.alvh_nights import NightInputs

        for part in chunks(self.dates, self.chunk):
            spx = reads.option_chains(self.wh, "SPX", dates=part, columns=REC_QUOTE_COLUMNS)
            vix = reads.option_chains(self.wh, "VIX", dates=part, columns=REC_QUOTE_COLUMNS)
            vx = reads.on_dates(self.wh, "raw.vx_futures", part, "trade_date")
            spx_d, vix_d, vx_d = _by_day(spx, "quote_date"), _by_day(vix, "quote_date"), _by_day(vx, "trade_date")
            for d in part:
                yield NightInputs(d, spx_d.get(d, spx.clear()), vix_d.get(d, vix.clear()),
                                  vx_d.get(d, vx.clear()), self.signals.get(d))


@task(name="build-recommendations", cache_policy=NO_CACHE)
def build_recommendations(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.recommendations, _legs and _payoff night by night (each night sees the previous one's
    row: size caps in an unwind, the widened condor carried for roll guidance).

    The nights are computed in memory, in order (transforms/alvh_nights.py), and each table is
    gated and written once. A night's `prev` is the latest 'ok' row before it that the table would
    hold: stored rows of other sessions, or tonight's build's rows that pass the contract."""
    from flows.strategy import load_strategy
    from transforms.alvh_nights import recommend_nights
    from transforms.parity import extrinsic_term

    params = load_strategy(settings).alvh  # alvh.toml [strategy], else the defaults
    dates = sorted(set(dates))
    if not dates:
        return StepResult("alvh", {})
    sig = reads.on_dates(wh, "core.signals_daily", dates)
    by_day = {r["date"]: r for r in sig.iter_rows(named=True)}
    # the roll rule's extrinsic term ratio (docs/options.md), merged into each night's signal row
    par = reads.on_dates(wh, "core.parity_daily", dates, date_col="quote_date")
    for (d,), night in par.partition_by("quote_date", as_dict=True).items():
        by_day[d] = {**(by_day.get(d) or {}), **extrinsic_term(night)}
    trust = nights_trust(wh, dates)
    untrusted = [d for d in dates if not trust[d][0]]
    # the latest stored 'ok' row before each night, from sessions this build does not replace
    stored_ok = list(reads.ok_recommendations(wh, dates[-1], dates).iter_rows(named=True))
    verdicts = []

    def accept(summary: pl.DataFrame) -> pl.DataFrame:  # the table's contract, nothing written yet
        verdicts.append(judge("core.recommendations", summary, dates, "as_of"))
        return verdicts[-1].good

    nights = recommend_nights(StoredNights(wh, dates, by_day),
                              stored_ok, trust, params, accept)
    counts: dict[str, int] = {}
    with wh.transaction():
        counts["core.recommendations"] = write_judged(wh, verdicts[-1], dates, "as_of")
        for table, part in (("core.recommendation_legs", "legs"), ("core.recommendation_payoff", "payoff")):
            counts[table] = write_dated(wh, table, nights.frame(part), dates, date_col="as_of")
    note = f"untrusted, no recommendation: {', '.join(map(str, untrusted))}" if untrusted else ""
    return StepResult("alvh", counts, note)


@task(name="build-backtest", cache_policy=NO_CACHE)
def build_backtest(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.backtest_trades / _daily: the books replayed over every stored session up to the last
    one built (rows for D only read data through D, so rewriting them is idempotent), and
    core.backtest_metrics for every stored session (recomputed whole on each build)."""
    from flows.strategy import load_strategy
    from transforms.backtest import Inputs, backtest, backtest_metrics

    params = load_strategy(settings).backtest  # alvh.toml [backtest] with [strategy] as its alvh
    stored = reads.last_date(wh, "core.backtest_daily")
    end = max([*dates, *([stored] if stored else [])])
    cols = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid", "ask",
            "iv", "delta")
    quotes = {u: reads.option_chains(wh, u, end=end, columns=cols, max_dte=dte)
              for u, dte in (("SPX", params.alvh.max_dte + 1), ("VIX", 150))}
    if quotes["SPX"].is_empty():
        return StepResult("backtest", {}, "no SPX chains stored")
    out = backtest(Inputs(
        spx_quotes=quotes["SPX"], vix_quotes=quotes["VIX"],
        vx_futures=reads.history(wh, "raw.vx_futures", end=end, date_col="trade_date"),
        index_bars=reads.index_bars(wh, ["SPX", "VIX"], end=end),
        signals=reads.history(wh, "core.signals_daily", end=end)), params)
    daily, trades = out["core.backtest_daily"], out["core.backtest_trades"]
    # every stored session, not only the nights asked for: the page, this table and the tearsheet
    # read the same rows, so a rebuild that moves a curve must move every night's statistics too
    every = sorted(set(daily["date"].to_list()))
    metrics = backtest_metrics(daily, trades, every, params)
    with wh.transaction():
        counts = {"core.backtest_daily": replace_through(wh, "core.backtest_daily", daily, end),
                  "core.backtest_trades": replace_all(wh, "core.backtest_trades", trades),
                  "core.backtest_metrics": write_dated(wh, "core.backtest_metrics", metrics,
                                                       sorted({*every, *dates}), date_col="as_of")}
    return StepResult("backtest", counts)


Step = Callable[..., StepResult]


def steps() -> list[tuple[str, Step]]:
    """Build steps in dependency order."""
    return [("gamma", build_gamma), ("options", build_options), ("market", build_market),
            ("signals", build_signals),
            ("alvh", build_recommendations), ("backtest", build_backtest)]


def build_sessions(wh: Warehouse, settings: Settings, dates: list[date], *,
                   show: bool = True, prebuilt: frozenset[str] = frozenset()) -> list[StepResult]:
    """Run every step for `dates` (inside a running flow).

    `prebuilt` names steps whose per-day partitions a backfill already wrote (today: "gamma");
    those steps run only their history-dependent part.
    """
    dates = sorted(set(dates))
    results = []
    for name, step in steps():
        res = step(wh, dates, settings, **({"daily": False} if name in prebuilt else {}))
        results.append(res)
        if show:
            rows = ", ".join(f"{t} {n:,}" for t, n in res.rows.items()) or "no rows"
            console.info(f"built {name:<10} {rows}{' (' + res.note + ')' if res.note else ''}")
    return results


@flow(name="build")
def build(dates: list[date], home: Path | None = None) -> list[StepResult]:
    """Rebuild core tables for the given sessions from the raw tables."""
    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        return build_sessions(wh, settings, dates)
