"""Backtest entry rules: the ALVH book (transforms.alvh.recommend) and the plain-condor baseline.

Pure polars + numpy; no I/O, DuckDB, Prefect or sources. Rules, fills, marks: docs/report.md.
"""

from __future__ import annotations

import math

import polars as pl

from transforms import alvh
from transforms.backtest.market import Day, Entry, EntryRule
from transforms.backtest.params import BacktestParams
from transforms.backtest.simulate import Inputs, simulate

# -- the two books' entry rules ------------------------------------------------------------------------

def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def alvh_rule(day: Day, p: BacktestParams) -> Entry | None:
    """ALVH: tonight's recommendation (transforms.alvh.recommend) from tonight's chains, VX settles
    and signal row, with the book's previous entry as `prev`: the condor (widened when the score is
    elevated, sized by regime), the VIX call calendar and the VX futures layer."""
    rec = alvh.recommend(day.date, day.spx, signals=day.signal, vix_quotes=day.vix,
                         vx_futures=day.vx, prev=day.prev_recommendation, params=p.alvh)
    row = rec.row
    if row["status"] != "ok" or rec.legs.is_empty():
        return None
    return Entry(legs=rec.legs, regime=row.get("regime"), score=_num(row.get("unwind_score")),
                 summary=row, note=row.get("structure") or "")


def plain_ic_rule(day: Day, p: BacktestParams) -> Entry | None:
    """Baseline: the same condor construction (transforms.alvh.build_condor) with no score, sized
    by the calm-regime risk budget every time, no hedge layers, no regime rules."""
    if day.spot is None:
        return None
    chain = alvh.prepare_chain(day.spx, p.alvh)
    legs = alvh.build_condor(chain, day.spot, p.alvh, None)
    if legs.is_empty():
        return None
    m = alvh.condor_metrics(legs, day.spot, p.alvh)
    unit = m["max_loss_pts"] * alvh.SPX_MULTIPLIER
    budget = p.alvh.capital_usd * p.alvh.max_risk_pct / 100.0
    n = int(budget // unit) if unit > 0 else 0
    if n <= 0:
        return None
    return Entry(legs=legs.with_columns(quantity=pl.col("ratio") * n), size=n, note="iron_condor")


RULES: dict[str, EntryRule] = {"alvh": alvh_rule, "plain_ic": plain_ic_rule}


def backtest(inputs: Inputs, params: BacktestParams | None = None) -> dict[str, pl.DataFrame]:
    """core.backtest_trades and core.backtest_daily for the ALVH and plain-condor books (+ spx)."""
    return simulate(inputs, RULES, params)
