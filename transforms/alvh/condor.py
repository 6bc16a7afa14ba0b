"""ALVH base layer: the SPX iron condor (strikes, widening, metrics, POP, expected move, roll).

Pure polars + numpy; no I/O, DuckDB, Prefect or sources.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl

from transforms import greeks
from transforms.alvh.chain import _leg, _legs_frame, choose_expiry, prepare_chain
from transforms.alvh.params import AlvhParams


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
