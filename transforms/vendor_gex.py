"""Dealer-gamma history for the signals and the GEX MACD: chain-built core.gamma_daily rows, completed
by the vendor's daily GEX (SqueezeMetrics DIX.csv, raw.dix_gex) on sessions without a chain.

Pure polars; no I/O. A session with a chain keeps its chain row: the vendor's figure never replaces it.
"""

from __future__ import annotations

import polars as pl

from transforms.gamma import add_gex_macd

# SqueezeMetrics' GEX is the S&P 500's: it stands in for SPX dealer gamma only.
VENDOR_UNDERLYINGS = ("SPX",)
CHAIN, HISTORY = "chain", "history file"


def gamma_with_vendor(chain: pl.DataFrame, dix: pl.DataFrame | None, *, underlying: str = "SPX",
                      preset: str = "default") -> pl.DataFrame:
    """core.gamma_daily rows (any underlyings, one preset) plus one row per raw.dix_gex session that
    has no `underlying` chain row: date, underlying, preset, spot (the vendor's S&P 500 close),
    net_gex_usd_per_pct (the vendor's GEX, same unit and sign: USD per 1 % move, dealers long calls
    and short puts), other chain columns null. `gex_source` says which ("chain" / "history file").
    The GEX MACD is recomputed over the union (point in time: a row uses rows <= its date only).

        chain: 2022-02-04 SPX net 1.2e9          dix: 2022-02-03 gex 3.1e9, 2022-02-04 gex 2.9e9
        ->     2022-02-03 SPX 3.1e9 history file;  2022-02-04 SPX 1.2e9 chain
    """
    out = chain.with_columns(gex_source=pl.lit(CHAIN))
    if dix is not None and not dix.is_empty() and underlying in VENDOR_UNDERLYINGS:
        have = (out.filter(pl.col("underlying") == underlying)["date"] if "underlying" in out.columns
                else out["date"]) if out.height else pl.Series("date", [], pl.Date)
        vendor = (dix.filter(pl.col("gex_usd").is_not_null() & pl.col("gex_usd").is_finite()
                             & ~pl.col("date").is_in(have.implode()))
                  .unique("date", keep="last")
                  .select("date", underlying=pl.lit(underlying), preset=pl.lit(preset),
                          spot=pl.col("price").cast(pl.Float64),
                          net_gex_usd_per_pct=pl.col("gex_usd").cast(pl.Float64),
                          gex_source=pl.lit(HISTORY)))
        out = pl.concat([out, vendor], how="diagonal_relaxed") if out.width > 1 else vendor
    if out.is_empty():
        return out
    return add_gex_macd(out).sort([c for c in ("underlying", "preset", "date") if c in out.columns])
