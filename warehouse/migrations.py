"""Column renames between versions of the warehouse, applied once to an existing home.

Holds the (table, old, new, scale) list and the function that applies it; must not hold DDL (that is
warehouse/ddl/) nor run on a home that already has the new names (every step is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rename:
    table: str
    old: str
    new: str
    scale: float | None = None  # multiply the stored values (a unit change), e.g. percent -> fraction


def _gex(table: str, *cols: tuple[str, str]) -> list[Rename]:
    return [Rename(table, old, new) for old, new in cols]


_GEX = (("call_gex_usd", "call_gex_usd_per_pct"), ("put_gex_usd", "put_gex_usd_per_pct"),
        ("net_gex_usd", "net_gex_usd_per_pct"))

# 0.2 (issue 18, "one vocabulary"): units said once and everywhere. GEX is USD per 1 % move; score
# points are `_score_pts`; vol points `_vol_pts`; days `_dte_days`; returns are fractions named `_ret`.
RENAMES: tuple[Rename, ...] = (
    Rename("core.gamma_daily", "spot_gex_usd", "net_gex_usd_per_pct"),
    Rename("core.gamma_daily", "call_gex_usd", "call_gex_usd_per_pct"),
    Rename("core.gamma_daily", "put_gex_usd", "put_gex_usd_per_pct"),
    Rename("core.gamma_daily", "gross_gex_usd", "gross_gex_usd_per_pct"),
    *_gex("core.gamma_by_strike", *_GEX),
    *_gex("core.gamma_by_expiry", *_GEX),
    *_gex("core.gamma_profile", *_GEX),
    Rename("core.signals_daily", "spot_gex_usd", "net_gex_usd_per_pct"),
    Rename("core.signals_daily", "gamma_pts", "gamma_score_pts"),
    Rename("core.signals_daily", "funding_pts", "funding_score_pts"),
    Rename("core.signals_daily", "breadth_pts", "breadth_score_pts"),
    Rename("core.signals_daily", "volatility_pts", "volatility_score_pts"),
    Rename("core.signals_daily", "events_pts", "events_score_pts"),
    Rename("core.signals_daily", "spx_ret_pct", "spx_ret", scale=0.01),
    Rename("core.signals_daily", "spx_ret5_pct", "spx_ret5", scale=0.01),
    Rename("core.vol_daily", "vx1_dte", "vx1_dte_days"),
    Rename("core.vol_daily", "vx2_dte", "vx2_dte_days"),
    Rename("core.vol_daily", "spx_rv10_pct", "spx_rv10_vol_pts"),
    Rename("core.vol_daily", "spx_rv20_pct", "spx_rv20_vol_pts"),
    Rename("core.vol_daily", "iv_rv_spread_pts", "iv_rv_spread_vol_pts"),
)


def pending(have: set[tuple[str, str]]) -> list[Rename]:
    """The renames a home with columns `have` ({(table, column)}) still needs."""
    return [r for r in RENAMES if (r.table, r.old) in have and (r.table, r.new) not in have]


def statements(r: Rename) -> list[str]:
    """SQL of one rename (and its unit change), for Warehouse.ensure_schema to run in a transaction."""
    out = [f'alter table {r.table} rename column "{r.old}" to "{r.new}"']
    if r.scale is not None:
        out.append(f'update {r.table} set "{r.new}" = "{r.new}" * {r.scale!r}')
    return out
