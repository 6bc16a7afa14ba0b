"""Vectorised number formatting for the vendor files, byte-stable across runs and platforms.

Numbers are first scaled to integers (cents, 1e-4 ...) with numpy, then printed with polars string
expressions, so no float repr ever reaches a file. No I/O here.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def scaled(x: np.ndarray, decimals: int) -> np.ndarray:
    """x rounded to `decimals` as an int64 count of 10**-decimals units (half away from zero)."""
    x = np.asarray(x, dtype=float) * 10**decimals
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def dec(col: str | pl.Expr, decimals: int, *, strip: bool = True) -> pl.Expr:
    """An Int64 column of 10**-decimals units printed as a decimal: 61380 (2) -> "613.8" (strip) or
    "613.80"; 0 -> "0" when stripping. Never prints "-0"."""
    e = pl.col(col) if isinstance(col, str) else col
    a = e.abs()
    unit = 10**decimals
    ip = (a // unit).cast(pl.String)
    fp = (a % unit).cast(pl.String).str.zfill(decimals)
    if strip:
        fp = fp.str.strip_chars_end("0")
        frac = pl.when(fp == "").then(pl.lit("")).otherwise(pl.concat_str([pl.lit("."), fp]))
    else:
        frac = pl.concat_str([pl.lit("."), fp])
    sign = pl.when(e < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, ip, frac])


def as_decimal(k: np.ndarray, decimals: int) -> np.ndarray:
    """Scaled ints back to the exact doubles k / 10**d. numpy divides element by element (correctly
    rounded); polars' `col / 100` multiplies by the reciprocal and prints 163.20000000000002."""
    return np.asarray(k, dtype=np.int64) / float(10**decimals)


def num(col: str | pl.Expr) -> pl.Expr:
    """Fast path of `dec(..., strip=True)` for a Float64 column made by `as_decimal`: polars'
    shortest round-trip formatter prints an exact k / 10**d double as the decimal itself ("613.8",
    "0.0001"); only "x.0" needs trimming. Scaled ints are never -0, so "-0" cannot appear."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.cast(pl.String).str.strip_suffix(".0")


def fixed(x: float, decimals: int) -> str:
    """One number with exactly `decimals` decimals (half away from zero), never "-0.00"."""
    v = int(scaled(np.array([x]), decimals)[0])
    s = "-" if v < 0 else ""
    v = abs(v)
    if decimals == 0:
        return f"{s}{v}"
    return f"{s}{v // 10**decimals}.{v % 10**decimals:0{decimals}d}"


def stripped(x: float, decimals: int) -> str:
    t = fixed(x, decimals)
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    return "0" if t in ("-0", "") else t


def lines(df: pl.DataFrame, cols: list[pl.Expr]) -> str:
    """Join expressions into comma-separated lines, one per row, each ending with a newline."""
    if df.height == 0:
        return ""
    out = df.select(pl.concat_str(cols, separator=",").alias("l")).select(pl.col("l").str.join("\n"))
    return out.item() + "\n"
