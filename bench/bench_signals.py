"""Crowded-unwind signal on the sample market: timings of the pure transforms, and the measurement
of docs/alvh.md (mean score before the planted unwinds vs other sessions, hit rates).

Run: .venv/bin/python bench/bench_signals.py [--seed 7] [--start 2018-01-02] [--end 2023-12-29]
     [--workers 2] [--cache DIR]
The sample history is written in the real vendor formats, parsed by the real readers and built by
the real transforms (gamma from each day's simulated SPX chain), then signals_daily runs on it.
Nothing here is asserted; it prints numbers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.calendar import sessions_between  # noqa: E402
from sources.formats import parse_file  # noqa: E402
from transforms.breadth import breadth_daily  # noqa: E402
from transforms.evidence import signal_evidence  # noqa: E402
from transforms.funding import funding_daily  # noqa: E402
from transforms.gamma import add_gex_macd, gamma_tables  # noqa: E402
from transforms.macro import macro_daily  # noqa: E402
from transforms.signals import signals_daily  # noqa: E402
from transforms.vol import vol_daily  # noqa: E402

PRE_WINDOW = 10  # sessions before an unwind that count as "before"
THRESHOLDS = (40.0, 50.0, 60.0)


def _gamma_days(args: tuple[int, list[date]]) -> pl.DataFrame:
    from sources import cboe_chain
    from sources.sample import SampleMarket, chains

    seed, days = args
    m = SampleMarket(seed)
    out = []
    for d in days:
        q = cboe_chain.parse(chains.spx_chain(m, d).text().encode(), f"spx_{d}.csv").rows
        out.append(gamma_tables(q)["core.gamma_daily"])
    return pl.concat(out)


def gamma_history(seed: int, days: list[date], workers: int, cache: Path) -> pl.DataFrame:
    path = cache / f"gamma_daily_seed{seed}_{days[0]}_{days[-1]}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    t0 = time.perf_counter()
    chunks = [days[i:i + 40] for i in range(0, len(days), 40)]
    # spawn, not fork: a forked polars thread pool deadlocks
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_gamma_days, [(seed, c) for c in chunks]))
    g = add_gex_macd(pl.concat(parts).sort("date"))
    print(f"gamma for {len(days)} sessions: {time.perf_counter() - t0:.0f} s (cached in {path})")
    cache.mkdir(parents=True, exist_ok=True)
    g.write_parquet(path)
    return g


def market_tables(seed: int, start: date, end: date, cache: Path) -> dict[str, pl.DataFrame]:
    """Every raw table but the chains for [start, end], through the vendor files and readers."""
    from sources.sample import SampleMarket, write_bootstrap

    path = cache / f"raw_seed{seed}_{start}_{end}"
    if not path.exists():
        t0 = time.perf_counter()
        after = sessions_between(end + timedelta(days=1), end + timedelta(days=10))[0]
        years = (after - start).days / 365.25
        with tempfile.TemporaryDirectory() as tmp:
            files = write_bootstrap(SampleMarket(seed), after, Path(tmp), years=years)
            by_table: dict[str, list[pl.DataFrame]] = defaultdict(list)
            for f in files:
                parsed = parse_file(f)
                by_table[parsed.table].append(parsed.rows.drop("line", strict=False))
        path.mkdir(parents=True)
        for t, parts in by_table.items():
            pl.concat(parts, how="diagonal_relaxed").unique().write_parquet(path / f"{t}.parquet")
        print(f"sample vendor files {start}..{end}: {time.perf_counter() - t0:.0f} s")
    return {p.stem: pl.read_parquet(p) for p in path.glob("*.parquet")}


def _merge_breadth(b: pl.DataFrame) -> pl.DataFrame:
    """Unicorn-style files carry one column each: merge them into one row per exchange x date."""
    cols = [c for c in b.columns if c not in ("exchange", "date")]
    return b.group_by("exchange", "date").agg([pl.col(c).drop_nulls().first() for c in cols]).sort("date")


def build_inputs(seed: int, start: date, end: date, workers: int, cache: Path) -> dict[str, pl.DataFrame]:
    raw = market_tables(seed, start, end, cache)
    sessions = sessions_between(start, end)
    cal = sessions_between(start, date(end.year + 1, 12, 31))
    bars = raw["raw.index_bars"].filter(pl.col("date") <= end)
    fund = funding_daily(raw["raw.funding_rates"], sessions)
    return {
        "gamma": gamma_history(seed, sessions, workers, cache),
        "funding": fund,
        "breadth": breadth_daily(_merge_breadth(raw["raw.breadth"]).filter(pl.col("date") <= end), bars),
        "vol": vol_daily(bars, raw["raw.vx_futures"].filter(pl.col("trade_date") <= end), fund),
        "macro": macro_daily(raw["raw.macro_events"], cal),
    }


def measure(signals: pl.DataFrame, unwinds: list[date]) -> dict:
    s = signals.sort("date").with_row_index("i")
    idx = {d: i for i, d in zip(s["i"], s["date"], strict=True)}
    pre = np.zeros(s.height, dtype=bool)
    after = np.zeros(s.height, dtype=bool)
    for u in unwinds:
        if u in idx:
            i = idx[u]
            pre[max(0, i - PRE_WINDOW):i] = True
            after[i:i + 21] = True  # the unwind and its aftermath are neither "before" nor "calm"
    score = s["unwind_score"].to_numpy().astype(float)
    other = ~pre & ~after
    out = {"sessions": s.height, "unwinds": sum(u in idx for u in unwinds),
           "pre_sessions": int(pre.sum()), "other_sessions": int(other.sum()),
           "mean_pre": float(np.nanmean(score[pre])), "mean_other": float(np.nanmean(score[other])),
           "mean_not_pre": float(np.nanmean(score[~pre]))}
    conv = s["convergence"].to_numpy()
    out["convergence_pre"] = float(conv[pre].mean())
    out["convergence_other"] = float(conv[other].mean())
    for th in THRESHOLDS:
        hi = score >= th
        out[f"share_ge_{th:g}_pre"] = float(hi[pre].mean())
        out[f"share_ge_{th:g}_other"] = float(hi[other].mean())
        # unwinds with at least one session >= th in the 10 before (a warning was given)
        warned = [bool(hi[max(0, idx[u] - PRE_WINDOW):idx[u]].any()) for u in unwinds if u in idx]
        out[f"unwinds_warned_ge_{th:g}"] = float(np.mean(warned)) if warned else float("nan")
        # precision: sessions >= th (outside aftermaths) followed by an unwind within 10 sessions
        base = hi & ~after
        out[f"precision_ge_{th:g}"] = float(pre[base].mean()) if base.any() else float("nan")
    out["base_rate_pre"] = float(pre[~after].mean())
    comps = {c: (float(np.nanmean(s[f"{c}_score"].to_numpy().astype(float)[pre])),
                 float(np.nanmean(s[f"{c}_score"].to_numpy().astype(float)[other])))
             for c in ("gamma", "funding", "breadth", "volatility", "events")}
    out["components"] = comps
    reg = s["regime"].to_numpy()
    out["regime_pre"] = {r: float((reg[pre] == r).mean()) for r in ("calm", "crowded", "unwinding", "recovery")}
    out["regime_other"] = {r: float((reg[other] == r).mean()) for r in ("calm", "crowded", "unwinding", "recovery")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start", type=date.fromisoformat, default=date(2018, 1, 2))
    ap.add_argument("--end", type=date.fromisoformat, default=date(2023, 12, 29))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "alvh-bench-signals")
    a = ap.parse_args()
    from sources.sample import SampleMarket

    inp = build_inputs(a.seed, a.start, a.end, a.workers, a.cache)
    t0 = time.perf_counter()
    sig = signals_daily(inp["gamma"], inp["funding"], inp["breadth"], inp["vol"], inp["macro"])
    t1 = time.perf_counter()
    ev = signal_evidence(sig)
    t2 = time.perf_counter()
    print(f"signals_daily: {sig.height} rows in {t1 - t0:.2f} s; signal_evidence: {ev.height} rows "
          f"in {t2 - t1:.2f} s")
    sig = sig.filter(pl.col("date").is_between(a.start, a.end))
    unwinds = SampleMarket(a.seed).unwind_days(a.start, a.end)
    r = measure(sig, unwinds)
    print(f"\nseed {a.seed}, {a.start}..{a.end}: {r['sessions']} sessions, {r['unwinds']} planted unwinds "
          f"({', '.join(map(str, unwinds))})")
    print(f"mean unwind_score, {PRE_WINDOW} sessions before an unwind: {r['mean_pre']:.1f} "
          f"({r['pre_sessions']} sessions)")
    print(f"mean unwind_score, other sessions (excl. 20 after each unwind): {r['mean_other']:.1f} "
          f"({r['other_sessions']} sessions)")
    print(f"mean unwind_score, every session not in a 'before' window: {r['mean_not_pre']:.1f}")
    print(f"convergence flag on: before {100 * r['convergence_pre']:.1f} %, other {100 * r['convergence_other']:.1f} %")
    print(f"base rate (share of non-aftermath sessions that are 'before'): {100 * r['base_rate_pre']:.1f} %")
    print("threshold | share of 'before' sessions >= | share of other >= | unwinds warned | precision")
    for th in THRESHOLDS:
        print(f"  {th:>5g}   | {100 * r[f'share_ge_{th:g}_pre']:6.1f} % | {100 * r[f'share_ge_{th:g}_other']:6.1f} % "
              f"| {100 * r[f'unwinds_warned_ge_{th:g}']:6.1f} % | {100 * r[f'precision_ge_{th:g}']:6.1f} %")
    print("component sub-score (0-1): before vs other")
    for c, (pre, oth) in r["components"].items():
        print(f"  {c:<10} {pre:.2f} vs {oth:.2f}")
    print("regime share: before", {k: round(v, 2) for k, v in r["regime_pre"].items()})
    print("regime share: other ", {k: round(v, 2) for k, v in r["regime_other"].items()})
    last = ev.filter(pl.col("as_of") == ev["as_of"].max())
    print("\nevidence on the last night:")
    print(last.select("regime", "horizon_sessions", "n_obs", "fwd_rv_pct_mean", "max_drawdown_pct_mean",
                      "max_drawdown_pct_worst", "ic_hit_rate"))


if __name__ == "__main__":
    main()
