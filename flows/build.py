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
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import console
from flows.audit import gate
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


def write_dated(wh: Warehouse, table: str, frame: pl.DataFrame, dates: Sequence[date],
                by: Sequence[str] = ("date",), date_col: str = "date") -> int:
    """Replace the partitions of `dates` in `table` with the frame's rows for those dates.

    Dates asked for but absent from the frame are emptied too, so a rebuild never leaves a stale row.
    """
    wanted = frame.filter(pl.col(date_col).is_in(list(dates)))
    with wh.transaction():
        wanted = gate(wh, table, wanted, dates, date_col)  # the table's contract (expectations/)
        wh.con.execute(f'delete from {table} where "{date_col}" in (select unnest(?::date[]))',
                       [list(dates)])
        return wh.append(table, wanted)


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
    """The per-day half of the gamma step: SPX quotes of some sessions (as stored in
    raw.option_quotes, ordered like `reads.option_quotes`) -> the four core.gamma tables for those
    sessions, MACD columns empty. Pure: a backfill worker runs it without the warehouse.
    `conventions` is a GammaConventions (use `gamma_conventions(settings)`) or a preset name."""
    from transforms.gamma import GammaConventions, gamma_tables

    if isinstance(conventions, str):
        conventions = GammaConventions.preset(conventions)
    return gamma_tables(quotes, conventions)


def write_gamma_partitions(wh: Warehouse, tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Replace the (date, underlying, preset) partitions of `tables` in one transaction."""
    with wh.transaction():
        return {table: wh.write(table, gate(wh, table, frame, by=GAMMA_KEYS), by=GAMMA_KEYS)
                for table, frame in tables.items()}


@task(name="build-gamma", cache_policy=NO_CACHE)
def build_gamma(wh: Warehouse, dates: list[date], settings: Settings,
                daily: bool = True) -> StepResult:
    """Gamma tables for `dates`, then the GEX MACD over the stored history.

    daily=False: the per-day partitions are already written (a backfill's workers computed them
    with `gamma_partitions`), so only the history-dependent MACD runs.
    """
    from transforms.gamma import add_gex_macd

    conventions = gamma_conventions(settings)
    counts: dict[str, int] = {}
    have = set(reads.quote_dates(wh, "SPX"))
    todo = [d for d in dates if d in have]
    for part in chunks(todo if daily else [], 10):
        tables = gamma_partitions(reads.option_quotes(wh, part, "SPX"), conventions)
        for table, n in write_gamma_partitions(wh, tables).items():
            counts[table] = counts.get(table, 0) + n
    if todo:
        # MACD over the stored daily net GEX up to the last day built (point in time).
        hist = wh.table("core.gamma_daily", "preset = ? and date <= ?",
                        [settings.gamma_preset, max(todo)], order_by="date")
        macd = add_gex_macd(hist).filter(pl.col("date").is_in(todo))
        n = wh.write("core.gamma_daily", gate(wh, "core.gamma_daily", macd, replace_quarantine=False),
                     by=GAMMA_KEYS)
        if not daily:
            counts["core.gamma_daily"] = n
    missing = len(dates) - len(todo)
    return StepResult("gamma", counts, f"{missing} session(s) without an SPX chain" if missing else "")


@task(name="build-market", cache_policy=NO_CACHE)
def build_market(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """Breadth, funding, volatility and macro tables over the stored history up to max(dates)."""
    from sources.calendar import sessions_between
    from transforms.breadth import breadth_daily
    from transforms.funding import funding_daily
    from transforms.macro import macro_daily, macro_event_study
    from transforms.vol import vol_daily

    end = max(dates)
    first_raw = wh.scalar("select min(date) from raw.index_bars") or min(dates)
    # The calendar runs past `end`: counting sessions to the next release needs the days ahead.
    sessions = sessions_between(first_raw, date(end.year + 1, 12, 31))
    past = [d for d in sessions if d <= end]
    bars = reads.history(wh, "raw.index_bars", end=end)
    funding_raw = wh.table("raw.funding_rates", "funding_ts < ?", [end + timedelta(days=1)],
                           order_by="venue, symbol, funding_ts")
    events = wh.table("raw.macro_events", order_by="date, event")
    series = reads.history(wh, "raw.macro_series", end=end)

    funding = funding_daily(funding_raw, past)
    tables = {
        "core.breadth_daily": breadth_daily(reads.history(wh, "raw.breadth", end=end), bars),
        "core.funding_daily": funding,
        "core.vol_daily": vol_daily(bars, reads.history(wh, "raw.vx_futures", end=end,
                                                        date_col="trade_date"), funding),
        "core.macro_daily": macro_daily(events, sessions),
        "core.macro_event_study": macro_event_study(events, series, funding, sessions=sessions),
    }
    counts = {t: write_dated(wh, t, f.filter(pl.col("date") <= end), dates) for t, f in tables.items()}
    return StepResult("market", counts)


@task(name="build-signals", cache_policy=NO_CACHE)
def build_signals(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.signals_daily and core.signal_evidence over the stored history up to max(dates)."""
    from transforms.evidence import signal_evidence
    from transforms.signals import SignalParams, signals_daily

    end = max(dates)
    params = SignalParams(gamma_preset=settings.gamma_preset)
    gamma = wh.table("core.gamma_daily", "underlying = ? and preset = ? and date <= ?",
                     [params.underlying, params.gamma_preset, end], order_by="date")
    funding = wh.table("core.funding_daily", "venue = ? and symbol = ? and date <= ?",
                       [params.funding_venue, params.funding_symbol, end], order_by="date")
    sig = signals_daily(gamma, funding, reads.history(wh, "core.breadth_daily", end=end),
                        reads.history(wh, "core.vol_daily", end=end),
                        reads.history(wh, "core.macro_daily", end=end), params)
    counts = {"core.signals_daily": write_dated(wh, "core.signals_daily", sig, dates),
              "core.signal_evidence": write_dated(wh, "core.signal_evidence", signal_evidence(sig, params),
                                                  dates, date_col="as_of")}
    return StepResult("signals", counts)


def _trust_verdict(res) -> tuple[bool, str]:
    ok, why = (res if isinstance(res, tuple) else (getattr(res, "trusted", res), getattr(res, "reason", "")))
    if isinstance(why, (list, tuple)):  # (ok, [reason, ...])
        why = "; ".join(map(str, why))
    return bool(ok), str(why or ("" if ok else "critical data-quality checks failed"))


def night_trust(wh: Warehouse, as_of: date) -> tuple[bool, str]:
    """The data-quality gate of the recommendations: `expectations.night_is_trusted(wh, as_of)`
    when the audit exposes it; until then, any failed critical row in audit.validations for the
    night. (False, reason) means: emit no recommendation from this night's data."""
    try:
        from expectations import night_is_trusted  # type: ignore[attr-defined]
    except ImportError:
        night_is_trusted = None
    if night_is_trusted is not None:
        return _trust_verdict(night_is_trusted(wh, as_of))
    bad = wh.sql("select table_name, expectation from audit.validations where as_of = ? and "
                 "severity = 'critical' and not success order by 1, 2", [as_of])
    if bad.is_empty():
        return True, ""
    names = ", ".join(f"{t}:{e}" for t, e in bad.unique().iter_rows())
    return False, f"{bad.height} critical check(s) failed: {names}"


def nights_trust(wh: Warehouse, dates: Sequence[date]) -> dict[date, tuple[bool, str]]:
    """`night_trust` for many nights, batched when the audit offers `nights_trusted`."""
    try:
        from expectations.trust import nights_trusted
    except ImportError:
        return {d: night_trust(wh, d) for d in dates}
    return {d: _trust_verdict(v) for d, v in nights_trusted(wh, dates).items()}


# raw.option_quotes columns the recommendation reads (the lineage and vendor extras it does not)
REC_QUOTE_COLUMNS = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid",
                     "ask", "iv", "delta", "expired")


def _by_day(frame: pl.DataFrame, col: str) -> dict[date, pl.DataFrame]:
    return {k[0]: v for k, v in frame.partition_by(col, as_dict=True, maintain_order=True).items()}


def replace_dated(wh: Warehouse, table: str, frame: pl.DataFrame, dates: Sequence[date],
                  date_col: str = "date") -> int:
    """write_dated without the contract: `frame` has been through `gate` already."""
    with wh.transaction():
        wh.con.execute(f'delete from {table} where "{date_col}" in (select unnest(?::date[]))',
                       [list(dates)])
        return wh.append(table, frame)


@task(name="build-recommendations", cache_policy=NO_CACHE)
def build_recommendations(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.recommendations, _legs and _payoff night by night (each night sees the previous one's
    row: size caps in an unwind, the widened condor carried for roll guidance).

    The nights are computed in memory, in order, from chains read a chunk of sessions at a time,
    and each table is gated and written once. A night's `prev` is the latest 'ok' row before it
    that the table would hold: stored rows of other sessions, or tonight's build's rows that pass
    the contract (a refused row is never a `prev`, as when the nights were written one by one)."""
    from transforms.alvh import AlvhParams, recommend

    params = AlvhParams()
    dates = sorted(set(dates))
    if not dates:
        return StepResult("alvh", {})
    sig = wh.table("core.signals_daily", "date in (select unnest(?::date[]))", [list(dates)])
    by_day = {r["date"]: r for r in sig.iter_rows(named=True)}
    trust = nights_trust(wh, dates)
    untrusted = [d for d in dates if not trust[d][0]]
    # the latest stored 'ok' row before each night, from sessions this build does not replace
    stored = wh.sql("select * from core.recommendations where as_of < ? and status = 'ok' and as_of "
                    "not in (select unnest(?::date[])) order by as_of", [dates[-1], list(dates)])
    stored_ok = list(stored.iter_rows(named=True))

    def nights(refused: frozenset[date]) -> list:
        recs = []
        built: dict | None = None  # the latest 'ok' row built so far (not refused)
        k = 0
        for part in chunks(dates, 20):
            spx = reads.option_chains(wh, "SPX", dates=part, columns=REC_QUOTE_COLUMNS)
            vix = reads.option_chains(wh, "VIX", dates=part, columns=REC_QUOTE_COLUMNS)
            vx = wh.table("raw.vx_futures", "trade_date in (select unnest(?::date[]))", [part])
            spx_d, vix_d, vx_d = _by_day(spx, "quote_date"), _by_day(vix, "quote_date"), _by_day(vx, "trade_date")
            for d in part:
                while k < len(stored_ok) and stored_ok[k]["as_of"] < d:
                    k += 1
                before = stored_ok[k - 1] if k else None
                prev = built if built is not None and (before is None or built["as_of"] > before["as_of"]) \
                    else before
                trusted, why = trust[d]
                rec = recommend(d, spx_d.get(d, spx.clear()), signals=by_day.get(d),
                                vix_quotes=vix_d.get(d, vix.clear()),
                                vx_futures=vx_d.get(d, vx.clear()), prev=prev, params=params,
                                trusted=trusted, untrusted_reason=why)
                recs.append(rec)
                row = rec.row if rec.summary.height else None
                if row is not None and row["status"] == "ok" and d not in refused:
                    built = row
        return recs

    counts: dict[str, int] = {}
    with wh.transaction():
        refused: frozenset[date] = frozenset()
        while True:
            recs = nights(refused)
            summary = pl.concat([r.summary for r in recs], how="vertical")
            good = gate(wh, "core.recommendations", summary, dates, "as_of")
            ok = set(summary.filter(pl.col("status") == "ok")["as_of"].to_list())
            now_refused = frozenset(ok - set(good["as_of"].to_list()))
            if now_refused == refused:
                break
            # rare: the contract refused an 'ok' row, which then cannot be a later night's prev.
            # Rebuild with exactly this pass's refusals: each pass settles at least the earliest
            # night where they changed, so this ends with the night-by-night result.
            refused = now_refused
        counts["core.recommendations"] = replace_dated(wh, "core.recommendations", good, dates, "as_of")
        for table, part in (("core.recommendation_legs", "legs"), ("core.recommendation_payoff", "payoff")):
            frame = pl.concat([getattr(r, part) for r in recs], how="vertical")
            counts[table] = write_dated(wh, table, frame, dates, date_col="as_of")
    note = f"untrusted, no recommendation: {', '.join(map(str, untrusted))}" if untrusted else ""
    return StepResult("alvh", counts, note)


@task(name="build-backtest", cache_policy=NO_CACHE)
def build_backtest(wh: Warehouse, dates: list[date], settings: Settings) -> StepResult:
    """core.backtest_trades / _daily: the books replayed over every stored session up to the last
    one built (rows for D only read data through D, so rewriting them is idempotent), and
    core.backtest_metrics for every stored session (recomputed whole on each build)."""
    from transforms.backtest import BacktestParams, Inputs, backtest, backtest_metrics

    params = BacktestParams()
    stored = wh.scalar("select max(date) from core.backtest_daily")
    end = max([*dates, *([stored] if stored else [])])
    cols = ("quote_date", "root", "expiry", "strike", "right", "underlying", "spot", "bid", "ask",
            "iv", "delta")
    quotes = {u: reads.option_chains(wh, u, end=end, columns=cols, where="expiry >= quote_date and "
                                     "expiry - quote_date <= ?", params=(dte,))
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
        wh.delete("core.backtest_daily", "date <= ?", [end])
        wh.delete("core.backtest_trades", "true")
        counts = {"core.backtest_daily": wh.append("core.backtest_daily", gate(wh, "core.backtest_daily", daily)),
                  "core.backtest_trades": wh.append("core.backtest_trades", gate(wh, "core.backtest_trades", trades)),
                  "core.backtest_metrics": write_dated(wh, "core.backtest_metrics", metrics,
                                                       sorted({*every, *dates}), date_col="as_of")}
    return StepResult("backtest", counts)


Step = Callable[..., StepResult]


def steps() -> list[tuple[str, Step]]:
    """Build steps in dependency order."""
    return [("gamma", build_gamma), ("market", build_market), ("signals", build_signals),
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
