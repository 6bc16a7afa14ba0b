"""ALVH recommendations: the SPX iron condor (base layer), wing widening and the VIX call calendar
when the unwind score is elevated, the VX futures roll (second engine), roll guidance, sizing.

Pure polars + numpy over one night's chains and signal row; no I/O, DuckDB, Prefect or sources.
Every leg is a row of that night's chain (or VX settlement); method and defaults in docs/alvh.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms import greeks

REGIMES = ("calm", "crowded", "unwinding", "recovery")
AM_ROOTS = frozenset({"SPX", "VIX"})  # settled on the opening quotation of the expiry day
SPX_MULTIPLIER = 100.0
VIX_MULTIPLIER = 100.0


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
    vx_multiplier: float = Field(1000.0, gt=0)
    # -- roll guidance
    funding_normal_z: float = Field(0.5, description="funding normalised: composite z below this")
    roll_below_score: float = Field(40.0, ge=0, le=100, description="roll back in only with the score "
                                    "below this (hysteresis under elevated_score: no churn at 49/51)")
    # -- payoff table
    payoff_points: int = Field(121, ge=11, le=2001)
    payoff_range_pct: float = Field(10.0, gt=0, description="payoff grid at least spot +- this %")
    vix_spx_elasticity: float = Field(5.0, ge=0, description="hedge scenario: VIX = VIX0 x "
                                                             "(S / S0)^-elasticity")
    rate: float = 0.0
    div_yield: float = 0.0

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


# --------------------------------------------------------------------------------------------------
# schemas (warehouse/ddl/40_core_signals.sql states grain and units)
# --------------------------------------------------------------------------------------------------
LEG_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "layer": pl.String(),          # condor | calendar | vx_hedge | roll
    "leg_no": pl.Int64(),
    "instrument": pl.String(),     # option | future
    "underlying": pl.String(),     # SPX | VIX | VX
    "root": pl.String(),
    "expiry": pl.Date(),
    "strike": pl.Float64(),
    "right": pl.String(),          # C | P | null (futures)
    "side": pl.String(),           # sell | buy
    "ratio": pl.Int64(),           # per structure unit
    "quantity": pl.Int64(),        # contracts tonight (ratio x units)
    "bid": pl.Float64(),
    "ask": pl.Float64(),
    "mid": pl.Float64(),
    "price": pl.Float64(),         # sell at bid, buy at ask; futures at settle
    "iv": pl.Float64(),
    "delta": pl.Float64(),
    "delta_source": pl.String(),   # vendor | model | null
    "dte_days": pl.Int64(),        # calendar days to expiry
    "t_years": pl.Float64(),       # snapshot to settlement (AM/PM), years
    "multiplier": pl.Float64(),
    "note": pl.String(),
}

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "status": pl.String(),
    "skip_reason": pl.String(),
    "structure": pl.String(),
    "regime": pl.String(),
    "unwind_score": pl.Float64(),
    "convergence": pl.Boolean(),
    "spot": pl.Float64(),
    "vix": pl.Float64(),
    "root": pl.String(),
    "expiry": pl.Date(),
    "dte_days": pl.Int64(),
    "short_put": pl.Float64(),
    "long_put": pl.Float64(),
    "short_call": pl.Float64(),
    "long_call": pl.Float64(),
    "put_width_pts": pl.Float64(),
    "call_width_pts": pl.Float64(),
    "credit_pts": pl.Float64(),
    "max_loss_pts": pl.Float64(),
    "be_low": pl.Float64(),
    "be_high": pl.Float64(),
    "be_low_dist_pct": pl.Float64(),
    "be_high_dist_pct": pl.Float64(),
    "pop": pl.Float64(),
    "expected_move_pts": pl.Float64(),
    "expected_move_pct": pl.Float64(),
    "widen_pct": pl.Float64(),
    "base_short_put": pl.Float64(),
    "base_short_call": pl.Float64(),
    "contracts": pl.Int64(),
    "size_mult": pl.Float64(),
    "size_capped": pl.Boolean(),
    "credit_usd": pl.Float64(),
    "max_loss_usd": pl.Float64(),
    "risk_budget_usd": pl.Float64(),
    "risk_used_usd": pl.Float64(),
    "risk_used_pct": pl.Float64(),
    "calendar_strike": pl.Float64(),
    "calendar_near_expiry": pl.Date(),
    "calendar_far_expiry": pl.Date(),
    "calendar_forward": pl.Float64(),
    "calendar_forward_source": pl.String(),
    "calendar_debit_pts": pl.Float64(),
    "calendar_contracts": pl.Int64(),
    "calendar_cost_usd": pl.Float64(),
    "vx_expiry": pl.Date(),
    "vx_price": pl.Float64(),
    "vx_contracts": pl.Int64(),
    "vx_budget_usd": pl.Float64(),
    "vx_risk_per_contract_usd": pl.Float64(),
    "widened_root": pl.String(),
    "widened_expiry": pl.Date(),
    "widened_short_put": pl.Float64(),
    "widened_long_put": pl.Float64(),
    "widened_short_call": pl.Float64(),
    "widened_long_call": pl.Float64(),
    "widened_contracts": pl.Int64(),
    "roll": pl.Boolean(),
    "roll_expiry": pl.Date(),
    "roll_from_short_put": pl.Float64(),
    "roll_to_short_put": pl.Float64(),
    "roll_from_short_call": pl.Float64(),
    "roll_to_short_call": pl.Float64(),
    "rationale": pl.String(),
    "params_json": pl.String(),
}

PAYOFF_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "spx_level": pl.Float64(),
    "level_pct": pl.Float64(),
    "vix_level": pl.Float64(),
    "condor_pnl_usd": pl.Float64(),
    "calendar_pnl_usd": pl.Float64(),
    "vx_pnl_usd": pl.Float64(),
    "total_pnl_usd": pl.Float64(),
}


# --------------------------------------------------------------------------------------------------
# the chain
# --------------------------------------------------------------------------------------------------
def _t_years(quote_date: pl.Expr, expiry: pl.Expr, root: pl.Expr) -> pl.Expr:
    """Years from the 16:00 ET snapshot of quote_date to settlement: 16:00 on the expiry for PM
    roots, 09:30 (6.5 h earlier) for AM-settled roots (SPX monthlies, VIX)."""
    hours = (expiry - quote_date).dt.total_days().cast(pl.Float64) * 24.0 \
        - pl.when(root.is_in(list(AM_ROOTS))).then(6.5).otherwise(0.0)
    return (hours.clip(lower_bound=0.0) / (365.0 * 24.0))


def prepare_chain(quotes: pl.DataFrame, params: AlvhParams | None = None) -> pl.DataFrame:
    """raw.option_quotes rows of one quote_date -> chain with dte_days, t_years, mid, delta_used,
    delta_source (the vendor delta, or Black-Scholes from the vendor IV when the vendor has none)."""
    p = params or AlvhParams()
    if "delta_used" in quotes.columns:
        return quotes
    need = ["quote_date", "root", "expiry", "strike", "right", "spot", "bid", "ask", "iv"]
    missing = [c for c in need if c not in quotes.columns]
    if missing:
        raise ValueError(f"option quotes lack column(s) {missing}")
    q = quotes
    if "delta" not in q.columns:
        q = q.with_columns(delta=pl.lit(None, dtype=pl.Float64))
    if "expired" in q.columns:
        q = q.filter(~pl.col("expired").fill_null(False))
    q = q.filter(pl.col("expiry") >= pl.col("quote_date")).with_columns(
        dte_days=(pl.col("expiry") - pl.col("quote_date")).dt.total_days().cast(pl.Int64),
        t_years=_t_years(pl.col("quote_date"), pl.col("expiry"), pl.col("root")),
        mid=pl.when(pl.col("bid").is_not_null() & pl.col("ask").is_not_null())
        .then((pl.col("bid") + pl.col("ask")) / 2.0),
    )
    if q.is_empty():
        return q.with_columns(delta_used=pl.lit(None, dtype=pl.Float64),
                              delta_source=pl.lit(None, dtype=pl.String))
    vendor = pl.col("delta").is_not_null() & pl.col("delta").is_not_nan()
    has_iv = pl.col("iv").is_not_null() & (pl.col("iv") > 0)
    if q.select((~vendor & has_iv).any()).item():
        model = greeks.delta(q["spot"].to_numpy(), q["strike"].to_numpy(), q["t_years"].to_numpy(),
                             q["iv"].fill_null(0.0).to_numpy(), (q["right"] == "C").to_numpy(),
                             p.rate, p.div_yield)
    else:  # every row has the vendor's delta (or no IV): the model delta would not be used
        model = pl.Series([None] * q.height, dtype=pl.Float64)
    return q.with_columns(_model=pl.Series(model)).with_columns(
        delta_used=pl.when(vendor).then(pl.col("delta")).when(has_iv).then(pl.col("_model")),
        delta_source=pl.when(vendor).then(pl.lit("vendor")).when(has_iv).then(pl.lit("model")),
    ).drop("_model")


def choose_expiry(chain: pl.DataFrame, roots: tuple[str, ...], target: int, lo: int, hi: int
                  ) -> tuple[str, date] | None:
    """(root, expiry) nearest `target` calendar days within [lo, hi]; ties: the earlier expiry;
    a date listed by several roots: the first of `roots`."""
    c = chain.filter(pl.col("root").is_in(list(roots)) & pl.col("dte_days").is_between(lo, hi))
    if c.is_empty():
        return None
    exps = c.select("root", "expiry", "dte_days").unique()
    rank = {r: i for i, r in enumerate(roots)}
    best = min(exps.iter_rows(), key=lambda r: (abs(r[2] - target), r[2], rank[r[0]]))
    return best[0], best[1]


def _leg(row: dict, side: str, layer: str, leg_no: int, note: str = "") -> dict:
    price = row["bid"] if side == "sell" else row["ask"]
    return {"layer": layer, "leg_no": leg_no, "instrument": "option",
            "underlying": row.get("underlying") or ("VIX" if row["root"] in ("VIX", "VIXW") else "SPX"),
            "root": row["root"], "expiry": row["expiry"], "strike": float(row["strike"]),
            "right": row["right"], "side": side, "ratio": 1, "quantity": 1,
            "bid": row["bid"], "ask": row["ask"], "mid": row.get("mid"), "price": price,
            "iv": row.get("iv"), "delta": row.get("delta_used"), "delta_source": row.get("delta_source"),
            "dte_days": row.get("dte_days"), "t_years": row.get("t_years"),
            "multiplier": SPX_MULTIPLIER if row["root"] not in ("VIX", "VIXW") else VIX_MULTIPLIER,
            "note": note}


def _legs_frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=LEG_SCHEMA)
    return pl.DataFrame([{**r, "as_of": r.get("as_of")} for r in rows], schema=LEG_SCHEMA)


def _pick_short(side: pl.DataFrame, target_delta: float) -> dict | None:
    s = side.filter(pl.col("delta_used").is_not_null())
    if s.is_empty():
        return None
    s = s.with_columns(_d=(pl.col("delta_used").abs() - target_delta).abs())
    # ties: the further out-of-the-money strike (smaller |delta|)
    return s.sort("_d", pl.col("delta_used").abs()).drop("_d").row(0, named=True)


def _pick_beyond(side: pl.DataFrame, target: float, direction: int, need: str) -> dict | None:
    """The listed strike at or beyond `target` (direction -1: at or below, +1: at or above)
    nearest to it, with a usable `need` quote (bid for a sale, ask for a purchase)."""
    ok = side.filter(pl.col(need).is_not_null() & (pl.col(need) > 0))
    cand = ok.filter(pl.col("strike") <= target + 1e-9) if direction < 0 else \
        ok.filter(pl.col("strike") >= target - 1e-9)
    if cand.is_empty():
        return None
    return cand.sort((pl.col("strike") - target).abs()).row(0, named=True)


def _pick_nearest(side: pl.DataFrame, target: float, direction: int, need: str) -> dict | None:
    """The listed strike nearest `target` with a usable quote, beyond the short (caller filters);
    ties: the further one out."""
    ok = side.filter(pl.col(need).is_not_null() & (pl.col(need) > 0))
    if ok.is_empty():
        return None
    return ok.sort((pl.col("strike") - target).abs(), pl.col("strike") * direction,
                   descending=[False, True]).row(0, named=True)


def _expiry_chain(chain: pl.DataFrame, root: str, expiry: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    e = chain.filter((pl.col("root") == root) & (pl.col("expiry") == expiry))
    return e.filter(pl.col("right") == "P"), e.filter(pl.col("right") == "C")


def _condor_at(puts: pl.DataFrame, calls: pl.DataFrame, spot: float, p: AlvhParams,
               short_put: dict, short_call: dict, note: str = "") -> list[dict] | None:
    lp = _pick_nearest(puts.filter(pl.col("strike") < short_put["strike"]),
                       short_put["strike"] - p.wing_width_pts, -1, "ask")
    lc = _pick_nearest(calls.filter(pl.col("strike") > short_call["strike"]),
                       short_call["strike"] + p.wing_width_pts, +1, "ask")
    if lp is None or lc is None:
        return None
    return [_leg(lp, "buy", "condor", 1, note), _leg(short_put, "sell", "condor", 2, note),
            _leg(short_call, "sell", "condor", 3, note), _leg(lc, "buy", "condor", 4, note)]


def base_condor(chain: pl.DataFrame, spot: float, root: str, expiry: date,
                p: AlvhParams) -> list[dict] | None:
    """Short strikes by |delta| nearest short_delta (OTM, bid >= min_bid), longs wing_width beyond."""
    puts, calls = _expiry_chain(chain, root, expiry)
    sp = _pick_short(puts.filter((pl.col("strike") < spot) & (pl.col("bid") >= max(p.min_bid, 1e-9))),
                     p.short_delta)
    sc = _pick_short(calls.filter((pl.col("strike") > spot) & (pl.col("bid") >= max(p.min_bid, 1e-9))),
                     p.short_delta)
    if sp is None or sc is None:
        return None
    return _condor_at(puts, calls, spot, p, sp, sc)


def build_condor(chain: pl.DataFrame, spot: float, params: AlvhParams | None = None,
                 score: float | None = None) -> pl.DataFrame:
    """The SPX iron condor for one night (4 legs, or empty): expiry nearest target_dte, shorts by
    delta, longs wing_width beyond, priced sell-at-bid / buy-at-ask. When score >= elevated_score
    both sides move outward by widen_pct(score) % of their spot-to-break-even distance (the new
    short is the listed strike at or beyond the target), longs keep the wing width beyond them."""
    p = params or AlvhParams()
    ch = prepare_chain(chain, p)
    pick = choose_expiry(ch, p.spx_roots, p.target_dte, p.min_dte, p.max_dte)
    if pick is None:
        return _legs_frame([])
    root, expiry = pick
    legs = base_condor(ch, spot, root, expiry, p)
    if legs is None:
        return _legs_frame([])
    widen = p.widen_pct(score)
    if widen <= 0:
        return _legs_frame(legs)
    m = condor_metrics(_legs_frame(legs), spot, p)
    puts, calls = _expiry_chain(ch, root, expiry)
    d_put, d_call = spot - m["be_low"], m["be_high"] - spot
    t_put = legs[1]["strike"] - widen / 100.0 * d_put
    t_call = legs[2]["strike"] + widen / 100.0 * d_call
    sp = _pick_beyond(puts.filter(pl.col("bid") >= max(p.min_bid, 1e-9)), t_put, -1, "bid")
    sc = _pick_beyond(calls.filter(pl.col("bid") >= max(p.min_bid, 1e-9)), t_call, +1, "bid")
    if sp is None or sc is None:
        return _legs_frame(legs)  # nothing listed that far out: keep the base condor
    note = f"widened {widen:.1f} % of the spot-to-break-even distance"
    wide = _condor_at(puts, calls, spot, p, sp, sc, note)
    return _legs_frame(wide if wide is not None else legs)


def _leg_row(legs: pl.DataFrame, right: str, side: str) -> dict:
    return legs.filter((pl.col("right") == right) & (pl.col("side") == side)).row(0, named=True)


def _leg_rows(legs: pl.DataFrame, *keys: tuple[str, str]) -> list[dict]:
    """`_leg_row` for several (right, side) at once, in one pass over the legs."""
    first: dict[tuple, dict] = {}
    for r in legs.iter_rows(named=True):
        first.setdefault((r["right"], r["side"]), r)
    return [first[k] if k in first else _leg_row(legs, *k) for k in keys]


def condor_metrics(legs: pl.DataFrame, spot: float, params: AlvhParams | None = None) -> dict:
    """Per one condor, index points: credit (sells at bid minus buys at ask), widths, max loss
    (widest wing minus credit), break-evens (short put - credit, short call + credit), their
    distance from spot (%), and the probability of profit P(be_low < S_T < be_high) under a
    lognormal with each side's short-strike IV (risk neutral, r = q = 0 by default)."""
    p = params or AlvhParams()
    c = legs.filter(pl.col("layer") == "condor") if "layer" in legs.columns else legs
    if c.height != 4:
        raise ValueError(f"an iron condor has 4 legs, got {c.height}")
    sign = pl.when(pl.col("side") == "sell").then(1.0).otherwise(-1.0)
    credit = float(c.select((sign * pl.col("price") * pl.col("ratio")).sum()).item())
    sp, lp, sc, lc = _leg_rows(c, ("P", "sell"), ("P", "buy"), ("C", "sell"), ("C", "buy"))
    put_w, call_w = sp["strike"] - lp["strike"], lc["strike"] - sc["strike"]
    be_low, be_high = sp["strike"] - credit, sc["strike"] + credit
    return {
        "root": sp["root"], "expiry": sp["expiry"], "dte_days": sp.get("dte_days"),
        "short_put": sp["strike"], "long_put": lp["strike"],
        "short_call": sc["strike"], "long_call": lc["strike"],
        "credit_pts": credit, "put_width_pts": put_w, "call_width_pts": call_w,
        "max_loss_pts": max(put_w, call_w) - credit,
        "be_low": be_low, "be_high": be_high,
        "be_low_dist_pct": 100.0 * (be_low / spot - 1.0),
        "be_high_dist_pct": 100.0 * (be_high / spot - 1.0),
        "pop": pop_lognormal(spot, be_low, be_high, sp.get("iv"), sc.get("iv"), sp.get("t_years"), p),
    }


def pop_lognormal(spot: float, lo: float, hi: float, iv_put: float | None, iv_call: float | None,
                  t_years: float | None, p: AlvhParams | None = None) -> float | None:
    """P(lo < S_T < hi), S_T lognormal (risk neutral): the put side with iv_put, the call side
    with iv_call (a skew-aware approximation). None without time or IVs."""
    p = p or AlvhParams()
    if t_years is None or not t_years > 0 or not iv_put or not iv_call or lo <= 0 or hi <= lo:
        return None

    def p_above(k: float, iv: float) -> float:
        sd = iv * math.sqrt(t_years)
        d2 = (math.log(spot / k) + (p.rate - p.div_yield) * t_years - 0.5 * sd * sd) / sd
        return float(greeks.norm_cdf(np.array(d2)))

    return max(0.0, p_above(lo, iv_put) - p_above(hi, iv_call))


def expected_move(chain: pl.DataFrame, root: str, expiry: date, spot: float) -> tuple[float | None, float | None]:
    """ATM straddle (call mid + put mid at the listed strike nearest spot with both quoted): the
    market's expected move to expiry, index points, and its strike."""
    e = chain.filter((pl.col("root") == root) & (pl.col("expiry") == expiry) & pl.col("mid").is_not_null())
    both = e.group_by("strike").agg(pl.col("mid").sum().alias("straddle"), pl.len().alias("n")) \
        .filter(pl.col("n") == 2)
    if both.is_empty():
        return None, None
    row = both.sort((pl.col("strike") - spot).abs(), "strike").row(0, named=True)
    return float(row["straddle"]), float(row["strike"])


# --------------------------------------------------------------------------------------------------
# hedge layers
# --------------------------------------------------------------------------------------------------
def _vx_on(vx_futures: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    if vx_futures is None or vx_futures.is_empty():
        return pl.DataFrame(schema={"expiry": pl.Date(), "settle": pl.Float64(), "weekly": pl.Boolean()})
    f = vx_futures.filter((pl.col("trade_date") == as_of) & (pl.col("expiry") > as_of)
                          & pl.col("settle").is_not_null() & (pl.col("settle") > 0))
    if "weekly" in f.columns:
        f = f.filter(~pl.col("weekly").fill_null(False))
    return f.sort("expiry")


def parity_forward(chain: pl.DataFrame, root: str, expiry: date) -> float | None:
    """Forward from put-call parity (r = 0): K + C - P at the strike where |C - P| is smallest."""
    e = chain.filter((pl.col("root") == root) & (pl.col("expiry") == expiry) & pl.col("mid").is_not_null())
    w = e.pivot(on="right", index="strike", values="mid", aggregate_function="first")
    if "C" not in w.columns or "P" not in w.columns:
        return None
    w = w.drop_nulls(["C", "P"])
    if w.is_empty():
        return None
    r = w.sort((pl.col("C") - pl.col("P")).abs()).row(0, named=True)
    return float(r["strike"] + r["C"] - r["P"])


@dataclass(frozen=True)
class Calendar:
    legs: list[dict]  # near call sold, far call bought (one unit)
    strike: float
    near: date
    far: date
    forward: float
    forward_source: str
    far_forward: float | None
    debit: float
    vix: float | None


def vix_calendar(vix_quotes: pl.DataFrame | None, vx_futures: pl.DataFrame | None, as_of: date,
                 params: AlvhParams | None = None) -> tuple[Calendar | None, str]:
    """Sell the near VIX call, buy the next expiry's call at the same strike: the smallest strike
    listed in both at or above forward x (1 + calendar_otm_pct %), the forward being the VX future
    of the near expiry (VIX options settle with it) or, without one, put-call parity.
    Returns (calendar or None, why)."""
    p = params or AlvhParams()
    if vix_quotes is None or vix_quotes.is_empty():
        return None, "no VIX chain tonight"
    full = prepare_chain(vix_quotes.filter(pl.col("quote_date") == as_of), p)
    ch = full.filter(pl.col("root").is_in(list(p.vix_roots)) & (pl.col("right") == "C"))
    exps = sorted(ch.filter(pl.col("dte_days") >= p.calendar_min_dte)["expiry"].unique().to_list())
    if len(exps) < 2:
        return None, f"fewer than two VIX expiries {p.calendar_min_dte}+ days out"
    near, far = exps[0], exps[1]
    vx = _vx_on(vx_futures, as_of)
    fwd_row = vx.filter(pl.col("expiry") == near)
    far_row = vx.filter(pl.col("expiry") == far)
    root_near = ch.filter(pl.col("expiry") == near)["root"][0]
    if fwd_row.height:
        fwd, src = float(fwd_row["settle"][0]), "vx_futures"
    else:
        fwd, src = parity_forward(full, root_near, near), "parity"
        if fwd is None:
            return None, "no VX future and no put-call parity forward for the near VIX expiry"
    far_fwd = float(far_row["settle"][0]) if far_row.height else parity_forward(
        full, ch.filter(pl.col("expiry") == far)["root"][0], far)
    n = ch.filter((pl.col("expiry") == near) & (pl.col("bid") >= max(p.min_bid, 1e-9)))
    f = ch.filter((pl.col("expiry") == far) & pl.col("ask").is_not_null() & (pl.col("ask") > 0))
    both = n.join(f, on="strike", suffix="_far").filter(pl.col("strike") >= fwd * (1 + p.calendar_otm_pct / 100.0))
    both = both.filter(pl.col("ask_far") > pl.col("bid"))  # a calendar that pays a credit is a quote error
    if both.is_empty():
        return None, f"no strike >= {fwd * (1 + p.calendar_otm_pct / 100):.2f} listed in both VIX expiries"
    k = float(both.sort("strike")["strike"][0])
    near_row = n.filter(pl.col("strike") == k).row(0, named=True)
    far_leg = f.filter(pl.col("strike") == k).row(0, named=True)
    legs = [_leg(near_row, "sell", "calendar", 1), _leg(far_leg, "buy", "calendar", 2)]
    for leg in legs:
        leg["underlying"] = "VIX"
    spot_vix = float(ch["spot"][0]) if "spot" in ch.columns and ch.height else None
    return Calendar(legs, k, near, far, fwd, src, far_fwd, far_leg["ask"] - near_row["bid"], spot_vix), ""


def vx_hedge(vx_futures: pl.DataFrame | None, as_of: date, regime: str, vix: float | None,
             params: AlvhParams | None = None) -> tuple[dict | None, str]:
    """Second engine: long the nearest monthly VX future with more than vx_roll_dte days left
    (rolled forward before expiry). Contracts = floor(budget / risk per contract); budget =
    vx_budget_pct[regime] % of capital; risk per contract = max(VX - VIX, vx_min_risk_pts) x 1000
    (the roll-down to spot if nothing happens)."""
    p = params or AlvhParams()
    pct = p.vx_budget_pct.get(regime, 0.0)
    if pct <= 0:
        return None, f"no VX allocation in a {regime} regime"
    vx = _vx_on(vx_futures, as_of)
    vx = vx.filter((pl.col("expiry") - pl.lit(as_of)).dt.total_days() > p.vx_roll_dte)
    if vx.is_empty():
        return None, "no VX settlement tonight"
    row = vx.row(0, named=True)
    price = float(row["settle"])
    roll_down = price - vix if vix is not None else p.vx_min_risk_pts
    risk = max(roll_down, p.vx_min_risk_pts) * p.vx_multiplier
    budget = p.capital_usd * pct / 100.0
    return {"expiry": row["expiry"], "price": price, "budget": budget, "risk": risk,
            "contracts": int(budget // risk)}, ""


# --------------------------------------------------------------------------------------------------
# payoff (piecewise linear at the condor's expiry; hedges under the stated VIX scenario)
# --------------------------------------------------------------------------------------------------
def _intrinsic(level: np.ndarray, strike: float, right: str) -> np.ndarray:
    return np.maximum(level - strike, 0.0) if right == "C" else np.maximum(strike - level, 0.0)


def _black76_call(f: np.ndarray, k: float, t: float, iv: float) -> np.ndarray:
    if not t > 0 or not iv > 0:
        return np.maximum(f - k, 0.0)
    sd = iv * math.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * sd * sd) / sd
    return f * greeks.norm_cdf(d1) - k * greeks.norm_cdf(d1 - sd)


def payoff_table(as_of: date, spot: float, legs: pl.DataFrame, p: AlvhParams,
                 vix0: float | None = None, calendar: Calendar | None = None,
                 vx: dict | None = None, metrics: dict | None = None) -> pl.DataFrame:
    """P&L (USD) on a grid of SPX levels at the condor's expiry: the condor exactly (piecewise
    linear in the stored legs, strikes and break-evens on the grid), the calendar at its near
    expiry and the VX future with VIX = vix0 x (S / spot)^-vix_spx_elasticity (a scenario).
    `metrics`: condor_metrics of the condor legs when the caller has them already."""
    c = legs.filter(pl.col("layer") == "condor")
    if c.is_empty():
        return pl.DataFrame(schema=PAYOFF_SCHEMA)
    lo = min(spot * (1 - p.payoff_range_pct / 100.0), float(c["strike"].min()) * 0.98)
    hi = max(spot * (1 + p.payoff_range_pct / 100.0), float(c["strike"].max()) * 1.02)
    m = metrics if metrics is not None else condor_metrics(c, spot, p)
    kinks = [*c["strike"].to_list(), m["be_low"], m["be_high"], spot]
    x = np.unique(np.round(np.concatenate([np.linspace(lo, hi, p.payoff_points), kinks]), 6))
    condor = np.zeros_like(x)
    for r in c.iter_rows(named=True):
        sgn = 1.0 if r["side"] == "buy" else -1.0
        condor += sgn * r["quantity"] * r["multiplier"] * (_intrinsic(x, r["strike"], r["right"]) - r["price"])
    vix_x = np.full_like(x, np.nan) if not vix0 else vix0 * (x / spot) ** (-p.vix_spx_elasticity)
    cal = np.zeros_like(x)
    cal_legs = legs.filter(pl.col("layer") == "calendar")
    if calendar is not None and vix0 and not cal_legs.is_empty():
        qty = int(cal_legs["quantity"][0])
        far = cal_legs.filter(pl.col("side") == "buy").row(0, named=True)
        t_left = (calendar.far - calendar.near).days / 365.0
        f2 = (calendar.far_forward or calendar.forward) * vix_x / vix0
        far_val = _black76_call(f2, calendar.strike, t_left, far["iv"] or 0.0)
        near_pay = np.maximum(vix_x - calendar.strike, 0.0)
        cal = qty * VIX_MULTIPLIER * (far_val - near_pay - calendar.debit)
    vxp = np.zeros_like(x)
    if vx is not None and vix0 and vx["contracts"] > 0:
        vxp = vx["contracts"] * p.vx_multiplier * (vx["price"] * vix_x / vix0 - vx["price"])
    return pl.DataFrame({
        "as_of": [as_of] * x.size, "spx_level": x, "level_pct": 100.0 * (x / spot - 1.0),
        "vix_level": vix_x, "condor_pnl_usd": condor, "calendar_pnl_usd": cal,
        "vx_pnl_usd": vxp, "total_pnl_usd": condor + cal + vxp,
    }, schema=PAYOFF_SCHEMA).with_columns(pl.col("vix_level").fill_nan(None))


# --------------------------------------------------------------------------------------------------
# the night's recommendation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recommendation:
    summary: pl.DataFrame  # one row: core.recommendations
    legs: pl.DataFrame     # core.recommendation_legs
    payoff: pl.DataFrame   # core.recommendation_payoff

    @property
    def row(self) -> dict:
        return self.summary.row(0, named=True)


class _Why:
    """The rationale: which metric, with which value, drove which choice (stored as JSON)."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, choice: str, metric: str, value, rule: str) -> None:
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 6)
        elif isinstance(value, date):
            value = value.isoformat()
        self.items.append({"choice": choice, "metric": metric, "value": value, "rule": rule})

    def json(self) -> str:
        return json.dumps(self.items, separators=(",", ":"))


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _roll_legs(chain: pl.DataFrame, spot: float, carried: dict, p: AlvhParams) -> tuple[list[dict], dict]:
    """Roll the widened condor's spreads back to the delta-target strikes of its own expiry, per
    side that moves inward: close the old spread (buy the short, sell the long), open the new one
    (sell the short, buy the long), netted by strike (a strike that is both the old short and the
    new long nets to two bought). Only strikes listed tonight with the needed quote."""
    root, expiry = carried["widened_root"], carried["widened_expiry"]
    new = base_condor(chain, spot, root, expiry, p)
    if new is None:
        return [], {}
    puts, calls = _expiry_chain(chain, root, expiry)
    net: dict[tuple[float, str], int] = {}
    rows: dict[tuple[float, str], dict] = {}
    to: dict = {}
    for side_chain, right, old_s, old_l, new_s, new_l, key, inward in (
        (puts, "P", carried["widened_short_put"], carried["widened_long_put"], new[1], new[0], "put",
         lambda a, b: a > b),
        (calls, "C", carried["widened_short_call"], carried["widened_long_call"], new[2], new[3], "call",
         lambda a, b: a < b),
    ):
        if old_s is None or old_l is None or not inward(new_s["strike"], old_s):
            continue
        olds = {k: side_chain.filter(pl.col("strike") == k) for k in (old_s, old_l)}
        if any(r.is_empty() for r in olds.values()):
            continue
        side_net = {(old_s, right): +1, (old_l, right): -1}
        side_rows = {(old_s, right): olds[old_s].row(0, named=True),
                     (old_l, right): olds[old_l].row(0, named=True)}
        for leg, sgn in ((new_s, -1), (new_l, +1)):
            k = (float(leg["strike"]), right)
            side_net[k] = side_net.get(k, 0) + sgn
            side_rows[k] = side_chain.filter(pl.col("strike") == k[0]).row(0, named=True)
        usable = all((side_rows[k]["ask"] or 0) > 0 if v > 0 else (side_rows[k]["bid"] or 0) > 0
                     for k, v in side_net.items() if v)
        if not usable:
            continue
        for k, v in side_net.items():
            net[k] = net.get(k, 0) + v
        rows.update(side_rows)
        to[key] = new_s["strike"]
    out = []
    for n_leg, (k, v) in enumerate(sorted(((k, v) for k, v in net.items() if v), key=lambda kv: (kv[0][1] == "C", kv[0][0]))):
        leg = _leg(rows[k], "buy" if v > 0 else "sell", "roll", n_leg + 1,
                   "roll back in: " + ", ".join(f"{s} short -> {t:g}" for s, t in to.items()))
        leg["ratio"] = abs(v)
        out.append(leg)
    return out, to


def recommend(as_of: date, spx_quotes: pl.DataFrame, *, signals: dict | None = None,
              vix_quotes: pl.DataFrame | None = None, vx_futures: pl.DataFrame | None = None,
              prev: dict | None = None, params: AlvhParams | None = None,
              trusted: bool = True, untrusted_reason: str = "") -> Recommendation:
    """The night's recommendation from that night's chains and signal row (see docs/alvh.md).

    prev: the previous night's core.recommendations row (size caps in an unwind, the widened
    position carried for roll guidance). An untrusted night yields a row that says why and no legs.
    """
    p = params or AlvhParams()
    sig = signals or {}
    why = _Why()
    row: dict = {c: None for c in SUMMARY_SCHEMA}
    score = _num(sig.get("unwind_score"))
    regime = sig.get("regime") or "calm"
    row.update(as_of=as_of, regime=regime, unwind_score=score, convergence=sig.get("convergence"),
               vix=_num(sig.get("vix")), params_json=json.dumps(p.model_dump(mode="json"), sort_keys=True,
                                                                 separators=(",", ":")))

    def done(status: str, reason: str = "", legs: pl.DataFrame | None = None,
             payoff: pl.DataFrame | None = None) -> Recommendation:
        row.update(status=status, skip_reason=reason or None, rationale=why.json())
        if legs is None or legs.is_empty():
            legs = pl.DataFrame(schema=LEG_SCHEMA)
        return Recommendation(pl.DataFrame([row], schema=SUMMARY_SCHEMA),
                              legs.with_columns(as_of=pl.lit(as_of)).select(list(LEG_SCHEMA)).cast(LEG_SCHEMA),
                              payoff if payoff is not None else pl.DataFrame(schema=PAYOFF_SCHEMA))

    if not trusted:
        why.add("no recommendation", "audit.validations", untrusted_reason or "critical check failed",
                "a night whose critical checks failed emits no recommendation")
        return done("untrusted", untrusted_reason or "critical data-quality check failed")
    q = spx_quotes.filter(pl.col("quote_date") == as_of) if "quote_date" in spx_quotes.columns else spx_quotes
    if "underlying" in q.columns:
        q = q.filter(pl.col("underlying") == "SPX")
    if q.is_empty():
        why.add("no recommendation", "raw.option_quotes", 0, "no SPX chain for the night")
        return done("no_chain", "no SPX chain for this night")
    chain = prepare_chain(q, p)
    spot = float(chain["spot"][0])
    row["spot"] = spot
    if score is None:
        why.add("base layer only", "core.signals_daily.unwind_score", None,
                "no unwind score tonight: treated as 0 (no widening, no calendar)")
    score_used = score if score is not None else 0.0
    widen = p.widen_pct(score_used)
    legs = build_condor(chain, spot, p, score_used)
    if legs.is_empty():
        why.add("no recommendation", "raw.option_quotes", chain.height,
                f"no expiry {p.min_dte}-{p.max_dte} days with {p.short_delta:g}-delta shorts and wings")
        return done("no_condor", "the chain cannot make the condor")
    m = condor_metrics(legs, spot, p)
    row.update({k: m[k] for k in ("root", "expiry", "dte_days", "short_put", "long_put", "short_call",
                                  "long_call", "put_width_pts", "call_width_pts", "credit_pts",
                                  "max_loss_pts", "be_low", "be_high", "be_low_dist_pct",
                                  "be_high_dist_pct", "pop")})
    why.add("expiry", "raw.option_quotes.expiry", m["expiry"],
            f"{m['root']} expiry nearest {p.target_dte} calendar days ({m['dte_days']} d)")
    base = build_condor(chain, spot, p, None) if widen > 0 else legs
    bm = condor_metrics(base, spot, p)
    row.update(base_short_put=bm["short_put"], base_short_call=bm["short_call"])
    sp_leg, sc_leg = _leg_rows(base, ("P", "sell"), ("C", "sell"))
    why.add("short strikes", "raw.option_quotes.delta", [sp_leg["delta"], sc_leg["delta"]],
            f"|delta| nearest {p.short_delta:g} ({sp_leg['delta_source']}): "
            f"{bm['short_put']:g} P / {bm['short_call']:g} C")
    applied = widen if (m["short_put"] != bm["short_put"] or m["short_call"] != bm["short_call"]) else 0.0
    row["widen_pct"] = applied
    if widen > 0:
        why.add("wings widened", "core.signals_daily.unwind_score", score_used,
                f"score >= {p.elevated_score:g}: shorts moved out {widen:.1f} % of the spot-to-break-even "
                f"distance ({bm['short_put']:g} -> {m['short_put']:g} P, {bm['short_call']:g} -> "
                f"{m['short_call']:g} C)" if applied else
                f"score >= {p.elevated_score:g} but no listed strike beyond the target: base strikes kept")
    em, em_k = expected_move(chain, m["root"], m["expiry"], spot)
    row.update(expected_move_pts=em, expected_move_pct=None if em is None else 100.0 * em / spot)
    if em is not None:
        why.add("expected move", "raw.option_quotes.bid/ask", em,
                f"ATM straddle mid at {em_k:g}: +-{em:.1f} pts; break-evens {m['be_low']:.1f} / {m['be_high']:.1f}")

    # hedges
    elevated = score_used >= p.elevated_score
    cal, cal_why = (vix_calendar(vix_quotes, vx_futures, as_of, p) if elevated
                    else (None, f"score < {p.elevated_score:g}: no VIX calendar"))
    vix0 = row["vix"] if row["vix"] is not None else (cal.vix if cal is not None else None)
    if vix0 is None and vix_quotes is not None and not vix_quotes.is_empty():
        vq = vix_quotes.filter(pl.col("quote_date") == as_of)
        vix0 = float(vq["spot"][0]) if vq.height else None
    row["vix"] = vix0

    # sizing
    mult = float(p.size_mult.get(regime, 1.0))
    budget = p.capital_usd * p.max_risk_pct / 100.0 * mult
    ml_unit = m["max_loss_pts"] * SPX_MULTIPLIER
    cal_frac = p.calendar_budget_pct / 100.0 if cal is not None else 0.0
    n = int(budget // (ml_unit * (1.0 + cal_frac))) if ml_unit > 0 else 0
    capped = False
    prev_n = (prev or {}).get("contracts") if (prev or {}).get("status") == "ok" else None
    if regime == "unwinding" and prev_n is not None and n > prev_n:
        n, capped = int(prev_n), True
    why.add("size", "core.signals_daily.regime", regime,
            f"risk budget {p.max_risk_pct:g} % of {p.capital_usd:,.0f} x {mult:g} ({regime}) = "
            f"{budget:,.0f} USD; {ml_unit:,.0f} USD max loss per condor -> {n} condor(s)"
            + (f"; capped at last night's {prev_n} (no size increase in an unwind)" if capped else ""))
    row.update(contracts=n, size_mult=mult, size_capped=capped, credit_usd=n * m["credit_pts"] * SPX_MULTIPLIER,
               max_loss_usd=n * ml_unit, risk_budget_usd=budget)
    legs = legs.with_columns(quantity=pl.col("ratio") * n)
    all_legs = [legs]
    structure = ["iron_condor"]
    cal_cost = 0.0
    if cal is not None:
        k = int((cal_frac * n * ml_unit) // (cal.debit * VIX_MULTIPLIER)) if cal.debit > 0 else 0
        row.update(calendar_strike=cal.strike, calendar_near_expiry=cal.near, calendar_far_expiry=cal.far,
                   calendar_forward=cal.forward, calendar_forward_source=cal.forward_source,
                   calendar_debit_pts=cal.debit, calendar_contracts=k)
        cal_cost = k * cal.debit * VIX_MULTIPLIER
        row["calendar_cost_usd"] = cal_cost
        why.add("VIX call calendar", "core.signals_daily.unwind_score", score_used,
                f"score >= {p.elevated_score:g}: sell {cal.near} / buy {cal.far} {cal.strike:g} C "
                f"(>= {p.calendar_otm_pct:g} % over the VX forward {cal.forward:.2f}, {cal.forward_source}); "
                f"debit {cal.debit:.2f} x {k} = {cal_cost:,.0f} USD "
                f"({p.calendar_budget_pct:g} % of the condors' max loss)")
        if k > 0:
            all_legs.append(_legs_frame(cal.legs).with_columns(quantity=pl.col("ratio") * k))
            structure.append("vix_call_calendar")
        else:
            cal = None
    elif elevated:
        why.add("no VIX calendar", "raw.option_quotes", None, cal_why)
    row.update(risk_used_usd=n * ml_unit + cal_cost,
               risk_used_pct=100.0 * (n * ml_unit + cal_cost) / p.capital_usd)

    vx, vx_why = vx_hedge(vx_futures, as_of, regime, vix0, p)
    if vx is not None:
        k = vx["contracts"]
        prev_vx = (prev or {}).get("vx_contracts")
        if regime == "unwinding" and prev_vx is not None and k > prev_vx:
            k = int(prev_vx)
            vx["contracts"] = k
        row.update(vx_expiry=vx["expiry"], vx_price=vx["price"], vx_contracts=k,
                   vx_budget_usd=vx["budget"], vx_risk_per_contract_usd=vx["risk"])
        why.add("VX futures roll", "raw.vx_futures.settle", vx["price"],
                f"{regime}: {p.vx_budget_pct[regime]:g} % of capital = {vx['budget']:,.0f} USD / "
                f"{vx['risk']:,.0f} USD risk per contract -> long {k} VX {vx['expiry']}")
        if k > 0:
            all_legs.append(_legs_frame([{
                "layer": "vx_hedge", "leg_no": 1, "instrument": "future", "underlying": "VX",
                "root": "VX", "expiry": vx["expiry"], "strike": None, "right": None, "side": "buy",
                "ratio": 1, "quantity": k, "price": vx["price"], "multiplier": p.vx_multiplier,
                "dte_days": (vx["expiry"] - as_of).days, "note": "settle"}]))
            structure.append("vx_futures")
    else:
        why.add("no VX futures", "core.signals_daily.regime", regime, vx_why)

    # widened position carried night to night, and the roll back once funding normalises
    carried = None
    if prev and prev.get("widened_expiry") is not None and prev["widened_expiry"] > as_of:
        carried = {k: prev.get(k) for k in ("widened_root", "widened_expiry", "widened_short_put",
                                           "widened_long_put", "widened_short_call", "widened_long_call",
                                           "widened_contracts")}
        carried["widened_root"] = carried["widened_root"] or m["root"]
    fz = _num(sig.get("funding_apr_z"))
    normal = (fz < p.funding_normal_z) if fz is not None else None
    row["roll"] = False
    calm_enough = score_used < p.roll_below_score
    # the extrinsic-by-tenor rule (docs/options.md): the flow passes transforms.parity.extrinsic_term
    term_ratio, term_ok = _num(sig.get("extrinsic_term_ratio")), sig.get("extrinsic_roll_ok")
    term_max = _num(sig.get("extrinsic_roll_max")) or 1.10
    if carried is not None and calm_enough and normal and term_ok is False:
        why.add("hold widened strikes", "core.parity_daily.extrinsic_atm_vol_pct", term_ratio,
                f"funding normalised but the front ATM extrinsic (as vol) is {term_ratio:.2f} x the "
                f"next month's (> {term_max:.2f}): the front end still prices stress, the roll waits")
    elif carried is not None and calm_enough and normal:
        roll_legs, to = _roll_legs(chain, spot, carried, p)
        if roll_legs:
            units = int(carried.get("widened_contracts") or 1)
            all_legs.append(_legs_frame(roll_legs).with_columns(quantity=pl.col("ratio") * units))
            row.update(roll=True, roll_expiry=carried["widened_expiry"],
                       roll_from_short_put=carried["widened_short_put"] if "put" in to else None,
                       roll_to_short_put=to.get("put"),
                       roll_from_short_call=carried["widened_short_call"] if "call" in to else None,
                       roll_to_short_call=to.get("call"))
            why.add("roll back in", "core.signals_daily.funding_apr_z", fz,
                    f"funding normalised (z < {p.funding_normal_z:g}) and score < {p.roll_below_score:g}: roll "
                    f"the {carried['widened_expiry']} widened shorts to the {p.short_delta:g}-delta strikes "
                    + ", ".join(f"{k} -> {v:g}" for k, v in to.items())
                    + (f"; front/back ATM extrinsic {term_ratio:.2f} <= {term_max:.2f}" if term_ratio is not None else ""))
        carried = None  # rolled (or nothing left to roll): the widened position is closed out
    elif carried is not None and normal is None and calm_enough:
        why.add("no roll guidance", "core.signals_daily.funding_apr_z", None,
                "widened position open but no funding data to tell normalisation")
    if applied > 0:
        carried = {"widened_root": m["root"], "widened_expiry": m["expiry"],
                   "widened_short_put": m["short_put"], "widened_long_put": m["long_put"],
                   "widened_short_call": m["short_call"], "widened_long_call": m["long_call"],
                   "widened_contracts": n}
    if carried is not None:
        row.update(carried)
    row["structure"] = "+".join(structure)
    for c, v in (("credit", m["credit_pts"]), ("max loss", m["max_loss_pts"])):
        why.add(c, "raw.option_quotes.bid/ask", v, "per condor, points: sell at bid, buy at ask")
    legs_out = pl.concat(all_legs, how="vertical")
    payoff = payoff_table(as_of, spot, legs_out, p, vix0, cal, vx, metrics=m)  # m: these condor legs
    rec = done("ok", "", legs_out, payoff)
    return rec
