"""One vocabulary for transforms/: regimes, the table of option roots (underlying, multiplier, AM/PM
settlement, exercise), contract multipliers, default rates, and the one time-to-settlement function.

Constants and one pure polars expression only; no I/O, no logic that belongs to a table.
Where two callers used different values they keep them under distinct names (see each comment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # polars loads in t_years: every `alvh` command reads the rates below (flows/
    # settings.py), and `alvh status` needs no polars
    import polars as pl

# -- regimes of the crowded-unwind state machine (transforms/signals.py, docs/alvh.md)
REGIMES: tuple[str, ...] = ("calm", "crowded", "unwinding", "recovery")

# -- option roots: ONE table of contract conventions (the dealer-gamma tables, `alvh gex`, docs/gamma.md).
# settle: "AM" = on the special opening quotation (SOQ / VRO) of the expiry day, "PM" = at the close.
# exercise: American-style ETF options are still given Black-Scholes (European) greeks in the gamma
# tables: the industry convention for GEX (SqueezeMetrics, SpotGamma, Perfiliev). The early-exercise
# premium of a call on a low-yield ETF is ~0; a put's matters mostly deep in the money, where gamma is
# small (not measured: no American pricer in the stack).
# dealer_gamma: False for options on the VIX: they price off the VX future of their expiry, not the
# spot index, so gamma x S^2 on the VIX print is not what dealers hedge (they stay out of core.gamma_*).


@dataclass(frozen=True)
class RootConvention:
    underlying: str                                   # what core.gamma_* key the root's rows under
    kind: Literal["index", "etf", "vol_index"]
    settlement: Literal["cash", "physical"]
    settle: Literal["AM", "PM"]
    exercise: Literal["european", "american"]
    multiplier: float                                 # USD per point of the underlying per contract
    dealer_gamma: bool = True


def _index(und: str, settle: Literal["AM", "PM"]) -> RootConvention:
    return RootConvention(und, "index", "cash", settle, "european", 100.0)


def _etf(und: str) -> RootConvention:
    return RootConvention(und, "etf", "physical", "PM", "american", 100.0)


OPTION_ROOTS: dict[str, RootConvention] = {
    # S&P 500: AM-settled 3rd-Friday monthlies (root SPX) and PM weeklies / dailies (SPXW)
    "SPX": _index("SPX", "AM"), "SPXW": _index("SPX", "PM"), "SPXPM": _index("SPX", "PM"),
    "XSP": _index("XSP", "PM"),                       # mini-SPX (1/10), cash, European, PM
    "NDX": _index("NDX", "AM"), "NDXP": _index("NDX", "PM"),
    "RUT": _index("RUT", "AM"), "RUTW": _index("RUT", "PM"),
    "DJX": _index("DJX", "AM"),
    "SPY": _etf("SPY"), "QQQ": _etf("QQQ"), "IWM": _etf("IWM"), "DIA": _etf("DIA"),
    "VIX": RootConvention("VIX", "vol_index", "cash", "AM", "european", 100.0, dealer_gamma=False),
    "VIXW": RootConvention("VIX", "vol_index", "cash", "AM", "european", 100.0, dealer_gamma=False),
}
# Roots settled on the opening print, from the table. The dealer-gamma tables
# (GammaConventions.am_settled_roots default) use every one of them.
AM_SETTLED_INDEX_ROOTS: frozenset[str] = frozenset(r for r, c in OPTION_ROOTS.items() if c.settle == "AM")
# Roots whose rows feed core.gamma_* (the others: a finding, see transforms.gamma.unknown_roots).
GAMMA_ROOTS: frozenset[str] = frozenset(r for r, c in OPTION_ROOTS.items() if c.dealer_gamma)
# The ALVH engine's t_years and the backtest's settlement use the narrower set they were written
# with (VIXW counted PM-settled there, unlike the gamma tables): kept so their numbers do not move.
ALVH_AM_ROOTS: frozenset[str] = frozenset({"SPX", "VIX"})
VX_ROOT = "VX"
# The backtest settles AM roots (options and the VX future) on the expiry day's open.
BACKTEST_AM_SETTLED_ROOTS: tuple[str, ...] = ("SPX", "VIX", VX_ROOT)

# -- contract multipliers, USD per index point
SPX_MULTIPLIER = 100.0   # SPX / SPXW options (also the gamma tables' CONTRACT_MULTIPLIER)
VIX_MULTIPLIER = 100.0   # VIX / VIXW options
VX_MULTIPLIER = 1000.0   # VX futures

# -- rates (continuous, annual): ONE source. A risk-free series when the caller has one, else these
# documented constants (about the 3-month T-bill and SPX's dividend yield). The nightly's model
# gamma (flows/settings.py ALVH_GAMMA_RATE ... default to them), `alvh gex` (same completion of the
# preset as the build) and the ALVH engine (AlvhParams.rate / div_yield) all read them, so the
# report and the CLI give the same figures for the same file and preset. The GammaConventions
# presets keep r = q = 0 as their literature definitions; the flows complete them with these.
RISK_FREE_RATE = 0.04
DIV_YIELD = 0.013
GAMMA_RATE = RISK_FREE_RATE
GAMMA_DIV_YIELD = DIV_YIELD
ALVH_RATE = RISK_FREE_RATE
ALVH_DIV_YIELD = DIV_YIELD

DAYS_PER_YEAR = 365.0
_US_PER_DAY = 86_400e6


def t_years(start: pl.Expr, settle: pl.Expr, *, days_per_year: float = DAYS_PER_YEAR,
            unit: Literal["microsecond", "hour"] = "microsecond", floor_zero: bool = False) -> pl.Expr:
    """ACT/days_per_year years from the `start` instant to the `settle` instant (Datetime exprs).

    unit: the count the year fraction is scaled from. "microsecond" (the gamma tables): exact
    microseconds / (days_per_year x 86 400e6). "hour" (the ALVH chain, snapshot and settlement on
    whole half-hours): hours / (days_per_year x 24). The two agree to 2.2e-16 but not to the bit
    (polars scales by the constant's reciprocal, which rounds differently), so each caller keeps
    its own and its tables stay byte-identical.
    floor_zero: a settlement already past gives 0, not a negative time (the ALVH chain); the gamma
    tables keep the sign (expired rows are flagged from the settlement instant, not from t)."""
    import polars as pl

    if unit == "hour":
        hours = (settle - start).dt.total_minutes().cast(pl.Float64) / 60.0
        if floor_zero:
            hours = hours.clip(lower_bound=0.0)
        return hours / (days_per_year * 24.0)
    t = (settle - start).dt.total_microseconds().cast(pl.Float64) / (days_per_year * _US_PER_DAY)
    return t.clip(lower_bound=0.0) if floor_zero else t
