"""Number formatting for report pages: one formatter, the true minus sign, units traders read.

Formatting only: no number is computed here.
"""

from __future__ import annotations

import math

MINUS = "\u2212"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))


def _bn(v: float | None, digits: int = 2) -> str:
    """USD to a signed $bn string (−19.16 bn), the unit traders quote GEX in."""
    if _missing(v):
        return "–"
    return f"{v / 1e9:+,.{digits}f} bn".replace("-", MINUS)


def _num(v: float | None, digits: int = 2) -> str:
    if _missing(v):
        return "–"
    return f"{v:,.{digits}f}".replace("-", MINUS)


def _pct(v: float | None, digits: int = 1) -> str:
    if _missing(v):
        return "–"
    return f"{v * 100:+.{digits}f} %".replace("-", MINUS)


def fmt(v, kind: str = "num2") -> str:
    """One formatter for every number on a page. Kinds: bn (USD -> signed $bn), usd (whole USD),
    usd_signed, num0/num1/num2 (plain), signed1/signed2, pct (decimal -> signed %), pct_plain
    (decimal -> %), pctpts (already percent), pctpts_signed, bps, apr (decimal -> % a year),
    ratio (3 decimals), int, days, x (multiple)."""
    if _missing(v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if kind == "bn":
        return _bn(v)
    if kind == "usd":
        return f"${v:,.0f}".replace("$-", MINUS + "$")
    if kind == "usd_signed":
        return (f"+${v:,.0f}" if v >= 0 else f"{MINUS}${-v:,.0f}")
    if kind.startswith("num"):
        return _num(v, int(kind[3:] or 2))
    if kind.startswith("signed"):
        return f"{v:+,.{int(kind[6:] or 2)}f}".replace("-", MINUS)
    if kind == "pct":
        return _pct(v)
    if kind == "pct_plain":
        return f"{v * 100:.1f} %".replace("-", MINUS)
    if kind == "pctpts":
        return f"{v:.1f} %".replace("-", MINUS)
    if kind == "pctpts_signed":
        return f"{v:+.1f} %".replace("-", MINUS)
    if kind == "bps":
        return f"{v:+.1f} bps".replace("-", MINUS)
    if kind == "apr":
        return f"{v * 100:.1f} %".replace("-", MINUS)
    if kind == "ratio":
        return f"{v:.3f}"
    if kind == "int":
        return f"{int(v):,}".replace("-", MINUS)
    if kind == "days":
        return f"{int(v)} d"
    if kind == "x":
        return f"{v:.2f}×"
    return str(v)


def tone(v, *, good_when: str = "pos") -> str:
    """CSS class for a signed value: pos/neg colouring (or none for zero/missing)."""
    if _missing(v) or v == 0:
        return ""
    return ("pos" if v > 0 else "neg") if good_when == "pos" else ("neg" if v > 0 else "pos")
