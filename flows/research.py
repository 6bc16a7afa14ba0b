"""The `research` flow: real index history -> raw tables (readers, lineage) -> CNDR replica, the
ALVH and plain-condor books (the backtest engine on a surface-priced chain, the unwind score from
real inputs) and SPX -> research.* tables; CNDR tracking and the score's drawdown evidence printed.

Wiring only: readers in sources/, pricing and books in transforms/, storage through warehouse/.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from flows import console, gate
from flows.settings import Settings, load_settings
from transforms.backtest import BacktestParams
from transforms.evidence import drawdown_evidence
from transforms.research.alvh_book import SIGNAL_COLUMNS
from warehouse import reads
from warehouse.db import Warehouse

STRATEGIES = ("cndr_replica", "alvh", "plain_ic", "spx")
ENGINE_BOOKS = ("alvh", "plain_ic")  # transforms/backtest's books, run on the surface chain


@dataclass(frozen=True)
class ResearchResult:
    run_id: str
    rate_source: str
    sessions: int
    metrics: pl.DataFrame
    tracking: dict
    per_year: pl.DataFrame
    files_failed: tuple[str, ...] = ()
    coverage: pl.DataFrame | None = None  # per component: share of the run's sessions it is present
    evidence: pl.DataFrame | None = None  # research.drawdown_evidence rows
    episodes: pl.DataFrame | None = None  # research.drawdown_episodes rows


def land_history(wh: Warehouse, settings: Settings, history_dir: Path, show: bool = True) -> tuple[str, ...]:
    """Every file under `history_dir` through the readers into the raw tables (as `alvh ingest`
    does: landing copy, audit.files lineage, quarantine). Returns the one-line failures."""
    from flows.ingest import expand_paths, land_files, load_files
    from warehouse.files import batch_id_for

    # Notes beside the data (README.md, SHA256SUMS.txt) are not vendor files: left out, not failed.
    files = [f for f in expand_paths([history_dir]) if f.suffix.lower() not in (".md", ".txt")]
    landed = land_files.fn(files, settings.root)
    batch = batch_id_for([x.landed.file_id for x in landed], "research")
    summary = load_files.fn(wh, landed, settings.root, batch, force=False,
                            max_reject_ratio=settings.max_reject_ratio, show=show)
    return tuple(f.error or f.path for f in summary.failed)


def run_research(wh: Warehouse, settings: Settings, history_dir: Path, start: date, end: date, *,
                 strategies: tuple[str, ...] = STRATEGIES, show: bool = True) -> ResearchResult:
    from transforms import account
    from transforms.research import condor
    from transforms.research.market import market_frame, pick_tbill, tracking

    failed = land_history(wh, settings, history_dir, show=show)
    from transforms.research.market import spx_with_dix_closes

    bars = spx_with_dix_closes(reads.index_bars_until(wh, end), reads.dix_gex_until(wh, end))
    macro = reads.macro_series_all(wh)
    market, rate_source = market_frame(bars, start, end, pick_tbill(macro))
    if market.height == 0:
        raise ValueError(f"{history_dir}: no SPX session with a VIX close between {start} and {end} "
                         "(need SPX and VIX histories: e.g. stooq spx_d.csv and VIX_History.csv)")
    run_id = hashlib.sha256(f"{history_dir}|{start}|{end}|{','.join(strategies)}".encode()).hexdigest()[:16]

    curves: dict[str, pl.DataFrame] = {}
    capital: dict[str, float] = {}
    first_roll = None
    if "cndr_replica" in strategies:
        p = condor.CondorParams()
        daily, _ = condor.cndr_replica(market, p)
        if daily.height:
            first_roll = daily["date"][0]
            curves["cndr_replica"] = daily
            capital["cndr_replica"] = p.capital
    sig = real_signal_history(wh, bars, end)
    engine = [s for s in ENGINE_BOOKS if s in strategies]
    if engine:
        for name, d in engine_books(market, bars, sig, start, engine).items():
            curves[name], capital[name] = d, BacktestParams().capital_usd
    if "spx" in strategies:
        curves["spx"] = condor.spx_hold(market, 100.0, first_roll)
        capital["spx"] = 100.0
    cndr_levels = bars.filter(pl.col("symbol") == "CNDR", pl.col("date").is_between(start, end))
    if cndr_levels.height and "cndr_replica" in strategies:
        # Cboe's index itself, on the same account convention, from the replica's first roll
        curves["cndr"] = index_book(cndr_levels, first_roll or start)
        capital["cndr"] = 100.0

    daily_rows, metric_rows = [], []
    for name, d in curves.items():
        c = (account.equity_curve(d.select("date", "pnl"), capital[name]) if "daily_return" not in d.columns
             else d.select("date", "pnl", "equity", "daily_return", "drawdown"))
        c = c.join(d.select("date", "open_trades"), on="date")
        daily_rows.append(c.select(strategy=pl.lit(name), date="date", pnl="pnl", equity="equity",
                                   daily_return="daily_return", drawdown="drawdown",
                                   open_trades="open_trades", run_id=pl.lit(run_id)))
        s = account.stats(c, capital[name])
        metric_rows.append({"run_id": run_id, "strategy": name, "start_date": c["date"].min(),
                            "end_date": c["date"].max(), **s.as_dict(), "rate_source": rate_source,
                            "history_from": start, "history_to": end})
    metrics = pl.DataFrame(metric_rows)

    summary, per_year = {}, pl.DataFrame()
    cndr = bars.filter(pl.col("symbol") == "CNDR", pl.col("date").is_between(start, end))
    if "cndr_replica" in curves and cndr.height:
        rep = daily_rows[list(curves).index("cndr_replica")]
        summary, per_year = tracking(rep, cndr.select("date", "close"))

    sig_run = sig.filter(pl.col("date").is_between(start, end)) if sig.height else sig
    episodes, evidence = None, None
    if sig_run.height:
        episodes, evidence = drawdown_evidence(sig_run)
        evidence = pl.concat([evidence, drawdown_evidence(sig_run, score_col="unwind_score_raw")[1]])
    coverage = component_coverage(sig_run) if sig_run.height else None

    tracked = per_year.with_columns(run_id=pl.lit(run_id), benchmark=pl.lit("CNDR"),
                                    year=pl.col("year").cast(pl.Int32)) if per_year.height else None
    with wh.transaction():  # a run replaces its own rows (run_id names its inputs and strategies)
        gate.write_partitions(wh, "research.backtest_daily", pl.concat(daily_rows), by=["run_id"])
        gate.write_partitions(wh, "research.metrics", metrics, by=["run_id"])
        if tracked is not None:
            gate.write_partitions(wh, "research.tracking", tracked, by=["run_id"])
        if summary:
            gate.write_partitions(wh, "research.tracking_summary", pl.DataFrame([{
                "run_id": run_id, "benchmark": "CNDR", **summary}]), by=["run_id"])
        if coverage is not None:
            gate.write_partitions(wh, "research.coverage", coverage.with_columns(run_id=pl.lit(run_id)),
                                  by=["run_id"])
        if sig_run.height:
            gate.write_partitions(wh, "research.signals", sig_run.select(SIGNAL_COLUMNS)
                                  .with_columns(run_id=pl.lit(run_id)), by=["run_id"])
            gate.write_partitions(wh, "research.drawdown_episodes",
                                  episodes.with_columns(run_id=pl.lit(run_id)), by=["run_id"])
            gate.write_partitions(wh, "research.drawdown_evidence",
                                  evidence.with_columns(run_id=pl.lit(run_id)), by=["run_id"])
    return ResearchResult(run_id, rate_source, market.height, metrics, summary, per_year, failed,
                          coverage, evidence, episodes)


def index_book(levels: pl.DataFrame, start: date) -> pl.DataFrame:
    """A Cboe strategy index (date, close) as a book on a 100 account from `start`: equity is the
    rebased level (the index is already a total-return account)."""
    lv = levels.filter(pl.col("date") >= start).sort("date")
    eq = 100.0 * lv["close"] / lv["close"][0]
    return lv.select("date").with_columns(equity=eq, pnl=eq.diff().fill_null(0.0),
                                          open_trades=pl.lit(None, pl.Int64))


def real_signal_history(wh: Warehouse, bars: pl.DataFrame, end: date) -> pl.DataFrame:
    """core.signals_daily-shaped rows up to `end` from the real inputs in the warehouse: dealer
    gamma from SqueezeMetrics GEX (raw.dix_gex), the VIX term structure and SPX (raw.index_bars,
    raw.vx_futures when present), breadth (raw.breadth) and funding (raw.funding_rates) when their
    histories were landed. Whole history: z-scores and the regime machine run from the first row."""
    from transforms.breadth import breadth_daily
    from transforms.funding import funding_daily
    from transforms.research.alvh_book import real_signals
    from transforms.vol import vol_daily

    spx = bars.filter(pl.col("symbol") == "SPX").select("date", "close").sort("date")
    vx = reads.history(wh, "raw.vx_futures", end=end, date_col="trade_date")
    rf = reads.funding_until(wh, end)
    funding = funding_daily(rf, spx["date"]) if rf.height else None
    vol = vol_daily(bars.select("symbol", "date", "close"), vx, funding)
    rb = reads.breadth_until(wh, end)
    breadth = breadth_daily(rb, spx) if rb.height else None
    if funding is not None:
        funding = funding.filter(pl.col("date") <= end)
    return real_signals(reads.dix_gex_until(wh, end), vol.filter(pl.col("date") <= end), breadth, funding)


def engine_books(market: pl.DataFrame, bars: pl.DataFrame, sig: pl.DataFrame, start: date,
                 books: list[str]) -> dict[str, pl.DataFrame]:
    """transforms/backtest's books on the surface chain: per book a frame date, pnl, equity (USD),
    daily_return, drawdown, open_trades (the engine's account: fixed capital, idle cash at the
    T-bill rate)."""
    from datetime import timedelta

    from transforms.research.alvh_book import alvh_books

    p = BacktestParams(strategies=tuple(books))
    # settlement looks up expiry sessions: the run's window only (a century of SPX rows is slow)
    sb = bars.filter(pl.col("symbol").is_in(["SPX", "VIX"]), pl.col("date") >= start - timedelta(days=10))
    idle = dict(zip(market["date"].to_list(), market["rate"].to_list(), strict=True))
    out = alvh_books(market, sb, sig.filter(pl.col("date") >= start) if sig.height else None,
                     params=p, idle_rate=idle)
    res = {}
    for (name,), d in out["daily"].partition_by("strategy", as_dict=True).items():
        d = d.sort("date")
        res[name] = d.select("date", pnl=pl.col("book_value_usd").diff().fill_null(
            pl.col("book_value_usd").first() - p.capital_usd), equity="book_value_usd",
            daily_return="daily_return", drawdown="drawdown", open_trades="open_trades")
    return res


def component_coverage(sig: pl.DataFrame) -> pl.DataFrame:
    """Per score component: sessions of the run and the share on which it was present."""
    from transforms.signals import COMPONENTS

    n = sig.height
    return pl.DataFrame([{"component": c, "sessions": n,
                          "present_share": float(sig[f"{c}_score"].is_not_null().sum()) / n if n else None,
                          "first": sig.filter(pl.col(f"{c}_score").is_not_null())["date"].min()}
                         for c in COMPONENTS],
                        schema={"component": pl.String, "sessions": pl.Int64, "present_share": pl.Float64,
                                "first": pl.Date})


def _pct(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x * 100:.{nd}f}%"


def print_result(res: ResearchResult) -> None:
    console.info(f"research run {res.run_id}: {res.sessions:,} sessions; T-bill: {res.rate_source}")
    for r in res.metrics.iter_rows(named=True):
        console.info(f"  {r['strategy']:<13} {r['start_date']}..{r['end_date']}  CAGR {_pct(r['cagr'])}  "
                     f"vol {_pct(r['vol'])}  Sharpe {r['sharpe'] if r['sharpe'] is None else round(r['sharpe'], 2)}"
                     f"  maxDD {_pct(r['max_drawdown'])}" + (f"  ({r['notes']})" if r["notes"] else ""))
    t = res.tracking
    if not t:
        console.info("  CNDR tracking: no CNDR history in the folder for this period")
        return
    corr = "-" if t["monthly_corr"] is None else f"{t['monthly_corr']:.3f}"
    mad = "-" if t["annual_mad_pts"] is None else f"{t['annual_mad_pts']:.2f}"
    console.info(f"  CNDR tracking: monthly return correlation {corr} over {t['months']} months; "
                 f"annual returns: mean |diff| {mad} pts, {t['years_within_2pts']} of {t['years']} "
                 "years within 2 pts")
    console.info("  year   replica    CNDR    diff(pts)")
    for r in res.per_year.iter_rows(named=True):
        console.info(f"  {r['year']}  {_pct(r['replica']):>8} {_pct(r['index']):>8}  {r['diff_pts']:+7.2f}")


def print_evidence(res: ResearchResult) -> None:
    """The score's coverage and its drawdown evidence, in words."""
    if res.coverage is not None:
        parts = [f"{r['component']} {_pct(r['present_share'], 0)}" + (f" (from {r['first']})" if r["first"] else "")
                 for r in res.coverage.iter_rows(named=True)]
        console.info("  unwind score coverage (share of sessions each component is present): " + ", ".join(parts))
    if res.evidence is None or res.evidence.is_empty():
        console.info("  drawdown evidence: no score history for this period")
        return
    ev = {(r["score"], r["group"]): r for r in res.evidence.iter_rows(named=True)}

    def f(x, nd=1):
        return "-" if x is None else f"{x:.{nd}f}"
    for score in ("unwind_score", "unwind_score_raw"):
        pre, oth = ev[(score, "before_drawdown")], ev[(score, "other")]
        console.info(f"  drawdown evidence ({score}): {pre['episodes']} SPX drawdowns > 5 % within 10 sessions; "
                     f"score in the 10 sessions before them: mean {f(pre['score_mean'])}, median "
                     f"{f(pre['score_median'])}, >= 50 on {_pct(pre['share_elevated'], 0)} "
                     f"({pre['sessions_with_score']} sessions with a score); all other sessions: mean "
                     f"{f(oth['score_mean'])}, median {f(oth['score_median'])}, >= 50 on "
                     f"{_pct(oth['share_elevated'], 0)} ({oth['sessions_with_score']}); AUC {f(pre['auc'], 3)}")


def research(history_dir: Path, start: date, end: date, home: Path | None = None,
             strategies: tuple[str, ...] = STRATEGIES) -> ResearchResult:
    """Open the warehouse, run, print (the CLI entry; no Prefect run: a research command)."""
    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        res = run_research(wh, settings, history_dir, start, end, strategies=strategies)
        from reports.research import render_research

        page = render_research(wh, settings.reports, res.run_id)
    print_result(res)
    print_evidence(res)
    if page is not None:
        console.info(f"report: {page}")
    return res


# -- the surface's calibration on real chains (docs/research.md) ----------------------------------

def _history_closes(history_dir: Path) -> pl.DataFrame:
    """Wide frame date, vix9d, vix, vix3m, vix6m, skew from the Cboe files under `history_dir`
    (read with the readers, no warehouse). A symbol found in several files keeps the newest file's
    rows per date (the later download: Cboe revises)."""
    from sources.base import SourceError
    from sources.formats import parse_file
    from transforms.research.market import SURFACE_SYMBOLS

    parts = []
    for p in sorted(Path(history_dir).rglob("*_History.csv")):
        try:
            parsed = parse_file(p)
        except SourceError:
            continue
        sym = parsed.meta.get("symbol")
        if sym in SURFACE_SYMBOLS and parsed.fatal is None:
            parts.append(parsed.rows.select("date", "close").with_columns(
                col=pl.lit(SURFACE_SYMBOLS[sym]), last=pl.lit(parsed.rows["date"].max())))
    if not parts:
        raise ValueError(f"{history_dir}: no VIX-family or SKEW *_History.csv file")
    long = pl.concat(parts).sort("last").unique(["col", "date"], keep="last")
    return long.pivot(on="col", index="date", values="close").sort("date")


def surface_calibration(fit_chains: list[Path], check_chains: list[Path], history_dir: Path,
                        fit_until: date | None = None, call_wing: bool = False) -> dict:
    """Fit the surface's parameters (a, b, d and, with call_wing, the call wing's c) on the SPX
    chains of `fit_chains` quoted up to `fit_until`; report IV and CNDR-leg errors in and out of
    sample (every other chain)."""
    import numpy as np

    from flows.ingest import expand_paths
    from sources.formats import parse_file
    from transforms import surface as sf

    closes = _history_closes(history_dir)
    obs, split = [], {}
    for group, paths in (("fit", fit_chains), ("check", check_chains)):
        for p in expand_paths(paths):
            if p.suffix.lower() != ".csv":
                continue
            parsed = parse_file(p)
            if parsed.table != "raw.option_quotes" or "SPX" not in parsed.meta.get("underlyings", ["SPX"]):
                continue
            d = parsed.meta.get("quote_date") or parsed.rows["quote_date"][0]
            o = sf.chain_observations(parsed.rows)
            row = sf.vix_row(closes, d)
            o = o.with_columns(**{k: pl.lit(v, pl.Float64) for k, v in row.items()}, file=pl.lit(p.name))
            split[p.name] = "in" if group == "fit" and (fit_until is None or d <= fit_until) else "out"
            obs.append(o)
    allobs = pl.concat(obs).with_columns(sample=pl.col("file").replace_strict(split))
    usable = allobs.filter(pl.col("delta").abs() >= 0.02)  # the fit skips the far wings' noise
    params = sf.fit_params(usable.filter(pl.col("sample") == "in"), sf.SurfaceParams(1 / 6, 0.02, 1.0),
                           call_wing=call_wing)
    per_chain = []
    legs = []
    for f, s in split.items():
        o = usable.filter(pl.col("file") == f)
        if o.is_empty():
            per_chain.append({"file": f, "sample": s, "quote_date": None, "n": 0, "bias_pts": None,
                              "rmse_pts": None})
            continue
        e = sf.iv_errors(o, params).row(0, named=True)
        per_chain.append({"file": f, "sample": s, **e})
        row = o.row(0, named=True)
        le = sf.leg_errors(allobs.filter(pl.col("file") == f), {k: row[k] for k in sf.VIX_TENORS},
                           row["skew"], params)
        if le.height:
            legs.append(le.with_columns(sample=pl.lit(s), file=pl.lit(f)))
    chains = pl.DataFrame(per_chain)
    leg = pl.concat(legs) if legs else pl.DataFrame()
    out = {"params": params, "chains": chains, "legs": leg}
    if leg.height:
        leg = leg.with_columns(err=pl.col("model_premium") - pl.col("market_mid"),
                               iv_err=(pl.col("model_iv") - pl.col("market_iv")) * 100)
        out["leg_summary"] = leg.group_by("sample", "leg").agg(
            n=pl.len(), premium_mae_pts=pl.col("err").abs().mean(),
            premium_mape_pct=(pl.col("err").abs() / pl.col("market_mid")).mean() * 100,
            iv_mae_pts=pl.col("iv_err").abs().mean()).sort("sample", "leg")
        sign = pl.when(pl.col("leg").str.starts_with("short")).then(1.0).otherwise(-1.0)
        cr = leg.group_by("sample", "file").agg(n=pl.len(), market=(sign * pl.col("market_mid")).sum(),
                                                model=(sign * pl.col("model_premium")).sum())
        out["credit"] = cr.filter(pl.col("n") == 4).with_columns(
            err_pct=(pl.col("model") / pl.col("market") - 1) * 100).sort("sample", "file")
    for s in ("in", "out"):
        o = usable.filter(pl.col("sample") == s)
        if o.height:
            err = (sf.model_iv(o, params) - o["iv"].to_numpy()) * 100
            out[f"iv_rmse_{s}"] = float(np.sqrt(np.mean(err ** 2)))
    return out


def print_calibration(res: dict) -> None:
    p = res["params"]
    console.info(f"surface fit: a={p.a} b={p.b} d={p.d} c={p.c}; IV RMSE in-sample "
                 f"{res.get('iv_rmse_in', float('nan')):.2f} vol pts, out-of-sample "
                 f"{res.get('iv_rmse_out', float('nan')):.2f} vol pts")
    with pl.Config(tbl_rows=50, tbl_cols=12, tbl_width_chars=160, float_precision=2):
        console.info(str(res["chains"]))
        if "leg_summary" in res:
            console.info(str(res["leg_summary"]))
            console.info(str(res["credit"]))


# -- cold start: seed a home from a history folder (docs/research.md "Cold start") ----------------

# Steps that seeding runs over the seeded sessions: the per-session chain tables where the folder
# holds chains (DataShop archives), and the history-dependent market and signal tables. The
# recommendation and the backtest start with the first night (they need tonight's chain).
SEED_STEPS = ("gamma", "options", "market", "signals")
# raw.index_bars symbols whose closes make a session worth building (with a vendor GEX row: the
# sessions core.signals_daily has a row for)
SEED_SYMBOLS = ["SPX", "VIX"]


@dataclass(frozen=True)
class SeedResult:
    folder: Path
    files: int
    loaded: int  # files whose rows were new to the warehouse
    failed: tuple[str, ...]  # one line per file that could not be read
    sessions: tuple[date, ...]  # sessions built into the core tables

    @property
    def nothing_to_do(self) -> bool:
        return not self.loaded and not self.sessions and not self.failed

    def line(self) -> str:
        if self.nothing_to_do:
            return f"seed {self.folder}: nothing to do ({self.files} files already landed, sessions built)"
        span = f"{self.sessions[0]}..{self.sessions[-1]}" if self.sessions else "none"
        bad = f", {len(self.failed)} failed" if self.failed else ""
        return (f"seed {self.folder}: {self.files} files ({self.loaded} new{bad}); built "
                f"{len(self.sessions):,} sessions ({span})")


def history_files(history_dir: Path) -> list[Path]:
    """The vendor files of a history folder (notes beside the data, README.md or SHA256SUMS.txt,
    are left out, not failed)."""
    from flows.ingest import expand_paths

    return [f for f in expand_paths([history_dir]) if f.suffix.lower() not in (".md", ".txt")]


def seed_home(wh: Warehouse, settings: Settings, history_dir: Path, *, until: date | None = None,
              years: float | None = None, show: bool = True) -> SeedResult:
    """Land every file of `history_dir` through the normal ingest (landing copy, contracts,
    plausibility, quarantine, lineage; provenance {"history": true}) and build the core tables of
    the sessions before `until` (default: through the folder's last SPX/VIX close or vendor GEX)
    over the last `years` (settings.history_years). Idempotent: known files are not loaded again,
    and only the sessions after the window's last core.signals_daily row are built - unless new
    rows landed, which rebuilds the window (a later download of a file may extend or revise it).
    A session that gives no signal row (its rows refused by a contract) is not tried again."""
    from flows.build import steps
    from flows.ingest import ingest_paths
    from sources import calendar
    from sources.live.run import manifest_provenance

    history_dir = Path(history_dir).expanduser()
    if not history_dir.is_dir():
        raise FileNotFoundError(f"{history_dir}: no such history folder")
    files = history_files(history_dir)
    fetched = manifest_provenance(history_dir)  # `alvh fetch --history`: source URL, fetched_at
    prov = {str(f): {**fetched.get(str(f), {}), "history": True, "history_dir": str(history_dir)}
            for f in files}
    ing = ingest_paths(wh, settings, files, label="seed", provenance=prov, show=show,
                       not_after=until)
    loaded = sum(1 for f in ing.files if f.status in ("loaded", "loaded_with_rejects"))
    failed = tuple(f.error or f.path for f in ing.failed)

    end = calendar.previous_session(until) if until else date.max
    last = max([*reads.index_bar_dates(wh, SEED_SYMBOLS, date.min, end),
                *reads.dated(wh, "raw.dix_gex", date.min, end)], default=None)
    if last is None:
        return SeedResult(history_dir, len(files), loaded, failed, ())
    first = date.fromordinal(last.toordinal() - round(365.25 * (years or settings.history_years)))
    window = sorted({*reads.index_bar_dates(wh, SEED_SYMBOLS, first, last),
                     *reads.dated(wh, "raw.dix_gex", first, last)} & set(calendar.sessions_between(first, last)))
    built = reads.dated(wh, "core.signals_daily", first, last)
    todo = window if loaded or not built else [d for d in window if d > max(built)]
    if todo:
        for name, step in steps():
            if name in SEED_STEPS:
                res = step(wh, todo, settings)
                if show:
                    rows = ", ".join(f"{t} {n:,}" for t, n in res.rows.items()) or "no rows"
                    console.info(f"seeded {name:<8} {rows}{' (' + res.note + ')' if res.note else ''}")
    out = SeedResult(history_dir, len(files), loaded, failed, tuple(todo))
    if show:
        (console.warn if failed else console.info)(out.line())
    return out


def seed(history_dir: Path, home: Path | None = None, years: float | None = None) -> SeedResult:
    """`alvh research --seed-home`: open the warehouse and seed it (no Prefect run)."""
    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        return seed_home(wh, settings, history_dir, years=years)
