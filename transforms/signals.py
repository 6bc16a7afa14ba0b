"""core.signals_daily: the crowded-unwind score, its components and the regime state machine
(the forward-outcome study, core.signal_evidence, is transforms/evidence.py).

Pure Polars + numpy: core market tables in, frames out. No I/O, DuckDB, Prefect or sources import.
Method, weights and the state machine are documented in docs/alvh.md.
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.rolling import trailing_z

COMPONENTS = ("gamma", "funding", "breadth", "volatility", "events")
EVENT_KINDS = ("cpi", "ppi", "fomc")


class SignalParams(BaseModel):
    """Every choice that changes a signal number (defaults and reasons in docs/alvh.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    underlying: str = "SPX"
    gamma_preset: str = Field("default", description="core.gamma_daily preset the signal reads")
    funding_venue: str = "composite"
    funding_symbol: str = "ALL"
    breadth_exchange: str | None = Field(
        None, description="core.breadth_daily exchange; None: NYSE when present, else the "
                          "exchange with the most rows")
    # -- dealer gamma
    gex_window: int = Field(60, ge=5, description="trailing sessions (strictly before the row) of "
                                                  "the net-GEX z-score")
    gex_min_periods: int = Field(20, ge=3)
    gex_std_floor_usd: float = Field(1e8, gt=0, description="floor on the window's std of net GEX")
    gex_z_full: float = Field(2.0, gt=0, description="-z at which the z part of gamma is 1")
    gamma_sharp_z: float = Field(-1.0, description="gamma sharply negative: net GEX < 0 and "
                                                   "z <= this")
    # -- funding
    funding_z_full: float = Field(2.0, gt=0, description="z at which the z part of funding is 1 "
                                                         "(= core.funding_daily spike threshold)")
    funding_elevated_z: float = Field(1.0, description="funding above its history: z >= this")
    funding_normal_z: float = Field(0.5, description="funding normalised: z < this")
    funding_spike_oi_weight: float = Field(0.25, ge=0, description="weight of 'funding spike with "
                                           "rising OI' in the funding part (z and percentile: 0.5 each)")
    liquidation_cascade_weight: float = Field(0.25, ge=0, description="weight of 'liquidation cascade' "
                                              "in the funding part (stated, not fitted)")
    # -- breadth
    divergence_lookback: int = Field(10, ge=1, description="sessions (today included) in which a "
                                                           "bearish A/D divergence counts")
    mcclellan_full: float = Field(50.0, gt=0, description="-oscillator at which the McClellan part "
                                                          "is 1")
    # -- volatility
    term_ratio_calm: float = Field(0.90, description="VIX/VIX3M at or below: no stress")
    term_ratio_full: float = Field(1.05, description="VIX/VIX3M at or above: full stress")
    roll_full: float = Field(0.05, gt=0, description="VX1 backwardation vs VIX (-roll yield) at "
                                                     "which the roll part is 1")
    # -- events
    event_days: int = Field(1, ge=0, description="a CPI/PPI/FOMC release within this many "
                                                 "sessions ahead (0 = release day) raises caution")
    # -- score
    weights: dict[str, float] = Field(
        default_factory=lambda: {"gamma": 0.35, "funding": 0.30, "breadth": 0.15,
                                 "volatility": 0.10, "events": 0.10},
        description="component weights; a missing component counts as neutral (0 points), so the "
                    "score is shrunk toward 0 by the coverage (share of the weight present)")
    min_components: int = Field(2, ge=1, description="the score moves the regime (calm -> crowded, "
                                "re-crowding) only with at least this many components present: "
                                "no regime from one input")
    # -- regime state machine
    crowded_enter: float = Field(50.0, ge=0, le=100, description="calm -> crowded at score >= this")
    crowded_exit: float = Field(35.0, ge=0, le=100, description="crowded -> calm after "
                                "exit_sessions sessions below this (hysteresis)")
    exit_sessions: int = Field(3, ge=1)
    shock_ret: float = Field(-0.02, lt=0, description="SPX 1-session return (fraction) at or below: shock")
    shock_ret5: float = Field(-0.04, lt=0, description="SPX 5-session return (fraction) at or below: shock")
    unwinding_min_sessions: int = Field(3, ge=1, description="sessions an unwind lasts at least")
    recovery_sessions: int = Field(10, ge=1, description="sessions of recovery before calm")
    # -- evidence
    horizons: tuple[int, ...] = Field((5, 20), description="forward sessions of the evidence")
    ic_be_sigma: float = Field(1.0, gt=0, description="evidence IC break-evens at +-this many "
                                                      "VIX-implied sigmas over the horizon")
    periods_per_year: int = 252

    @model_validator(mode="after")
    def _check(self) -> SignalParams:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown signal components {sorted(unknown)}; known: {COMPONENTS}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        if self.crowded_exit > self.crowded_enter:
            raise ValueError("crowded_exit must not exceed crowded_enter")
        if not self.term_ratio_calm < self.term_ratio_full:
            raise ValueError("term_ratio_calm must be below term_ratio_full")
        if not self.horizons or any(h < 1 for h in self.horizons):
            raise ValueError("horizons must be positive session counts")
        return self

    def weight(self, component: str) -> float:
        return float(self.weights.get(component, 0.0))


SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "spx_close": pl.Float64(),
    "spx_ret": pl.Float64(),
    "spx_ret5": pl.Float64(),
    # gamma
    "net_gex_usd_per_pct": pl.Float64(),
    "gex_z": pl.Float64(),
    "gex_negative": pl.Boolean(),
    "zero_gamma": pl.Float64(),
    "spot_below_flip": pl.Boolean(),
    "gex_macd_hist_usd": pl.Float64(),
    "gex_macd_bearish": pl.Boolean(),
    "gex_macd_cross_down": pl.Boolean(),
    "gamma_sharp": pl.Boolean(),
    "gamma_score": pl.Float64(),
    # funding
    "funding_apr": pl.Float64(),
    "funding_apr_z": pl.Float64(),
    "funding_apr_pctile": pl.Float64(),
    "funding_spike": pl.Boolean(),
    "funding_elevated": pl.Boolean(),
    "funding_normal": pl.Boolean(),
    "funding_score": pl.Float64(),
    # breadth
    "breadth_exchange": pl.String(),
    "ad_divergence_bearish": pl.Boolean(),
    "ad_divergence_recent": pl.Int64(),
    "mcclellan_osc": pl.Float64(),
    "breadth_score": pl.Float64(),
    # volatility
    "vix": pl.Float64(),
    "vix_vix3m_ratio": pl.Float64(),
    "vix_vix3m_inverted": pl.Boolean(),
    "vx1_roll_yield": pl.Float64(),
    "volatility_score": pl.Float64(),
    # events
    "next_event": pl.String(),
    "days_to_event_td": pl.Int64(),
    "cpi_soon": pl.Boolean(),
    "ppi_soon": pl.Boolean(),
    "fomc_soon": pl.Boolean(),
    "events_score": pl.Float64(),
    # score
    "gamma_score_pts": pl.Float64(),
    "funding_score_pts": pl.Float64(),
    "breadth_score_pts": pl.Float64(),
    "volatility_score_pts": pl.Float64(),
    "events_score_pts": pl.Float64(),
    "weight_available": pl.Float64(),
    "components_available": pl.Int64(),
    "components_missing": pl.String(),
    "unwind_score": pl.Float64(),
    "coverage": pl.Float64(),
    "unwind_score_raw": pl.Float64(),
    "convergence": pl.Boolean(),
    "shock": pl.Boolean(),
    "regime": pl.String(),
    "regime_prev": pl.String(),
    "regime_sessions": pl.Int64(),
    "regime_reason": pl.String(),
    "params_json": pl.String(),
}

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _clip01(e: pl.Expr) -> pl.Expr:
    return e.clip(0.0, 1.0)


def _part(flag: pl.Expr) -> pl.Expr:
    """A boolean as a 0/1 part (null stays null: the part is missing that day)."""
    return flag.cast(pl.Float64)


def _blend(parts: list[tuple[pl.Expr, float]]) -> pl.Expr:
    """Weighted mean of the parts present on the row (null parts drop out; all null -> null)."""
    num = pl.sum_horizontal([(p * w).fill_null(0.0) for p, w in parts])
    den = pl.sum_horizontal([pl.when(p.is_not_null()).then(pl.lit(w)).otherwise(0.0) for p, w in parts])
    return pl.when(den > 0).then(num / den).otherwise(None)


def _trailing_z(x: pl.Expr, window: int, min_periods: int, floor: float) -> pl.Expr:
    """(x - mean) / max(std, floor) over the `window` rows strictly before the row
    (transforms/rolling.trailing_z, the one implementation)."""
    return x.cast(pl.Float64).map_batches(
        lambda s: pl.Series(trailing_z(s.fill_null(np.nan).to_numpy(), window, min_periods, floor)).fill_nan(None),
        return_dtype=pl.Float64)


def _empty_or_none(f: pl.DataFrame | None) -> bool:
    return f is None or f.is_empty()


# --------------------------------------------------------------------------------------------------
# components
# --------------------------------------------------------------------------------------------------
def _gamma(gamma_daily: pl.DataFrame | None, p: SignalParams) -> pl.DataFrame | None:
    if _empty_or_none(gamma_daily):
        return None
    g = gamma_daily
    if "underlying" in g.columns:
        g = g.filter(pl.col("underlying") == p.underlying)
    if "preset" in g.columns:
        g = g.filter(pl.col("preset") == p.gamma_preset)
    if g.is_empty():
        return None
    for c in ("zero_gamma", "gex_macd_hist_usd"):
        if c not in g.columns:
            g = g.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    g = g.sort("date").select(
        "date", pl.col("spot").cast(pl.Float64).alias("gamma_spot"),
        pl.col("net_gex_usd_per_pct").cast(pl.Float64), pl.col("zero_gamma").cast(pl.Float64),
        pl.col("gex_macd_hist_usd").cast(pl.Float64))
    hist = pl.col("gex_macd_hist_usd")
    g = g.with_columns(
        gex_z=_trailing_z(pl.col("net_gex_usd_per_pct"), p.gex_window, p.gex_min_periods, p.gex_std_floor_usd),
        gex_negative=pl.col("net_gex_usd_per_pct") < 0,
        spot_below_flip=pl.col("gamma_spot") < pl.col("zero_gamma"),
        gex_macd_bearish=hist < 0,
        gex_macd_cross_down=(hist < 0) & (hist.shift(1) >= 0),
    )
    return g.with_columns(
        gamma_sharp=pl.col("gex_negative") & (pl.col("gex_z") <= p.gamma_sharp_z),
        gamma_score=_blend([
            (_clip01(-pl.col("gex_z") / p.gex_z_full), 0.4),
            (_part(pl.col("gex_negative")), 0.2),
            (_part(pl.col("spot_below_flip")), 0.2),
            (_part(pl.col("gex_macd_bearish")), 0.2),
        ]),
    )


def _funding(funding_daily: pl.DataFrame | None, p: SignalParams) -> pl.DataFrame | None:
    if _empty_or_none(funding_daily):
        return None
    f = funding_daily.filter((pl.col("venue") == p.funding_venue) & (pl.col("symbol") == p.funding_symbol))
    if f.is_empty():
        return None
    z = pl.col("funding_apr_z")
    # perp positioning flags (transforms/perp_positioning.py), when the table carries them
    flags = [(c, w) for c, w in (("funding_spike_rising_oi", p.funding_spike_oi_weight),
                                 ("liquidation_cascade", p.liquidation_cascade_weight))
             if c in f.columns and w > 0]
    f = f.sort("date").select(
        "date", pl.col("funding_apr").cast(pl.Float64), z.cast(pl.Float64),
        pl.col("funding_apr_pctile").cast(pl.Float64), pl.col("funding_spike"),
        *(pl.col(c).cast(pl.Boolean).alias(f"_{c}") for c, _ in flags),
    ).with_columns(
        funding_elevated=z >= p.funding_elevated_z,
        funding_normal=z < p.funding_normal_z,
        funding_score=_blend([
            (_clip01(z / p.funding_z_full), 0.5),
            (_clip01((pl.col("funding_apr_pctile") - 50.0) / 50.0), 0.5),
            *((_part(pl.col(f"_{c}")), w) for c, w in flags),
        ]),
    )
    return f.drop([f"_{c}" for c, _ in flags])


def pick_exchange(breadth_daily: pl.DataFrame, wanted: str | None) -> str | None:
    names = breadth_daily["exchange"].value_counts(sort=True)
    if names.is_empty():
        return None
    if wanted is not None:
        return wanted if wanted in names["exchange"].to_list() else None
    if "NYSE" in names["exchange"].to_list():
        return "NYSE"
    top = names.sort(["count", "exchange"], descending=[True, False])
    return top["exchange"][0]


def _breadth(breadth_daily: pl.DataFrame | None, p: SignalParams) -> pl.DataFrame | None:
    if _empty_or_none(breadth_daily):
        return None
    ex = pick_exchange(breadth_daily, p.breadth_exchange)
    if ex is None:
        return None
    b = breadth_daily.filter(pl.col("exchange") == ex).sort("date")
    div = pl.col("ad_divergence_bearish")
    return b.select(
        "date", pl.lit(ex).alias("breadth_exchange"), div,
        pl.col("mcclellan_osc").cast(pl.Float64),
    ).with_columns(
        ad_divergence_recent=div.cast(pl.Int64).rolling_sum(p.divergence_lookback, min_samples=1),
    ).with_columns(
        breadth_score=_blend([
            (pl.when(div.is_null() & (pl.col("ad_divergence_recent").is_null())).then(None)
             .otherwise((pl.col("ad_divergence_recent").fill_null(0) > 0).cast(pl.Float64)), 0.5),
            (_clip01(-pl.col("mcclellan_osc") / p.mcclellan_full), 0.5),
        ]),
    )


def _volatility(vol_daily: pl.DataFrame | None, p: SignalParams) -> pl.DataFrame | None:
    if _empty_or_none(vol_daily):
        return None
    ratio = pl.col("vix_vix3m_ratio")
    span = p.term_ratio_full - p.term_ratio_calm
    v = vol_daily.sort("date").select(
        "date", pl.col("spx_close").cast(pl.Float64).alias("vol_spx_close"),
        pl.col("vix").cast(pl.Float64), ratio.cast(pl.Float64), pl.col("vix_vix3m_inverted"),
        pl.col("vx1_roll_yield").cast(pl.Float64),
    )
    return v.with_columns(
        volatility_score=_blend([
            (_clip01((ratio - p.term_ratio_calm) / span), 0.5),
            (_clip01(-pl.col("vx1_roll_yield") / p.roll_full), 0.5),
        ]),
    )


def _events(macro_daily: pl.DataFrame | None, p: SignalParams) -> pl.DataFrame | None:
    if _empty_or_none(macro_daily):
        return None
    m = macro_daily.sort("date")
    cols = {k: f"days_to_{k}_td" for k in EVENT_KINDS if f"days_to_{k}_td" in m.columns}
    if not cols:
        return None
    m = m.select("date", *[pl.col(c).cast(pl.Int64) for c in cols.values()])
    soon = {f"{k}_soon": pl.col(c) <= p.event_days for k, c in cols.items()}
    nearest = pl.min_horizontal([pl.col(c) for c in cols.values()])
    # the event with the fewest sessions to go (ties: CPI, PPI, FOMC order)
    name = pl.lit(None, dtype=pl.String)
    for k, c in reversed(list(cols.items())):
        name = pl.when(pl.col(c) == nearest).then(pl.lit(k.upper())).otherwise(name)
    out = m.with_columns(**{k: e.fill_null(False) for k, e in soon.items()},
                         days_to_event_td=nearest, next_event=name)
    for k in EVENT_KINDS:
        if f"{k}_soon" not in out.columns:
            out = out.with_columns(pl.lit(False).alias(f"{k}_soon"))
    any_soon = pl.any_horizontal([pl.col(f"{k}_soon") for k in EVENT_KINDS])
    # No release scheduled at all (all days_to null): the calendar is missing, not a calm day.
    return out.with_columns(
        events_score=pl.when(nearest.is_null()).then(None).otherwise(any_soon.cast(pl.Float64)))


# --------------------------------------------------------------------------------------------------
# regime state machine
# --------------------------------------------------------------------------------------------------
def regime_path(score: np.ndarray, convergence: np.ndarray, shock: np.ndarray,
                term_ratio: np.ndarray, p: SignalParams,
                components: np.ndarray | None = None) -> tuple[list[str], list[str], list[int], list[str]]:
    """Run the state machine forward, one session at a time (point in time: state at i uses
    rows <= i only). Inputs are arrays (score NaN = missing; term_ratio NaN = unknown).
    components: score components present per row; a score resting on fewer than
    p.min_components is treated as missing (no regime from one input). A shock (an SPX return)
    is a market fact, not a score, and still starts an unwind.

    Returns (regime, previous regime, sessions in regime, reason) per row.
    """
    n = len(score)
    state, prev_state, count, below = "calm", "calm", 0, 0
    out, prevs, counts, reasons = [], [], [], []
    for i in range(n):
        s, conv, shk, ratio = score[i], bool(convergence[i]), bool(shock[i]), term_ratio[i]
        has_s = not math.isnan(s) and (components is None or int(components[i]) >= p.min_components)
        new, reason = state, "held"
        below = below + 1 if (has_s and s < p.crowded_exit and not conv) else 0
        if shk:
            new, reason = "unwinding", "shock: SPX return at or below the shock threshold"
        elif state == "calm":
            if conv:
                new, reason = "crowded", "convergence: gamma sharply negative and funding elevated"
            elif has_s and s >= p.crowded_enter:
                new, reason = "crowded", f"score {s:.0f} >= {p.crowded_enter:g}"
        elif state == "crowded":
            if below >= p.exit_sessions:
                new, reason = "calm", f"score < {p.crowded_exit:g} for {p.exit_sessions} sessions"
        elif state == "unwinding":
            inverted = not math.isnan(ratio) and ratio >= 1.0
            if count >= p.unwinding_min_sessions and not inverted:
                new, reason = "recovery", "no shock, VIX term structure back in contango"
        elif state == "recovery":
            if conv and has_s and s >= p.crowded_enter:
                new, reason = "crowded", "re-crowding: convergence and score above entry"
            elif count >= p.recovery_sessions:
                new, reason = "calm", f"{p.recovery_sessions} sessions of recovery"
        if new != state:
            prev_state, count, below = state, 1, 0
        elif shk:  # a new shock inside an unwind restarts its clock
            count = 1
        else:
            count += 1
        state = new
        out.append(state)
        prevs.append(prev_state)
        counts.append(count)
        reasons.append(reason)
    return out, prevs, counts, reasons


# --------------------------------------------------------------------------------------------------
# core.signals_daily
# --------------------------------------------------------------------------------------------------
def signals_daily(gamma_daily: pl.DataFrame | None, funding_daily: pl.DataFrame | None = None,
                  breadth_daily: pl.DataFrame | None = None, vol_daily: pl.DataFrame | None = None,
                  macro_daily: pl.DataFrame | None = None,
                  params: SignalParams | None = None) -> pl.DataFrame:
    """One row per date with an SPX close or a gamma row (the union), ascending.

    Pass the full stored history (from a fixed start): trailing z-scores and the regime state
    machine run forward from the first row, so a row for D depends on rows <= D only.
    Macro rows after the last market date are ignored (they are calendar facts, not sessions).
    """
    p = params or SignalParams()
    parts = {"gamma": _gamma(gamma_daily, p), "funding": _funding(funding_daily, p),
             "breadth": _breadth(breadth_daily, p), "volatility": _volatility(vol_daily, p),
             "events": _events(macro_daily, p)}
    spine_parts = [f.select("date") for k, f in parts.items() if f is not None and k in ("gamma", "volatility")]
    if not spine_parts:
        return pl.DataFrame(schema=SCHEMA)
    spine = pl.concat(spine_parts).unique().sort("date")
    df = spine
    for f in parts.values():
        if f is not None:
            df = df.join(f, on="date", how="left")
    for c, t in SCHEMA.items():
        if c not in df.columns and c not in ("spx_close",):
            df = df.with_columns(pl.lit(None, dtype=t).alias(c))
    for extra in ("vol_spx_close", "gamma_spot"):
        if extra not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias(extra))
    df = df.with_columns(spx_close=pl.coalesce("vol_spx_close", "gamma_spot"))
    close = pl.col("spx_close")
    df = df.with_columns(
        spx_ret=close / close.shift(1) - 1.0,
        spx_ret5=close / close.shift(5) - 1.0,
    )

    # Score, 0-100, coverage-aware: a missing component is neutral (0 points), so the score is the
    # weighted mean of the components present (unwind_score_raw) shrunk toward 0 by the coverage
    # (share of the total weight present); the points add up to the score. docs/alvh.md.
    w = {c: p.weight(c) for c in COMPONENTS}
    w_total = sum(w.values())
    avail = {c: pl.col(f"{c}_score").is_not_null() & pl.lit(w[c] > 0) for c in COMPONENTS}
    wsum = pl.sum_horizontal([pl.when(avail[c]).then(pl.lit(w[c])).otherwise(0.0) for c in COMPONENTS])
    df = df.with_columns(weight_available=wsum, coverage=wsum / w_total)
    df = df.with_columns(**{
        f"{c}_score_pts": pl.when(avail[c] & (pl.col("weight_available") > 0))
        .then(100.0 * w[c] * pl.col(f"{c}_score") / w_total)
        .otherwise(None)
        for c in COMPONENTS})
    missing = pl.concat_str(
        [pl.when(~avail[c]).then(pl.lit(c)) for c in COMPONENTS if w[c] > 0], separator=",",
        ignore_nulls=True)
    df = df.with_columns(
        unwind_score=pl.when(pl.col("weight_available") > 0)
        .then(pl.sum_horizontal([pl.col(f"{c}_score_pts").fill_null(0.0) for c in COMPONENTS]))
        .otherwise(None),
        unwind_score_raw=pl.when(pl.col("weight_available") > 0)
        .then((pl.sum_horizontal([pl.col(f"{c}_score_pts").fill_null(0.0) for c in COMPONENTS])
               * w_total / pl.col("weight_available")).clip(0.0, 100.0))  # rescaling rounds past 100
        .otherwise(None),
        components_available=pl.sum_horizontal([avail[c].cast(pl.Int64) for c in COMPONENTS]),
        components_missing=missing,
        convergence=(pl.col("gamma_sharp").fill_null(False) & pl.col("funding_elevated").fill_null(False)),
        shock=((pl.col("spx_ret") <= p.shock_ret) | (pl.col("spx_ret5") <= p.shock_ret5))
        .fill_null(False),
    )
    regime, prev, count, reason = regime_path(
        df["unwind_score"].fill_null(np.nan).to_numpy().astype(float),
        df["convergence"].to_numpy(), df["shock"].to_numpy(),
        df["vix_vix3m_ratio"].fill_null(np.nan).to_numpy().astype(float), p,
        df["components_available"].to_numpy())
    df = df.with_columns(
        regime=pl.Series(regime, dtype=pl.String), regime_prev=pl.Series(prev, dtype=pl.String),
        regime_sessions=pl.Series(count, dtype=pl.Int64),
        regime_reason=pl.Series(reason, dtype=pl.String),
        params_json=pl.lit(params_json(p)),
    )
    return df.select(list(SCHEMA)).cast(SCHEMA)


def params_json(p: BaseModel) -> str:
    return json.dumps(p.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

