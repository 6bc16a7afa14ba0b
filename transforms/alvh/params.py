"""ALVH parameters: the constants and every knob of the recommendation (AlvhParams).

Pure pydantic; no I/O, DuckDB, Prefect or sources. Defaults and reasons in docs/alvh.md.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.conventions import (
    ALVH_AM_ROOTS,
    ALVH_DIV_YIELD,
    ALVH_RATE,
    REGIMES,
    VX_MULTIPLIER,
)

# settled on the opening quotation of the expiry day (the ALVH set: transforms/conventions.py)
AM_ROOTS = ALVH_AM_ROOTS


class AlvhParams(BaseModel):
    """Every knob of the recommendation (defaults and reasons in docs/alvh.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- book and risk posture
    capital_usd: float = Field(1_000_000.0, gt=0, description="capital the night's risk is a share of")
    max_risk_pct: float = Field(2.0, gt=0, le=100, description="max loss of what is opened tonight "
                                                               "(condors + calendar debit), % of capital")
    size_mult: dict[str, float] = Field(
        default_factory=lambda: {"calm": 1.0, "crowded": 0.75, "unwinding": 0.5, "recovery": 0.75},
        description="share of the risk budget used, by regime")
    # -- base layer: SPX iron condor
    spx_roots: tuple[str, ...] = Field(("SPXW", "SPX"), description="roots allowed, in order of "
                                       "preference when several list the chosen expiry")
    target_dte: int = Field(14, ge=1, description="calendar days: the expiry nearest this is used")
    min_dte: int = Field(5, ge=0)
    max_dte: int = Field(45, ge=1)
    short_delta: float = Field(0.16, gt=0, lt=0.5, description="|delta| of the short strikes")
    wing_width_pts: float = Field(50.0, gt=0, description="long strike this far beyond the short")
    min_bid: float = Field(0.05, ge=0, description="a leg sold needs at least this bid")
    # -- elevated score: wider wings + VIX call calendar
    elevated_score: float = Field(50.0, ge=0, le=100, description="score from which the hedge "
                                                                  "layers apply")
    widen_min_pct: float = Field(15.0, ge=0, description="widening at elevated_score, % of the "
                                                         "spot-to-break-even distance")
    widen_max_pct: float = Field(20.0, ge=0, description="widening at score 100")
    vix_roots: tuple[str, ...] = Field(("VIX",), description="VIX option roots of the calendar "
                                       "(monthlies: they share the VX futures' settlement)")
    calendar_min_dte: int = Field(7, ge=1, description="near VIX expiry at least this many days out")
    calendar_otm_pct: float = Field(10.0, ge=0, description="calendar strike >= VX forward x (1 + this %)")
    calendar_budget_pct: float = Field(15.0, ge=0, description="calendar debit budget, % of the "
                                                               "condors' max loss")
    # -- second engine: VX futures roll
    vx_budget_pct: dict[str, float] = Field(
        default_factory=lambda: {"calm": 0.0, "crowded": 0.5, "unwinding": 0.0, "recovery": 0.0},
        description="VX hedge risk budget by regime, % of capital: bought while crowded, before "
                    "the unwind, not after VIX has spiked (unwinding, recovery)")
    vx_roll_dte: int = Field(5, ge=0, description="hold the nearest monthly VX with more than this "
                                                  "many calendar days left (roll before)")
    vx_min_risk_pts: float = Field(1.0, gt=0, description="floor of the per-contract risk (VX - VIX roll-down)")
    vx_multiplier: float = Field(VX_MULTIPLIER, gt=0)
    # -- roll guidance
    funding_normal_z: float = Field(0.5, description="funding normalised: composite z below this")
    roll_below_score: float = Field(40.0, ge=0, le=100, description="roll back in only with the score "
                                    "below this (hysteresis under elevated_score: no churn at 49/51)")
    # -- payoff table
    payoff_points: int = Field(121, ge=11, le=2001)
    payoff_range_pct: float = Field(20.0, gt=0, description="payoff and stress grid: at least spot "
                                    "+- this %; tonight's risk is the worst loss of every layer on it")
    size_to_stress: bool = Field(True, description="hold tonight's risk (worst loss of every layer on "
                                 "the stress grid) within the condor + VX budgets: VX cut first, then "
                                 "condors down to one; False sizes each layer by its own rule only")
    vix_spx_elasticity: float = Field(5.0, ge=0, description="hedge scenario: VIX = VIX0 x "
                                                             "(S / S0)^-elasticity")
    rate: float = ALVH_RATE
    div_yield: float = ALVH_DIV_YIELD

    @model_validator(mode="after")
    def _check(self) -> AlvhParams:
        if not self.min_dte <= self.target_dte <= self.max_dte:
            raise ValueError("need min_dte <= target_dte <= max_dte")
        if self.roll_below_score > self.elevated_score:
            raise ValueError("roll_below_score must not exceed elevated_score")
        if self.widen_min_pct > self.widen_max_pct:
            raise ValueError("widen_min_pct must not exceed widen_max_pct")
        for name, table in (("size_mult", self.size_mult), ("vx_budget_pct", self.vx_budget_pct)):
            missing = set(REGIMES) - set(table)
            if missing:
                raise ValueError(f"{name} lacks regime(s) {sorted(missing)}")
            if any(v < 0 for v in table.values()):
                raise ValueError(f"{name} values must be >= 0")
        if self.size_mult["unwinding"] > max(self.size_mult[r] for r in ("calm", "crowded", "recovery")):
            raise ValueError("size_mult['unwinding'] must not exceed the other regimes (never size "
                             "up into an unwind)")
        return self

    def widen_pct(self, score: float | None) -> float:
        """Widening, % of the spot-to-break-even distance: 0 below elevated_score, then linear
        from widen_min_pct at elevated_score to widen_max_pct at 100."""
        if score is None or (isinstance(score, float) and math.isnan(score)) or score < self.elevated_score:
            return 0.0
        span = 100.0 - self.elevated_score
        frac = 1.0 if span <= 0 else min(max((score - self.elevated_score) / span, 0.0), 1.0)
        return self.widen_min_pct + frac * (self.widen_max_pct - self.widen_min_pct)
