"""Gamma engine benchmark: profile + exact zero-gamma flip on a real SPX chain versus a plain numpy
broadcast, then gamma_tables throughput and peak memory over ~50 chains. Prints numbers only.

Run: .venv/bin/python bench/bench_gamma.py [path/to/spx_2022-02-05.csv]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources.formats import parse_file  # noqa: E402
from transforms.gamma import GammaConventions, exposure_rows, gamma_tables, profile_and_flips  # noqa: E402

REALDATA = Path(os.environ.get("ALVH_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata"))
CHAIN = REALDATA / "cboe_chains" / "spx_2022-02-05.csv"
N_CHAINS = 50


def timeit(fn, repeat: int = 40) -> tuple[float, object, float]:
    """(median, last result, best) wall time: the median is the number; the best shows how much a
    busy machine inflated it."""
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out, min(times)


def naive_broadcast(k, t, iv, oi, sign, spot, n_levels=60):
    """The straightforward version: BS gamma for every (level, row), summed; first sign change by
    linear interpolation on the grid (the README's 60-point 'coarse' value)."""
    levels = np.linspace(0.8 * spot, 1.2 * spot, n_levels)
    with np.errstate(all="ignore"):
        d1 = (np.log(levels[:, None] / k[None, :]) + 0.5 * iv ** 2 * t) / (iv * np.sqrt(t))
        g = np.exp(-0.5 * d1 ** 2) / np.sqrt(2 * np.pi) / (levels[:, None] * iv * np.sqrt(t))
    g = np.where((iv > 0) & (t > 0), g, 0.0)
    profile = (g * oi * sign * 100 * 0.01).sum(axis=1) * levels ** 2
    i = np.flatnonzero(np.sign(profile[:-1]) != np.sign(profile[1:]))
    if i.size == 0:
        return None
    i = i[0]
    return levels[i] - profile[i] * (levels[i + 1] - levels[i]) / (profile[i + 1] - profile[i])


def synthetic_chains(base: pl.DataFrame, n: int, seed: int = 11) -> pl.DataFrame:
    """n chains from one real chain: each a later business day with spot, OI and IV perturbed."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        shift = timedelta(days=7 * (i // 5) + i % 5)  # Fri + i business days (Mon-Fri)
        h = base.height
        frames.append(base.with_columns(
            quote_date=pl.col("quote_date") + shift,
            quote_ts=pl.col("quote_ts") + shift,
            expiry=pl.col("expiry") + shift,
            spot=pl.col("spot") * float(np.exp(rng.normal(0, 0.01) + 0.001 * i)),
            open_interest=(pl.col("open_interest") * pl.Series(rng.lognormal(0, 0.2, h))).round().cast(pl.Int64),
            iv=pl.col("iv") * pl.Series(np.exp(rng.normal(0, 0.05, h))),
        ))
    return pl.concat(frames)


def compare_profile(quotes: pl.DataFrame, spot: float, conv: GammaConventions) -> None:
    r = exposure_rows(quotes, conv).filter(~pl.col("excluded"))
    k, t, iv = r["strike"].to_numpy(), r["t_years"].to_numpy(), r["iv_used"].to_numpy()
    oi, sign = r["open_interest"].to_numpy().astype(float), r["dealer_sign"].to_numpy()
    call = r["is_call"].to_numpy()
    t_naive, coarse, b_naive = timeit(lambda: naive_broadcast(k, t, iv, oi, sign, spot))
    t_ours, res, b_ours = timeit(lambda: profile_and_flips(k, t, iv, sign * oi, call, spot, conv))
    flips = ", ".join(f"{f:.4f}" for f in res[3]) or "none"
    print(f"[{conv.name}] naive numpy broadcast, 60 levels + linear flip: {t_naive * 1e3:7.2f} ms "
          f"median, {b_naive * 1e3:6.2f} best (flip {coarse if coarse is None else round(coarse, 2)})")
    print(f"[{conv.name}] ours: {conv.grid_points} levels + exact Brent flip(s):      "
          f"{t_ours * 1e3:7.2f} ms median, {b_ours * 1e3:6.2f} best (flips {flips}) -> "
          f"{t_ours / t_naive:.0%} of the naive time")


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CHAIN
    if not path.exists():
        print(f"skip: {path} not found (set ALVH_REALDATA)")
        return
    quotes = parse_file(path).rows
    spot = float(quotes["spot"][0])
    print(f"chain {path.name}: {quotes.height:,} rows, spot {spot}")

    # -- 1. profile + flip from the same prepared arrays -------------------------------------------
    for preset in ("perfiliev", "default"):
        compare_profile(quotes, spot, GammaConventions.preset(preset))

    # -- 2. end to end on one chain -----------------------------------------------------------------
    for preset in ("perfiliev", "default"):
        t_one, _, _ = timeit(lambda p=preset: gamma_tables(quotes, p), repeat=10)
        print(f"[{preset}] gamma_tables, one chain end to end: {t_one * 1e3:.1f} ms "
              f"({quotes.height / t_one:,.0f} rows/s)")

    # -- 3. many chains at once, each run in a fresh process so its peak RSS is its own ------------
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for preset, batch in (("perfiliev", 250_000), ("default", 250_000), ("default", 10**9)):
        subprocess.run([sys.executable, __file__, "--many", preset, str(batch), str(path)], check=True)


def many_chains(preset: str, batch_rows: int, path: Path) -> None:
    many = synthetic_chains(parse_file(path).rows, N_CHAINS)
    rss_before = rss_peak_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = gamma_tables(many, preset, batch_rows=batch_rows)
    elapsed = time.perf_counter() - t0
    _, np_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    daily = out["core.gamma_daily"]
    batches = "unbatched" if batch_rows >= many.height else f"batches of ~{batch_rows:,} rows"
    print(f"[{preset}] gamma_tables over {N_CHAINS} synthetic chains ({many.height:,} rows, "
          f"{batches}): {elapsed:.2f} s, {many.height / elapsed:,.0f} rows/s, "
          f"{elapsed / daily.height * 1e3:.1f} ms/chain; peak RSS {rss_peak_mb():.0f} MB "
          f"(+{rss_peak_mb() - rss_before:.0f} MB over the loaded input), numpy peak "
          f"{np_peak / 2**20:.0f} MB; flips on {daily['zero_gamma'].is_not_null().sum()}/{daily.height} dates")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--many":
        many_chains(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
