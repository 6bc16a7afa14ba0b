"""Dealer gamma exposure (GEX) from raw.option_quotes rows: by strike, by expiry, the spot profile,
the zero-gamma flip(s), walls, the daily summary and its MACD. Conventions are a GammaConventions.

Pure polars + numpy: frames and parameters in, frames out. No I/O, DuckDB, Prefect or sources import.

Unit: GEX in USD per 1 % move of the underlying = gamma × open interest × multiplier × S² × 0.01,
signed from the dealers' side (default: dealers long calls, short puts). Beside it, with the same
dealer sign: vanna exposure in USD of underlying per 1 vol point (∂Δ/∂σ × 0.01 × OI × multiplier × S)
and charm exposure in USD of underlying per day (−∂Δ/∂T / days per year × OI × multiplier × S): how
the dealers' option delta moves when IV rises one point / one day passes (their hedge trades the
opposite). Every underlying in transforms.conventions.OPTION_ROOTS with dealer_gamma; rows of other
roots are left out and reported by `unknown_roots`. See docs/gamma.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, time
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import brentq

from transforms import greeks
from transforms.conventions import (
    AM_SETTLED_INDEX_ROOTS,
    GAMMA_ROOTS,
    OPTION_ROOTS,
    SPX_MULTIPLIER,
    t_years,
)

CONTRACT_MULTIPLIER = SPX_MULTIPLIER  # the profile kernel's unit (weights are scaled by multiplier / this)
ROOT_MULTIPLIER: dict[str, float] = {r: c.multiplier for r, c in OPTION_ROOTS.items() if c.dealer_gamma}
VOL_PT = 0.01  # one vol point (IV 0.20 -> 0.21)
PCT_MOVE = 0.01
_SQRT_2PI = math.sqrt(2.0 * math.pi)
# A row whose d1 stays beyond ±9 over a whole spot range contributes at most e^{-40.5} ≈ 2.6e-18 of
# its own peak there: below the rounding of any sum it joins, so it is skipped without changing a digit.
_Z_CUT = 9.0


# --------------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------------
class GammaConventions(BaseModel):
    """Every choice that changes a GEX number. Use `GammaConventions.preset(name, **overrides)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("custom", description="Stored in the `preset` column of every gamma table")
    spot_gamma: Literal["vendor", "model"] = Field(
        "model", description="Spot GEX, by-strike, by-expiry and walls from the vendor Gamma column "
                             "or from Black–Scholes gamma repriced from the vendor IV")
    time_basis: Literal["business_days", "calendar_to_settlement"] = Field(
        "calendar_to_settlement",
        description="business_days: numpy business days from the snapshot's New York date to the "
                    "expiry / business_days_per_year (0 -> 1 day). calendar_to_settlement: ACT/365 "
                    "from the snapshot instant to the settlement instant")
    business_days_per_year: float = Field(262.0, gt=0)
    days_per_year: float = Field(365.0, gt=0)
    am_settled_roots: frozenset[str] = Field(
        AM_SETTLED_INDEX_ROOTS,
        description="Roots settled on the opening print of the expiry day (SOQ); others at the close")
    am_settle_time: time = time(9, 30)
    pm_settle_time: time = time(16, 0)
    early_close_time: time = time(13, 0)
    early_closes: frozenset[date] = Field(
        frozenset(), description="Half-day sessions (PM-settled options settle at early_close_time); "
                                 "the flow passes them from the XNYS calendar")
    exchange_tz: str = "America/New_York"
    rate: float = Field(0.0, description="r, continuously compounded, annual")
    div_yield: float = Field(0.0, description="q, continuously compounded, annual")
    dealer: Literal["long_calls_short_puts", "short_calls_short_puts"] = "long_calls_short_puts"
    expiry_cutoff: Literal["snapshot_date", "settlement"] = Field(
        "settlement",
        description="snapshot_date: a row is expired when its expiry is before the snapshot's New "
                    "York date (raw `expired`). settlement: when its settlement instant is at or "
                    "before the snapshot instant (an evening file's same-day expiries are gone)")
    keep_expired: bool = Field(False, description="Keep expired rows in the sums (they are counted "
                                                  "in expired_rows either way)")
    iv_fill: Literal["none", "other_right"] = Field(
        "other_right",
        description="IV = 0 rows (vendor could not imply one; often ITM with OI): none keeps 0 "
                    "(no model gamma); other_right takes the IV of the opposite right at the same "
                    "root/expiry/strike, as put-call parity implies")
    grid_low: float = Field(0.8, gt=0, description="Profile range, as a multiple of spot")
    grid_high: float = Field(1.2, gt=0)
    grid_points: int = Field(60, ge=2, le=100_000)
    flip_refine: Literal["exact", "linear"] = Field(
        "exact", description="exact: Brent on the repriced profile inside each bracketing grid "
                             "cell; linear: interpolate the grid (the coarse reference value)")
    flip_pick: Literal["first", "nearest"] = Field(
        "nearest", description="Which sign change is `zero_gamma`: the lowest, or the nearest spot")
    flip_xtol_rel: float = Field(1e-10, gt=0, description="Root tolerance, relative to spot")
    top_oi_count: int = Field(5, ge=1)
    chunk_elements: int = Field(1 << 20, ge=1024,
                                description="Max rows × levels evaluated at once (memory bound)")

    @model_validator(mode="after")
    def _range(self) -> GammaConventions:
        if not self.grid_low < self.grid_high:
            raise ValueError(f"grid_low {self.grid_low} must be below grid_high {self.grid_high}")
        return self

    @classmethod
    def preset(cls, name: str, **overrides) -> GammaConventions:
        try:
            base = PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown gamma preset {name!r}; known: {', '.join(PRESETS)}") from None
        return base.model_copy(update=overrides) if overrides else base

    @property
    def call_sign(self) -> float:
        return 1.0 if self.dealer == "long_calls_short_puts" else -1.0

    @property
    def put_sign(self) -> float:
        return -1.0


PRESETS: dict[str, GammaConventions] = {
    # Reproduces ../shared/realdata/README.md (Perfiliev's published method, made exact).
    "perfiliev": GammaConventions(
        name="perfiliev", spot_gamma="vendor", time_basis="business_days",
        expiry_cutoff="snapshot_date", iv_fill="none", rate=0.0, div_yield=0.0,
        grid_low=0.8, grid_high=1.2, grid_points=60, flip_refine="exact", flip_pick="first",
        am_settled_roots=frozenset()),
    # What to trust with money: one model for spot and profile, real time to settlement.
    "default": GammaConventions(
        name="default", spot_gamma="model", time_basis="calendar_to_settlement",
        expiry_cutoff="settlement", iv_fill="other_right",
        grid_low=0.8, grid_high=1.2, grid_points=81, flip_refine="exact", flip_pick="nearest"),
}


def resolve(conventions: GammaConventions | str | None) -> GammaConventions:
    if conventions is None:
        return PRESETS["default"]
    if isinstance(conventions, str):
        return GammaConventions.preset(conventions)
    return conventions


# --------------------------------------------------------------------------------------------------
# Output schemas (one per core table; see warehouse/ddl/20_core_gamma.sql for grains and units)
# --------------------------------------------------------------------------------------------------
BY_STRIKE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(), "underlying": pl.String(), "preset": pl.String(), "strike": pl.Float64(),
    "call_gex_usd_per_pct": pl.Float64(), "put_gex_usd_per_pct": pl.Float64(), "net_gex_usd_per_pct": pl.Float64(),
    "call_oi": pl.Int64(), "put_oi": pl.Int64(), "contracts": pl.Int64(),
    "net_vanna_usd_per_vol_pt": pl.Float64(), "net_charm_usd_per_day": pl.Float64(),
}
BY_EXPIRY_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(), "underlying": pl.String(), "preset": pl.String(), "root": pl.String(),
    "expiry": pl.Date(), "dte_days": pl.Int64(), "t_years": pl.Float64(), "bucket": pl.String(),
    "call_gex_usd_per_pct": pl.Float64(), "put_gex_usd_per_pct": pl.Float64(), "net_gex_usd_per_pct": pl.Float64(),
    "call_oi": pl.Int64(), "put_oi": pl.Int64(), "contracts": pl.Int64(),
    "net_vanna_usd_per_vol_pt": pl.Float64(), "net_charm_usd_per_day": pl.Float64(),
}
PROFILE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(), "underlying": pl.String(), "preset": pl.String(), "spot_level": pl.Float64(),
    "level_pct": pl.Float64(), "call_gex_usd_per_pct": pl.Float64(), "put_gex_usd_per_pct": pl.Float64(),
    "net_gex_usd_per_pct": pl.Float64(),
}
SPOT_GEX_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(), "underlying": pl.String(), "spot": pl.Float64(),
    "net_gex_usd_per_pct": pl.Float64(), "call_gex_usd_per_pct": pl.Float64(), "put_gex_usd_per_pct": pl.Float64(),
    "contracts": pl.Int64(), "expired_rows": pl.Int64(), "preset": pl.String(),
}
DAILY_SCHEMA: dict[str, pl.DataType] = {
    **SPOT_GEX_SCHEMA,
    "quote_ts": pl.Datetime("us"), "snapshot_date": pl.Date(),
    "gross_gex_usd_per_pct": pl.Float64(),
    "zero_gamma": pl.Float64(), "zero_gamma_flips": pl.List(pl.Float64()), "flip_count": pl.Int64(),
    "zero_gamma_distance_pct": pl.Float64(),
    "flip_search_low": pl.Float64(), "flip_search_high": pl.Float64(),
    "call_wall": pl.Float64(), "put_wall": pl.Float64(), "abs_gamma_strike": pl.Float64(),
    "top_oi_strikes": pl.List(pl.Float64()), "zero_dte_share_pct": pl.Float64(),
    "net_vanna_usd_per_vol_pt": pl.Float64(), "net_charm_usd_per_day": pl.Float64(),
}
MACD_COLUMNS: dict[str, pl.DataType] = {
    "gex_macd_usd": pl.Float64(), "gex_macd_signal_usd": pl.Float64(),
    "gex_macd_hist_usd": pl.Float64(),
}
BUCKETS = ("0DTE", "<=7d", "<=30d", ">30d")
_KEYS = ["date", "underlying"]


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


# --------------------------------------------------------------------------------------------------
# Which roots count
# --------------------------------------------------------------------------------------------------
def unknown_roots(quotes: pl.DataFrame) -> pl.DataFrame:
    """The roots of `quotes` the gamma tables leave out: (root, underlying, rows, reason), by root.
    `quotes` is option rows or a summary with a `rows` count per (…, root). A root absent from transforms.conventions.OPTION_ROOTS has no known multiplier or settlement
    (never guessed as SPX); a root listed with dealer_gamma=False (VIX, VIXW) says why there."""
    schema = {"root": pl.String(), "underlying": pl.String(), "rows": pl.Int64(), "reason": pl.String()}
    if quotes.is_empty() or "root" not in quotes.columns:
        return pl.DataFrame(schema=schema)
    und = pl.col("underlying") if "underlying" in quotes.columns else pl.lit(None, pl.String)
    out = (quotes.filter(~pl.col("root").is_in(sorted(GAMMA_ROOTS)))
           .group_by("root").agg(underlying=und.first(),
                                 rows=(pl.col("rows").sum() if "rows" in quotes.columns else pl.len())
                                 .cast(pl.Int64)).sort("root"))
    reasons = [("no dealer gamma: options on a volatility index price off its futures, not the index"
                if r in OPTION_ROOTS else
                "no contract conventions (multiplier, AM/PM settlement) in transforms/conventions.py "
                "OPTION_ROOTS") for r in out["root"]]
    return out.with_columns(reason=pl.Series(reasons, dtype=pl.String)).select(list(schema)).cast(schema)


def gamma_quotes(quotes: pl.DataFrame) -> pl.DataFrame:
    """The rows of `quotes` whose root feeds the gamma tables (see `unknown_roots` for the rest)."""
    if quotes.is_empty() or "root" not in quotes.columns:
        return quotes
    return quotes.filter(pl.col("root").is_in(sorted(GAMMA_ROOTS)))


# --------------------------------------------------------------------------------------------------
# Per-contract exposure
# --------------------------------------------------------------------------------------------------
def exposure_rows(quotes: pl.DataFrame, conventions: GammaConventions | str | None = None
                  ) -> pl.DataFrame:
    """One row per quoted contract with what every gamma table is built from.

    Adds: date (= quote_date), snapshot_date (New York date of quote_ts), t_years, dte_days,
    iv_used, is_call, dealer_sign, excluded (expired under the conventions and not kept),
    expired_flag, gamma_used (vendor or model at spot) and gex_usd (signed, USD per 1 % move).
    Also vanna_usd (per 1 vol point) and charm_usd (per day of the preset's time basis), signed
    like gex_usd, from Black-Scholes at spot with iv_used (the vendor files print no vanna / charm:
    the perfiliev preset's vendor gamma does not extend to them); rows with IV or T <= 0 give 0.
    Keyed by root as well as expiry/strike/right: SPX and SPXW rows stay distinct.
    When several snapshots share a (quote_date, underlying), only the latest quote_ts is used.
    Rows of roots outside transforms.conventions.GAMMA_ROOTS are left out (`unknown_roots`).
    """
    conv = resolve(conventions)
    need = ["quote_date", "quote_ts", "root", "expiry", "strike", "right", "underlying", "spot",
            "open_interest", "iv", "gamma"]
    missing = [c for c in need if c not in quotes.columns]
    if missing:
        raise ValueError(f"option quotes lack column(s) {missing}")
    ny = conv.exchange_tz
    q = gamma_quotes(quotes.select(need)).with_columns(
        pl.col("open_interest").fill_null(0).cast(pl.Int64),
        pl.col("iv").cast(pl.Float64).fill_null(0.0).fill_nan(0.0),
        pl.col("gamma").cast(pl.Float64).fill_null(0.0).fill_nan(0.0),
        pl.col("strike").cast(pl.Float64),
        pl.col("spot").cast(pl.Float64),
        pl.col("quote_ts").cast(pl.Datetime("us")),
    ).rename({"quote_date": "date"})
    # Time-zone work is done once per distinct snapshot / expiry date, then mapped onto the rows.
    snaps = q.select(*_KEYS, "quote_ts").unique()
    if snaps.select(_KEYS).n_unique() < snaps.height:
        latest = snaps.group_by(_KEYS).agg(pl.col("quote_ts").max())
        q = q.join(latest, on=[*_KEYS, "quote_ts"], how="semi", maintain_order="left")
    snaps = q.select("quote_ts").unique().with_columns(
        snapshot_date=pl.col("quote_ts").dt.replace_time_zone("UTC").dt.convert_time_zone(ny).dt.date())
    # UTC offset of New York on each expiry day (taken at noon: DST switches at 02:00).
    noon = pl.col("expiry").cast(pl.Datetime("us")) + pl.duration(hours=12)
    offsets = q.select("expiry").unique().with_columns(
        utc_minus_local_min=(noon.dt.replace_time_zone(ny).dt.convert_time_zone("UTC")
                             .dt.replace_time_zone(None) - noon).dt.total_minutes())
    # Settlement instant (UTC): AM roots on the expiry day's open, others at the (early) close.
    am = pl.col("root").is_in(sorted(conv.am_settled_roots))
    early = pl.col("expiry").is_in(sorted(conv.early_closes)) if conv.early_closes else pl.lit(False)

    def minutes(t: time) -> int:
        return t.hour * 60 + t.minute

    settle_local_min = (pl.when(am).then(minutes(conv.am_settle_time))
                        .when(early).then(minutes(conv.early_close_time))
                        .otherwise(minutes(conv.pm_settle_time)))
    utc_shift = pl.col("expiry").replace_strict(offsets["expiry"], offsets["utc_minus_local_min"])
    q = q.with_columns(
        snapshot_date=pl.col("quote_ts").replace_strict(snaps["quote_ts"], snaps["snapshot_date"]),
        settle_ts=pl.col("expiry").cast(pl.Datetime("us"))
        + pl.duration(minutes=settle_local_min + utc_shift),
        is_call=pl.col("right") == "C",
        dte_days=(pl.col("expiry") - pl.col("date")).dt.total_days().cast(pl.Int64),
    )
    if conv.time_basis == "calendar_to_settlement":
        q = q.with_columns(t_years=t_years(pl.col("quote_ts"), pl.col("settle_ts"),
                                           days_per_year=conv.days_per_year))
    else:
        days = np.busday_count(q["snapshot_date"].to_numpy().astype("datetime64[D]"),
                               q["expiry"].to_numpy().astype("datetime64[D]"))
        t = np.where(days == 0, 1.0, days) / conv.business_days_per_year
        q = q.with_columns(t_years=pl.Series(t, dtype=pl.Float64))
    if conv.expiry_cutoff == "snapshot_date":
        expired = pl.col("expiry") < pl.col("snapshot_date")
    else:
        expired = pl.col("settle_ts") <= pl.col("quote_ts")
    q = q.with_columns(expired_flag=expired).with_columns(
        excluded=pl.col("expired_flag") & (not conv.keep_expired),
        dealer_sign=pl.when(pl.col("is_call")).then(conv.call_sign).otherwise(conv.put_sign),
        iv_used=pl.col("iv").clip(lower_bound=0.0),
    )
    if conv.iv_fill == "other_right":
        q = q.with_columns(iv_used=_iv_from_other_right(q))
    gamma_used = q["gamma"].to_numpy() if conv.spot_gamma == "vendor" else _chunked_gamma(q, conv)
    vanna, charm = _chunked_vanna_charm(q, conv)
    per_day = conv.days_per_year if conv.time_basis == "calendar_to_settlement" \
        else conv.business_days_per_year
    delta_usd = pl.col("open_interest") * pl.col("multiplier") * pl.col("spot") * pl.col("dealer_sign")
    return q.with_columns(
        gamma_used=pl.Series(gamma_used, dtype=pl.Float64),
        multiplier=pl.col("root").replace_strict(ROOT_MULTIPLIER, return_dtype=pl.Float64),
    ).with_columns(
        gex_usd=pl.col("gamma_used") * pl.col("open_interest") * pl.col("multiplier")
        * pl.col("spot") ** 2 * PCT_MOVE * pl.col("dealer_sign"),
        vanna_usd=pl.Series(vanna, dtype=pl.Float64) * VOL_PT * delta_usd,
        charm_usd=pl.Series(charm, dtype=pl.Float64) / per_day * delta_usd,
    ).drop("settle_ts")


def _iv_from_other_right(q: pl.DataFrame) -> pl.Series:
    """iv_used where the vendor IV is 0: the opposite right's IV at the same date/root/expiry/strike
    (put-call parity: one implied vol per strike), else 0.

    Only the few IV = 0 rows are looked up: rows are matched on a 64-bit hash of the key, narrowed
    with is_in, then the real key columns are compared, so a hash collision can never pair rows."""
    keys = ["date", "underlying", "root", "expiry", "strike"]
    iv = q["iv_used"]
    if not (iv <= 0).any():
        return iv
    h = q.select(k=pl.struct(keys).hash(seed=0), right="right", iv="iv_used").with_row_index("row")
    holes = h.filter(pl.col("iv") <= 0).select(
        "row", "k", right=pl.when(pl.col("right") == "C").then(pl.lit("P")).otherwise(pl.lit("C")))
    donors = h.filter((pl.col("iv") > 0) & pl.col("k").is_in(holes["k"].implode()))
    pairs = holes.join(donors.select("k", "right", donor="row", donor_iv="iv"), on=["k", "right"])
    if pairs.is_empty():
        return iv
    same = pl.all_horizontal(
        pl.Series(q[c].gather(pairs["row"])) == pl.Series(q[c].gather(pairs["donor"])) for c in keys)
    pairs = pairs.filter(pl.select(same).to_series())
    return iv.scatter(pairs["row"], pairs["donor_iv"]) if pairs.height else iv


def _chunked_gamma(q: pl.DataFrame, conv: GammaConventions, chunk: int = 1 << 18) -> np.ndarray:
    """Model gamma at spot, a bounded number of rows at a time (greeks keeps ~15 temporaries)."""
    cols = [q[c].to_numpy() for c in ("spot", "strike", "t_years", "iv_used")]
    out = np.empty(q.height)
    for i in range(0, q.height, chunk):
        s, k, t, v = (c[i:i + chunk] for c in cols)
        out[i:i + chunk] = greeks.gamma(s, k, t, v, conv.rate, conv.div_yield)
    return out


def _chunked_vanna_charm(q: pl.DataFrame, conv: GammaConventions, chunk: int = 1 << 18
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Model vanna (per 1.00 of vol) and charm (per year) at spot; 0 where IV or T <= 0, as gamma."""
    cols = [q[c].to_numpy() for c in ("spot", "strike", "t_years", "iv_used", "is_call")]
    vanna, charm = np.empty(q.height), np.empty(q.height)
    for i in range(0, q.height, chunk):
        s, k, t, v, c = (x[i:i + chunk] for x in cols)
        out = greeks.vanna_charm(s, k, t, v, c, conv.rate, conv.div_yield)
        live = (v > 0) & (t > 0)
        vanna[i:i + chunk] = np.where(live, out["vanna"], 0.0)
        charm[i:i + chunk] = np.where(live, out["charm"], 0.0)
    return vanna, charm


# --------------------------------------------------------------------------------------------------
# The profile kernel: GEX(x) = x · Σ c_i φ(a_i ln x + b_i)
# --------------------------------------------------------------------------------------------------
class ProfileKernel:
    """Rows of one chain reduced to three numbers each, so the profile at spot x is
    GEX(x) = x · Σ_i c_i · exp(-½ (a_i ln x + b_i)²), with a = 1/(σ√T), b = a·(−ln K + (r−q+σ²/2)T),
    c = sign · OI · e^{−qT} · a / √(2π)  (× 100 contracts × 0.01 move = 1).

    Per (row, level) the work is one multiply-add, a square, a subtraction and an exp: rows are
    grouped by (right, sign of c) so |c| moves into the exponent (exp(ln|c| − z²/2)) and each group
    is a plain sum along contiguous memory. No BLAS call: a threaded matmul on a busy 2-core box
    was measured 3–5x slower than this. Only rows with IV > 0, T > 0 and OI ≠ 0 have weight (the
    others contribute exactly 0); rows negligible over the whole range are skipped (see _Z_CUT).
    """

    def __init__(self, strike: np.ndarray, t_years: np.ndarray, iv: np.ndarray, weight: np.ndarray,
                 is_call: np.ndarray, rate: float = 0.0, div_yield: float = 0.0):
        strike, t_years, iv, weight = (np.asarray(x, dtype=float) for x in
                                       (strike, t_years, iv, weight))
        is_call = np.asarray(is_call, dtype=bool)
        live = (iv > 0) & (t_years > 0) & (weight != 0) & (strike > 0) & np.isfinite(iv) \
            & np.isfinite(t_years) & np.isfinite(strike) & np.isfinite(weight)
        k, t, v, w, call = strike[live], t_years[live], iv[live], weight[live], is_call[live]
        vol_t = v * np.sqrt(t)
        a = 1.0 / vol_t
        b = a * (-np.log(k) + (rate - div_yield + 0.5 * v * v) * t)
        c = w * np.exp(-div_yield * t) * a / _SQRT_2PI
        group = call.astype(np.int8) * 2 + (c > 0)  # 0 put-, 1 put+, 2 call-, 3 call+
        order = np.argsort(group, kind="stable")
        self.a, self.b, self.c, self.group = a[order], b[order], c[order], group[order]
        self._ln_c = np.log(np.abs(self.c))

    def __len__(self) -> int:
        return self.a.size

    def _near(self, lo: float, hi: float) -> np.ndarray:
        """Rows that are not negligible anywhere in [lo, hi] (d1 within ±_Z_CUT somewhere)."""
        z_lo = self.a * math.log(lo) + self.b
        z_hi = self.a * math.log(hi) + self.b
        return (z_hi > -_Z_CUT) & (z_lo < _Z_CUT)

    def profile(self, levels: np.ndarray, chunk_elements: int = 1 << 20
                ) -> tuple[np.ndarray, np.ndarray]:
        """(call GEX, put GEX) at each level, USD per 1 % move, in row chunks of bounded size."""
        levels = np.asarray(levels, dtype=float)
        out = np.zeros((2, levels.size))  # [call, put]
        if levels.size == 0 or len(self) == 0:
            return out[0], out[1]
        keep = self._near(float(levels.min()), float(levels.max()))
        root_half = math.sqrt(0.5)
        u = np.log(levels)
        step = max(1, chunk_elements // levels.size)
        for g in np.unique(self.group[keep]):
            rows = keep & (self.group == g)
            a, b, ln_c = self.a[rows] * root_half, self.b[rows] * root_half, self._ln_c[rows]
            side, sign = (0 if g >= 2 else 1), (1.0 if g % 2 else -1.0)
            for i in range(0, a.size, step):
                z = np.multiply.outer(u, a[i:i + step])   # (levels, rows): sums run along rows
                z += b[i:i + step]
                np.square(z, out=z)
                np.subtract(ln_c[i:i + step], z, out=z)  # ln|c| − z²/2
                np.exp(z, out=z)
                out[side] += sign * z.sum(axis=1)
        out *= levels
        return out[0], out[1]

    def net_at(self, x: float, rows: np.ndarray | None = None) -> float:
        a, b, c = (self.a, self.b, self.c) if rows is None else (self.a[rows], self.b[rows],
                                                                   self.c[rows])
        z = a * math.log(x) + b
        return float(x * np.sum(c * np.exp(-0.5 * z * z)))

    def root(self, lo: float, hi: float, f_lo: float, f_hi: float, xtol: float) -> float:
        """The zero of the net profile inside [lo, hi] (f_lo, f_hi of opposite signs): Brent."""
        rows = self._near(lo, hi)
        if f_lo == 0.0:
            return lo
        if f_hi == 0.0:
            return hi

        def f(x: float) -> float:  # the grid already evaluated both ends: brentq's first two calls
            return f_lo if x == lo else f_hi if x == hi else self.net_at(x, rows)

        # rtol 4 eps: brentq's floor, the tolerance 2 eps |x| + xtol / 2 of the former hand-written Brent
        return float(brentq(f, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200,
                            disp=False))  # like the former loop: the last iterate, no raise


# A level whose |net GEX| is below this fraction of the profile's peak |net GEX| is numerical
# noise (e.g. 1e-37 bn on a partial chain's tail): treated as 0, so its sign change is no flip.
FLIP_NOISE_REL = 1e-6


def find_flips(levels: np.ndarray, net: np.ndarray, refine: Callable[[float, float, float, float],
               float] | None = None, noise_rel: float = FLIP_NOISE_REL) -> list[float]:
    """Every real sign change of the net profile on the grid, ascending; each refined by `refine`
    (exact root in the bracket) or, without it, by linear interpolation between the two levels.
    Levels where |net| <= noise_rel x max |net| (exactly 0 included) are skipped, so neither a
    touch-and-return nor a sign change of numerical noise is a flip."""
    levels, net = np.asarray(levels, dtype=float), np.asarray(net, dtype=float)
    finite = np.isfinite(net)
    peak = float(np.max(np.abs(net[finite]))) if finite.any() else 0.0
    nz = np.flatnonzero(finite & (np.abs(net) > noise_rel * peak) & (net != 0))
    if nz.size < 2:
        return []
    x, y = levels[nz], net[nz]
    flips = []
    for i in np.flatnonzero(np.signbit(y[:-1]) != np.signbit(y[1:])):
        x0, x1, y0, y1 = x[i], x[i + 1], y[i], y[i + 1]
        flips.append(float(refine(x0, x1, y0, y1)) if refine else float(x0 - y0 * (x1 - x0) / (y1 - y0)))
    return flips


def profile_and_flips(strike, t_years, iv, weight, is_call, spot: float,
                      conventions: GammaConventions | str | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], float | None]:
    """One chain's profile and zero-gamma flips from plain arrays (weight = dealer sign × OI).

    Returns (levels, call_gex_usd_per_pct, put_gex_usd_per_pct, flips nearest to spot first, zero_gamma or None).
    """
    conv = resolve(conventions)
    kern = ProfileKernel(strike, t_years, iv, weight, is_call, conv.rate, conv.div_yield)
    levels = np.linspace(conv.grid_low * spot, conv.grid_high * spot, conv.grid_points)
    call, put = kern.profile(levels, conv.chunk_elements)
    net = call + put
    xtol = conv.flip_xtol_rel * spot
    refine = (lambda x0, x1, y0, y1: kern.root(x0, x1, y0, y1, xtol)) \
        if conv.flip_refine == "exact" else None
    flips = find_flips(levels, net, refine)
    zero = pick_flip(flips, spot, conv.flip_pick)
    return levels, call, put, sorted(flips, key=lambda f: (abs(f - spot), f)), zero


def pick_flip(flips: list[float], spot: float, how: str) -> float | None:
    """The flip the preset reports: "first" = the lowest level, "nearest" = nearest to spot."""
    if not flips:
        return None
    if how == "first":
        return min(flips)
    return min(flips, key=lambda f: (abs(f - spot), f))


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------
def _side_sums(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    call, put = pl.col("is_call"), ~pl.col("is_call")
    return frame.group_by(keys).agg(
        call_gex_usd_per_pct=pl.col("gex_usd").filter(call).sum(),
        put_gex_usd_per_pct=pl.col("gex_usd").filter(put).sum(),
        call_oi=pl.col("open_interest").filter(call).sum(),
        put_oi=pl.col("open_interest").filter(put).sum(),
        contracts=pl.len().cast(pl.Int64),
        net_vanna_usd_per_vol_pt=pl.col("vanna_usd").sum(),
        net_charm_usd_per_day=pl.col("charm_usd").sum(),
    ).with_columns(net_gex_usd_per_pct=pl.col("call_gex_usd_per_pct") + pl.col("put_gex_usd_per_pct"))


def _bucket(dte: pl.Expr) -> pl.Expr:
    return (pl.when(dte <= 0).then(pl.lit(BUCKETS[0])).when(dte <= 7).then(pl.lit(BUCKETS[1]))
            .when(dte <= 30).then(pl.lit(BUCKETS[2])).otherwise(pl.lit(BUCKETS[3])))


def by_strike(rows: pl.DataFrame, preset: str) -> pl.DataFrame:
    """core.gamma_by_strike from exposure_rows: summed over roots and expiries."""
    used = rows.filter(~pl.col("excluded"))
    if used.is_empty():
        return _empty(BY_STRIKE_SCHEMA)
    return (_side_sums(used, [*_KEYS, "strike"]).with_columns(preset=pl.lit(preset))
            .select(list(BY_STRIKE_SCHEMA)).cast(BY_STRIKE_SCHEMA).sort([*_KEYS, "strike"]))


def by_expiry(rows: pl.DataFrame, preset: str) -> pl.DataFrame:
    """core.gamma_by_expiry from exposure_rows: one row per root and expiry, with its DTE bucket."""
    used = rows.filter(~pl.col("excluded"))
    if used.is_empty():
        return _empty(BY_EXPIRY_SCHEMA)
    keys = [*_KEYS, "root", "expiry"]
    sums = _side_sums(used, keys)
    meta = used.group_by(keys).agg(pl.col("dte_days").first(), pl.col("t_years").first())
    return (sums.join(meta, on=keys).with_columns(bucket=_bucket(pl.col("dte_days")),
                                                  preset=pl.lit(preset))
            .select(list(BY_EXPIRY_SCHEMA)).cast(BY_EXPIRY_SCHEMA).sort(keys))


def _walls(strikes: pl.DataFrame, top_n: int) -> pl.DataFrame:
    """Call wall, put wall, absolute-gamma strike and top-OI strikes per (date, underlying).
    Ties go to the lower strike (the frame is sorted by strike and arg_max takes the first)."""
    if strikes.is_empty():
        return pl.DataFrame(schema={"date": pl.Date(), "underlying": pl.String(),
                                    "call_wall": pl.Float64(), "put_wall": pl.Float64(),
                                    "abs_gamma_strike": pl.Float64(),
                                    "top_oi_strikes": pl.List(pl.Float64())})
    s = strikes.sort([*_KEYS, "strike"])
    return s.group_by(_KEYS, maintain_order=True).agg(
        call_wall=pl.col("strike").get(pl.col("call_gex_usd_per_pct").abs().arg_max()),
        put_wall=pl.col("strike").get(pl.col("put_gex_usd_per_pct").abs().arg_max()),
        abs_gamma_strike=pl.col("strike").get(
            (pl.col("call_gex_usd_per_pct").abs() + pl.col("put_gex_usd_per_pct").abs()).arg_max()),
        top_oi_strikes=pl.col("strike").sort_by(pl.col("call_oi") + pl.col("put_oi"),
                                                descending=True, maintain_order=True).head(top_n),
    )


def _spot_sums(rows: pl.DataFrame, preset: str) -> pl.DataFrame:
    used = ~pl.col("excluded")
    call, put = used & pl.col("is_call"), used & ~pl.col("is_call")
    return rows.group_by(_KEYS, maintain_order=True).agg(
        spot=pl.col("spot").first(),
        quote_ts=pl.col("quote_ts").first(),
        snapshot_date=pl.col("snapshot_date").first(),
        call_gex_usd_per_pct=pl.col("gex_usd").filter(call).sum(),
        put_gex_usd_per_pct=pl.col("gex_usd").filter(put).sum(),
        gross_gex_usd_per_pct=pl.col("gex_usd").filter(used).abs().sum(),
        zero_dte_gross=pl.col("gex_usd").filter(used & (pl.col("dte_days") <= 0)).abs().sum(),
        contracts=used.sum().cast(pl.Int64),
        expired_rows=pl.col("expired_flag").sum().cast(pl.Int64),
        net_vanna_usd_per_vol_pt=pl.col("vanna_usd").filter(used).sum(),
        net_charm_usd_per_day=pl.col("charm_usd").filter(used).sum(),
    ).with_columns(
        net_gex_usd_per_pct=pl.col("call_gex_usd_per_pct") + pl.col("put_gex_usd_per_pct"),
        zero_dte_share_pct=pl.when(pl.col("gross_gex_usd_per_pct") > 0)
        .then(100.0 * pl.col("zero_dte_gross") / pl.col("gross_gex_usd_per_pct")),
        preset=pl.lit(preset),
    ).sort(_KEYS)


def spot_gex(quotes: pl.DataFrame, conventions: GammaConventions | str | None = None
             ) -> pl.DataFrame:
    """Spot GEX total / calls / puts per (date, underlying): the minimal core.gamma_daily columns
    (no profile, no flip). Cheap: what the nightly spine needs before the full gamma_tables."""
    conv = resolve(conventions)
    if quotes.is_empty():
        return _empty(SPOT_GEX_SCHEMA)
    rows = exposure_rows(quotes, conv)
    return _spot_sums(rows, conv.name).select(list(SPOT_GEX_SCHEMA)).cast(SPOT_GEX_SCHEMA)


TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "core.gamma_by_strike": BY_STRIKE_SCHEMA, "core.gamma_by_expiry": BY_EXPIRY_SCHEMA,
    "core.gamma_profile": PROFILE_SCHEMA, "core.gamma_daily": DAILY_SCHEMA,
}


def gamma_tables(quotes: pl.DataFrame, conventions: GammaConventions | str | None = None, *,
                 batch_rows: int = 250_000) -> dict[str, pl.DataFrame]:
    """All four gamma tables for the quotes of one or many quote_dates (grouped by date and
    underlying). core.gamma_daily comes without MACD: run `add_gex_macd` over the stored history.

    Dates are processed in batches of about `batch_rows` quote rows (whole dates; every date is
    independent), so a year of chains needs the working memory of a few days, not of the year.
    """
    conv = resolve(conventions)
    if quotes.is_empty():
        return {name: _empty(schema) for name, schema in TABLE_SCHEMAS.items()}
    if quotes.height <= batch_rows:
        return _gamma_tables(quotes, conv)
    per_date = quotes.group_by("quote_date").len().sort("quote_date")
    batch_of = (per_date["len"].cum_sum() - per_date["len"]) // max(1, batch_rows)
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLE_SCHEMAS}
    for batch in per_date.with_columns(batch=batch_of).partition_by("batch", maintain_order=True):
        out = _gamma_tables(quotes.filter(pl.col("quote_date").is_in(batch["quote_date"].implode())),
                            conv)
        for name, frame in out.items():
            parts[name].append(frame)
    return {name: pl.concat(frames) for name, frames in parts.items()}


def _gamma_tables(quotes: pl.DataFrame, conv: GammaConventions) -> dict[str, pl.DataFrame]:
    rows = exposure_rows(quotes, conv)
    strikes = by_strike(rows, conv.name)
    expiries = by_expiry(rows, conv.name)

    profiles, flip_rows = [], []
    live = rows.filter(~pl.col("excluded") & (pl.col("open_interest") != 0)
                       & (pl.col("iv_used") > 0) & (pl.col("t_years") > 0))
    spots = rows.group_by(_KEYS, maintain_order=True).agg(pl.col("spot").first()).sort(_KEYS)
    groups = {k: g for k, g in live.partition_by(_KEYS, as_dict=True, maintain_order=True).items()}
    for d, und, spot in spots.iter_rows():
        g = groups.get((d, und))
        if g is None:
            g = live.clear()
        levels, call, put, flips, zero = profile_and_flips(
            g["strike"].to_numpy(), g["t_years"].to_numpy(), g["iv_used"].to_numpy(),
            (g["dealer_sign"] * g["open_interest"] * (g["multiplier"] / CONTRACT_MULTIPLIER)).to_numpy(),
            g["is_call"].to_numpy(),
            spot, conv)
        profiles.append(pl.DataFrame({
            "date": [d] * levels.size, "underlying": [und] * levels.size,
            "preset": [conv.name] * levels.size, "spot_level": levels,
            "level_pct": 100.0 * (levels / spot - 1.0),
            "call_gex_usd_per_pct": call, "put_gex_usd_per_pct": put, "net_gex_usd_per_pct": call + put,
        }, schema=PROFILE_SCHEMA))
        flip_rows.append({"date": d, "underlying": und, "zero_gamma": zero,
                          "zero_gamma_flips": flips, "flip_count": len(flips),
                          "flip_search_low": float(levels[0]), "flip_search_high": float(levels[-1])})
    flips_frame = pl.DataFrame(flip_rows, schema={
        "date": pl.Date(), "underlying": pl.String(), "zero_gamma": pl.Float64(),
        "zero_gamma_flips": pl.List(pl.Float64()), "flip_count": pl.Int64(),
        "flip_search_low": pl.Float64(), "flip_search_high": pl.Float64()})
    daily = (_spot_sums(rows, conv.name)
             .join(flips_frame, on=_KEYS, how="left")
             .join(_walls(strikes, conv.top_oi_count), on=_KEYS, how="left")
             .with_columns(zero_gamma_distance_pct=100.0 * (pl.col("zero_gamma") / pl.col("spot") - 1.0))
             .select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA).sort(_KEYS))
    return {
        "core.gamma_by_strike": strikes,
        "core.gamma_by_expiry": expiries,
        "core.gamma_profile": pl.concat(profiles) if profiles else _empty(PROFILE_SCHEMA),
        "core.gamma_daily": daily,
    }


# --------------------------------------------------------------------------------------------------
# GEX MACD
# --------------------------------------------------------------------------------------------------
def add_gex_macd(daily_history: pl.DataFrame, fast: int = 12, slow: int = 26, signal: int = 9,
                 column: str = "net_gex_usd_per_pct") -> pl.DataFrame:
    """MACD of the daily net GEX: EMA_fast − EMA_slow, its EMA_signal, and the histogram.

    EMAs are recursive (α = 2/(n+1), seeded with the first observation, one step per stored day),
    so day D uses only days <= D: adding later days never changes an earlier row. Values are null
    until `slow` days (MACD) and `slow + signal − 1` days (signal, histogram) exist, per underlying
    (and preset, when present).
    """
    if not 1 <= fast < slow or signal < 1:
        raise ValueError(f"MACD needs 1 <= fast < slow and signal >= 1 (got {fast}, {slow}, {signal})")
    groups = [c for c in ("underlying", "preset") if c in daily_history.columns]
    h = daily_history.drop([c for c in MACD_COLUMNS if c in daily_history.columns])
    if h.is_empty():
        return h.with_columns(*(pl.lit(None, dtype=t).alias(c) for c, t in MACD_COLUMNS.items()))
    over = groups or None

    def ema(e: pl.Expr, n: int) -> pl.Expr:
        out = e.ewm_mean(span=n, adjust=False, min_samples=n, ignore_nulls=True)
        return out.over(over, order_by="date") if over else out

    x = pl.col(column).cast(pl.Float64)
    h = h.sort([*groups, "date"]).with_columns(gex_macd_usd=ema(x, fast) - ema(x, slow))
    return h.with_columns(gex_macd_signal_usd=ema(pl.col("gex_macd_usd"), signal)).with_columns(
        gex_macd_hist_usd=pl.col("gex_macd_usd") - pl.col("gex_macd_signal_usd"))
