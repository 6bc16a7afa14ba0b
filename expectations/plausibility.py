"""Plausibility of new vendor rows against physics and against what the warehouse already holds:
scale and units vs the same series' trailing history, open interest vs volume, spot vs parity.

Pure functions over polars frames (new rows, history rows) -> Findings; no DuckDB, no I/O.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

CRITICAL, WARNING = "critical", "warning"

# -- thresholds, each with its reason (chosen on sample seed 11 and the real files, never on the
#    benchmark's seed-7 nights) ---------------------------------------------------------------------
# Cboe's volatility indexes have never closed outside [9, 90]; [5, 200] leaves room for any
# real crisis and still refuses a x10 / x100 scale error or a price written in cents.
VIX_FAMILY = frozenset({"VIX", "VIX9D", "VIX3M", "VIX6M", "VIX1Y", "VXV", "VXMT", "VXST"})
VIX_BOUNDS = (5.0, 200.0)
# No index level or option premium is anywhere near a million; 1e308 appends are unit/overflow junk.
INDEX_MAX = 1e6
# The largest one-day VIX move on record is 2.16x (2018-02-05); a 4x step between two consecutive
# closes of one series is a unit or symbol error (the same factor as the audit's jump checks).
STEP_FACTOR = 4.0
# A published close is final: a re-sent file restating stored closes by more than 0.5 % on two or
# more days (and half the overlap) is another series, shifted dates or other units.
RESTATE_TOL = 0.005
# NYSE lists about 3,500 issues (peak ~4,200): a daily count above 10,000 is not NYSE.
ISSUES_MAX = 10_000
# A volume unit error (thousands vs shares) is 1000x. One side's volume is not stable (a day when
# almost everything fell has 1/150 of the usual up volume); the day's total volume and a side's
# volume per issue are. Measured on sample seed 11 (2024-01 .. 2025-06) against the trailing
# 25-session median: total volume within [0.57, 11.6]x, a side's volume per issue within
# [0.39, 11.5]x (the high end: unwind days), one field at most 11.6x the trailing total. Volume
# surges but does not collapse, so the band is asymmetric: above 100x or under 1/30 is units
# (a x1000 error lands at >= 390x, a /1000 error at <= 1/87).
BREADTH_VOLUME_FACTOR = 100.0
BREADTH_VOLUME_FLOOR = 1 / 30
# Funding: percent written as a fraction is 100x. A file whose median |8h rate| is 30x the trailing
# median is a unit error (crowding spikes measured on seed 11 stay under 10x); without history, a
# median above 0.5 % per 8 h (~550 % APR) over a whole file is not a market, it is units.
FUNDING_SCALE_FACTOR = 30.0
FUNDING_MEDIAN_MAX_8H = 0.005
# Venues settle on their interval's grid from 00:00 UTC (Binance/Bybit/OKX 00/08/16 for 8 h).
# An 8 h rate stamped at 05:00 is a time-zone error.
# Option chains:
# OI moves only through trades: |OI_today - OI_yesterday| <= OI_VOLUME_FACTOR x the larger of the
# two days' volumes + OI_SLACK (vendors print OI of the previous close, volume of the day, and
# exercise/assignment at expiry moves OI without volume).
OI_VOLUME_FACTOR = 20.0
OI_SLACK = 2_000
OI_SLACK_SHARE = 1.0  # ... or the contract's own yesterday OI (a position can be closed in full)
# Beyond that allowance: a warning; beyond 10x the allowance ("a wide margin"): critical. The sample
# market draws OI from a profile, not from trades, and breaks the 1x allowance on ~1 contract in
# 10 nights (seed 11); no clean night comes near 10x.
OI_CRITICAL_MARGIN = 10.0
# The largest SPX single-contract OI is ~200k: 5M is no listed option.
OI_MAX = 5_000_000
# A call is worth at most the underlying's forward, a put at most its strike (put-call parity with
# r, q >= 0). VIX options price off VX futures, up to ~2x the spot index: allow 3x for calls.
CALL_MAX_SPOT = {"VIX": 3.0}
CALL_MAX_SPOT_DEFAULT = 1.5
PUT_MAX_STRIKE = 1.5
# Vendor gamma cannot exceed the row's own peak Black-Scholes gamma 1/(K sigma sqrt(2 pi T)) (the
# maximum over every spot) by more than 10x.
GAMMA_FACTOR = 10.0
GAMMA_MIN_T = 1 / (365 * 24)  # an hour: 0DTE rows
# The chain's spot vs the forward implied by put-call parity near the money (nearest expiries) and
# vs the same day's index close: a snapshot is at most a session's move away (SPX's worst day
# is -20 %; 1.25x allows it). VIX spot vs its options' forward: the VX curve, 0.5x-2.5x.
SPOT_FACTOR = {"VIX": 2.5}
SPOT_FACTOR_DEFAULT = 1.25
# A stale chain re-sent under a new date: spot and 90 %+ of the quoted contracts identical to the
# previous session (a live market moves every quote).
STALE_SHARE = 0.9
# A strike grid does not lose most of its open interest overnight: per (root, expiry) alive both
# days, if more than half of yesterday's OI sits on strikes absent today, the grid moved.
VANISH_SHARE = 0.5
# ... judged on expiries at least two weeks out: near expiries drop far 5-point strikes as their
# band narrows (the sample market does; real chains list strikes until expiry).
VANISH_MIN_DAYS = 14


@dataclass(frozen=True)
class Finding:
    """One plausibility result that failed: `rows` are the offending source lines (empty when the
    finding is about the file or partition as a whole)."""

    severity: str
    check: str
    table: str
    file: str | None
    line: int | None
    reason: str
    rows: tuple[int, ...] = ()
    as_of: date | None = None
    index: tuple[int, ...] = ()  # 0-based positions of the offending rows in the frame checked


    def one_line(self) -> str:
        where = self.file or self.table
        if self.line:
            where = f"{where}:{self.line}"
        more = f" ({len(self.rows):,} rows)" if len(self.rows) > 1 else ""
        return f"{where}: {self.check}: {self.reason}{more}"

    def record(self) -> dict:
        return {"as_of": self.as_of, "table_name": self.table, "check_name": self.check,
                "severity": self.severity, "file": self.file, "line": self.line,
                "reason": self.reason, "rows": json.dumps(list(self.rows[:50])),
                "row_count": len(self.rows)}


def critical(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == CRITICAL]


def _rows_finding(bad: pl.DataFrame, *, severity: str, check: str, table: str, file: str | None,
                  reason_expr: str, as_of_col: str | None) -> list[Finding]:
    """One finding for a set of offending rows (named by the first one's line and reason)."""
    if bad.is_empty():
        return []
    lines = tuple(int(x) for x in bad["line"].to_list()) if "line" in bad.columns else ()
    index = tuple(int(x) for x in bad[ROW].to_list()) if ROW in bad.columns else ()
    first = bad.row(0, named=True)
    as_of = bad[as_of_col].max() if as_of_col and as_of_col in bad.columns else None
    return [Finding(severity, check, table, file, lines[0] if lines else None,
                    reason_expr.format(**first), lines, as_of, index)]


ROW = "__row"  # position of a row in the frame checked (a chain line holds a call and a put)


def _finite_above(col: str, hi: float) -> pl.Expr:
    c = pl.col(col)
    return c.is_not_null() & (c.is_nan() | c.is_infinite() | (c.abs() > hi))


# -- raw.index_bars ----------------------------------------------------------------------------
def check_index_bars(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                     file: str | None = None) -> list[Finding]:
    """Index closes: physical bounds (VIX family in [5, 200], any index under 1e6), steps between
    consecutive closes of a symbol under 4x (history first, then the file), stored closes not
    restated, and a new session's bar not a copy of the previous one."""
    t = "raw.index_bars"
    out: list[Finding] = []
    if new.is_empty():
        return out
    px = [c for c in ("open", "high", "low", "close") if c in new.columns]
    vix = pl.col("symbol").is_in(list(VIX_FAMILY))
    lo, hi = VIX_BOUNDS
    for c in px:
        # The close is what the pipeline uses; a bad open/high/low (real Cboe VIX file: open 2.58 on
        # 2004-11-08) is a vendor slip the reader flags, a warning here.
        sev = CRITICAL if c == "close" else WARNING
        bad = new.filter(vix & pl.col(c).is_not_null()
                         & ((pl.col(c) < lo) | (pl.col(c) > hi) | pl.col(c).is_nan()))
        out += _rows_finding(bad, severity=sev, check="vix_family_bounds", table=t, file=file,
                             reason_expr=f"{{symbol}} {c} {{{c}}} on {{date}} outside "
                                         f"[{lo:g}, {hi:g}]", as_of_col="date")
        bad = new.filter(~vix & (_finite_above(c, INDEX_MAX) | (pl.col(c) <= 0)))
        out += _rows_finding(bad, severity=sev, check="index_level_bounds", table=t, file=file,
                             reason_expr=f"{{symbol}} {c} {{{c}}} on {{date}} is not an index level "
                                         f"(0, {INDEX_MAX:g})", as_of_col="date")
    hist = history if history is not None and history.height else None
    # Closes stored from other files for the same dates must agree.
    if hist is not None:
        both = new.select("symbol", "date", "close", "line").join(
            hist.select("symbol", "date", old="close"), on=["symbol", "date"], how="inner")
        if both.height:
            off = both.filter(((pl.col("close") / pl.col("old")) - 1).abs() > RESTATE_TOL)
            by_sym = off.group_by("symbol").len()
            n_all = both.group_by("symbol").len().rename({"len": "all"})
            for r in by_sym.join(n_all, on="symbol").iter_rows(named=True):
                if r["len"] >= 2 and r["len"] >= 0.5 * r["all"]:
                    sym_off = off.filter(pl.col("symbol") == r["symbol"]).sort("date")
                    out += _rows_finding(
                        sym_off, severity=CRITICAL, check="restates_stored_closes", table=t,
                        file=file, as_of_col="date",
                        reason_expr=f"{r['len']} of {r['all']} stored {{symbol}} closes restated, "
                                    "e.g. {date}: {close} vs stored {old}")
    # Step between consecutive closes (the last stored one before the file, then the file's own).
    pos = [ROW] if ROW in new.columns else []
    seq = new.select("symbol", "date", "close", "line", *pos, "open", "high", "low") if all(
        c in new.columns for c in ("open", "high", "low")) else new.select(
        "symbol", "date", "close", "line", *pos).with_columns(open=pl.lit(None, pl.Float64),
                                                               high=pl.lit(None, pl.Float64),
                                                               low=pl.lit(None, pl.Float64))
    seq = seq.with_columns(new=pl.lit(True))
    if hist is not None:
        h = hist.join(new.select("symbol", "date"), on=["symbol", "date"], how="anti")
        h = h.select("symbol", "date", "close", line=pl.lit(None, pl.Int64),
                     **({ROW: pl.lit(None, pl.UInt32)} if pos else {}),
                     open=pl.col("open") if "open" in h.columns else pl.lit(None, pl.Float64),
                     high=pl.col("high") if "high" in h.columns else pl.lit(None, pl.Float64),
                     low=pl.col("low") if "low" in h.columns else pl.lit(None, pl.Float64),
                     new=pl.lit(False))
        seq = pl.concat([h.cast(seq.schema), seq])
    seq = seq.sort("symbol", "date").with_columns(
        prev=pl.col("close").shift(1).over("symbol"),
        prev_date=pl.col("date").shift(1).over("symbol"),
        p_open=pl.col("open").shift(1).over("symbol"), p_high=pl.col("high").shift(1).over("symbol"),
        p_low=pl.col("low").shift(1).over("symbol"))
    seq = seq.with_columns(prev_new=pl.col("new").shift(1).over("symbol"))
    step = seq.filter(pl.col("new") & pl.col("prev").is_not_null() & (pl.col("prev") > 0) & (
        (pl.col("close") / pl.col("prev") > STEP_FACTOR) | (pl.col("close") / pl.col("prev") < 1 / STEP_FACTOR)))
    # Against the stored series: critical. Inside one vendor file (the real VVIX history's first
    # weeks of 2006 step 71.73 -> 15.71): a warning, the contract's in-file 10x rule still applies.
    for sev, sel in ((CRITICAL, ~pl.col("prev_new")), (WARNING, pl.col("prev_new"))):
        out += _rows_finding(step.filter(sel), severity=sev, check="close_step_vs_history", table=t,
                             file=file, as_of_col="date",
                             reason_expr="{symbol} close {close} on {date} vs {prev} on {prev_date} "
                                         f"(more than {STEP_FACTOR:g}x)")
    # A new session's OHLC bar identical to the previous session's: a stale file under a new date.
    if hist is not None:
        stale = seq.filter(pl.col("new") & pl.col("prev_date").is_not_null()
                           & ~pl.col("date").is_in(hist["date"].implode())
                           & (pl.col("close") == pl.col("prev")) & pl.col("high").is_not_null()
                           & (pl.col("high") > pl.col("low")) & (pl.col("open") == pl.col("p_open"))
                           & (pl.col("high") == pl.col("p_high")) & (pl.col("low") == pl.col("p_low")))
        out += _rows_finding(stale, severity=CRITICAL, check="stale_bar", table=t, file=file,
                             as_of_col="date",
                             reason_expr="{symbol} bar on {date} repeats {prev_date}'s exactly "
                                         "(stale file under a new date)")
        stale_c = seq.filter(pl.col("new") & pl.col("high").is_null() & (pl.col("close") == pl.col("prev"))
                             & ~pl.col("date").is_in(hist["date"].implode()))
        out += _rows_finding(stale_c, severity=WARNING, check="stale_close", table=t, file=file,
                             as_of_col="date",
                             reason_expr="{symbol} close on {date} equals {prev_date}'s ({close})")
    return out


# -- raw.vx_futures ----------------------------------------------------------------------------
def check_vx_futures(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                     file: str | None = None) -> list[Finding]:
    """VX prices in the VIX family's [5, 200] (placeholder / flagged rows aside), each contract's
    settle within 4x of its previous stored settle, a new day not a copy of the previous one."""
    t = "raw.vx_futures"
    out: list[Finding] = []
    if new.is_empty():
        return out
    lo, hi = VIX_BOUNDS
    ok = pl.col("price_flag").is_null() if "price_flag" in new.columns else pl.lit(True)
    for c in [c for c in ("settle", "close", "open", "high", "low") if c in new.columns]:
        # zero = "no trade" placeholder in CFE files; the contract flags most, bounds apply to prices
        bad = new.filter(ok & pl.col(c).is_not_null() & (pl.col(c) != 0)
                         & ((pl.col(c) < lo) | (pl.col(c) > hi) | pl.col(c).is_nan()))
        out += _rows_finding(bad, severity=CRITICAL, check="vx_price_bounds", table=t, file=file,
                             as_of_col="trade_date",
                             reason_expr=f"VX {{expiry}} {c} {{{c}}} on {{trade_date}} outside "
                                         f"[{lo:g}, {hi:g}]")
    if history is not None and history.height and "settle" in new.columns:
        h = history.filter(pl.col("settle").is_not_null() & (pl.col("settle") > 0))
        last = (h.join(new.select("trade_date", "expiry"), on=["trade_date", "expiry"], how="anti")
                .sort("trade_date").group_by("expiry").agg(prev=pl.col("settle").last(),
                                                            prev_date=pl.col("trade_date").last()))
        j = new.filter(ok & (pl.col("settle") > 0)).join(last, on="expiry", how="inner").filter(
            pl.col("prev_date") < pl.col("trade_date"))
        step = j.filter((pl.col("settle") / pl.col("prev") > STEP_FACTOR)
                        | (pl.col("settle") / pl.col("prev") < 1 / STEP_FACTOR))
        out += _rows_finding(step, severity=CRITICAL, check="settle_step_vs_history", table=t,
                             file=file, as_of_col="trade_date",
                             reason_expr="VX {expiry} settle {settle} on {trade_date} vs {prev} on "
                                         f"{{prev_date}} (more than {STEP_FACTOR:g}x)")
        # Every contract settling exactly as on its previous day: a stale file under a new date.
        if j.height >= 3 and (j["settle"] == j["prev"]).all():
            out.append(Finding(CRITICAL, "stale_settlements", t, file, int(j["line"][0]),
                               f"all {j.height} settles on {j['trade_date'][0]} repeat the previous "
                               "day's (stale file under a new date)",
                               tuple(j["line"].to_list()), j["trade_date"].max()))
    return out


# -- raw.funding_rates -------------------------------------------------------------------------
def _rate_8h() -> pl.Expr:
    return pl.col("rate").abs() * 8 / pl.col("interval_h")


def check_funding_rates(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                        file: str | None = None) -> list[Finding]:
    """Funding: stamps on the venue's settlement grid, median |rate per 8 h| of the file within 30x
    the series' trailing median (percent vs fraction is 100x) or, without history, under 0.5 %;
    stored rates not restated."""
    t = "raw.funding_rates"
    out: list[Finding] = []
    if new.is_empty():
        return out
    grid = new.filter((pl.col("interval_h") > 1)
                      & ((pl.col("funding_ts").dt.hour() % pl.col("interval_h")) != 0))
    out += _rows_finding(grid.with_columns(d=pl.col("funding_ts").dt.date()), severity=CRITICAL,
                         check="funding_grid", table=t, file=file, as_of_col="d",
                         reason_expr="{venue} {symbol} {interval_h} h funding stamped {funding_ts} "
                                     "UTC, off the venue's {interval_h}-hour grid (time zone?)")
    keys = ["venue", "symbol"]
    med = new.group_by(keys).agg(m=_rate_8h().median(), line=pl.col("line").min(),
                                 d=pl.col("funding_ts").max().dt.date())
    hist = history if history is not None and history.height else None
    if hist is not None:
        hm = hist.join(new.select(*keys, "funding_ts"), on=[*keys, "funding_ts"], how="anti").group_by(
            keys).agg(h=_rate_8h().median())
        med = med.join(hm, on=keys, how="left")
        prem = "premium" in new.columns and "premium" in hist.columns
        both = new.select(*keys, "funding_ts", "rate", "line",
                          p=pl.col("premium") if prem else pl.lit(None, pl.Float64)).join(
            hist.select(*keys, "funding_ts", old="rate",
                        p0=pl.col("premium") if prem else pl.lit(None, pl.Float64)),
            on=[*keys, "funding_ts"], how="inner")
        # a stamp carries one rate (and one premium, where the venue prints it) for good
        off = both.filter(((pl.col("rate") - pl.col("old")).abs() > 1e-9 + 1e-6 * pl.col("old").abs())
                          | ((pl.col("p") - pl.col("p0")).abs() > 1e-9 + 1e-6 * pl.col("p0").abs()).fill_null(False))
        if off.height >= 2 and off.height >= 0.5 * both.height:
            out += _rows_finding(off.with_columns(d=pl.col("funding_ts").dt.date()),
                                 severity=CRITICAL, check="restates_stored_funding", table=t,
                                 file=file, as_of_col="d",
                                 reason_expr=f"{off.height} of {both.height} stored rates restated, "
                                             "e.g. {venue} {symbol} {funding_ts}: {rate} vs {old}")
    else:
        med = med.with_columns(h=pl.lit(None, pl.Float64))
    for r in med.iter_rows(named=True):
        m, h = r["m"], r["h"]
        if m is None:
            continue
        if h is not None and h > 0 and m > FUNDING_SCALE_FACTOR * h:
            out.append(Finding(CRITICAL, "funding_scale_vs_history", t, file, r["line"],
                               f"{r['venue']} {r['symbol']} median |rate| per 8 h {m:.3g} is "
                               f"{m / h:,.0f}x the trailing median {h:.3g} (percent for a fraction?)",
                               (), r["d"]))
        elif (h is None or h == 0) and m > FUNDING_MEDIAN_MAX_8H:
            out.append(Finding(CRITICAL, "funding_scale_bound", t, file, r["line"],
                               f"{r['venue']} {r['symbol']} median |rate| per 8 h {m:.3g} above "
                               f"{FUNDING_MEDIAN_MAX_8H:g} (percent for a fraction?)", (), r["d"]))
    return out


# -- raw.breadth -------------------------------------------------------------------------------
_VOL = ("up_volume", "down_volume", "unchanged_volume")
_CNT = ("advances", "declines", "unchanged")


def _breadth_complete(new: pl.DataFrame, history: pl.DataFrame | None) -> pl.DataFrame:
    """`new` with the fields it lacks taken from the stored row of the same exchange and date
    (a Unicorn file carries one field: its siblings may already be stored)."""
    cols = [c for c in _VOL + _CNT if c in new.columns]
    if history is None or not history.height or not cols:
        return new
    same = history.select("exchange", "date", *[pl.col(c).alias(f"{c}__s") for c in cols
                                                if c in history.columns]).unique(["exchange", "date"])
    j = new.join(same, on=["exchange", "date"], how="left")
    return j.with_columns([pl.coalesce(c, f"{c}__s").alias(c) for c in cols if f"{c}__s" in j.columns]
                          ).select(new.columns)


def _breadth_totals(f: pl.DataFrame) -> pl.DataFrame:
    """Total volume (up + down + unchanged volume when known) and volume per issue traded up or
    down, where the row has both sides."""
    unv = pl.col("unchanged_volume").fill_null(0) if "unchanged_volume" in f.columns else pl.lit(0)
    return f.with_columns(
        _total=(pl.col("up_volume") + pl.col("down_volume") + unv).cast(pl.Float64),
        _per_issue=((pl.col("up_volume") + pl.col("down_volume"))
                    / (pl.col("advances") + pl.col("declines"))).cast(pl.Float64))


def check_breadth(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                  file: str | None = None) -> list[Finding]:
    """Breadth: issue counts under 10,000 each day; volume judged on what is stable: the day's
    total volume and each side's volume per issue within [1/30, 100]x of their trailing medians
    (a one-sided day moves a side's volume 100x, not its volume per issue; thousands vs shares is
    1000x), and any one volume field under 100x the trailing total (judged alone at ingest)."""
    t = "raw.breadth"
    out: list[Finding] = []
    if new.is_empty():
        return out
    for c in [c for c in ("advances", "declines", "unchanged", "new_highs", "new_lows") if c in new.columns]:
        bad = new.filter(pl.col(c).is_not_null() & (pl.col(c) > ISSUES_MAX))
        out += _rows_finding(bad, severity=CRITICAL, check="issues_bound", table=t, file=file,
                             as_of_col="date",
                             reason_expr=f"{{exchange}} {c} {{{c}:,}} on {{date}} above "
                                         f"{ISSUES_MAX:,} issues")
    have = [c for c in _CNT if c in new.columns]
    if len(have) == 3:
        bad = new.filter((pl.col("advances") + pl.col("declines") + pl.col("unchanged")) > ISSUES_MAX)
        out += _rows_finding(bad, severity=CRITICAL, check="issues_bound", table=t, file=file,
                             as_of_col="date",
                             reason_expr=f"{{exchange}} issues traded on {{date}} above {ISSUES_MAX:,}")
    need = ("up_volume", "down_volume", "advances", "declines")
    if history is None or not history.height or not all(c in history.columns for c in need):
        return out
    # A one-field file (Unicorn) carries the others as nulls; a bare frame may lack them.
    new = new.with_columns([pl.lit(None, pl.Float64).alias(c) for c in need if c not in new.columns])
    # The trailing history: stored days other than the ones judged, both sides known.
    h = _breadth_totals(history.join(new.select("exchange", "date"), on=["exchange", "date"], how="anti")
                        .filter(pl.col("up_volume").is_not_null() & pl.col("down_volume").is_not_null()))
    hm = h.group_by("exchange").agg(
        h_total=pl.col("_total").filter(pl.col("_total") > 0).median(),
        h_issue=pl.col("_per_issue").filter(pl.col("_per_issue") > 0).median())
    full = _breadth_complete(new, history)
    j = _breadth_totals(full).join(hm, on="exchange", how="inner")
    # 1. A wide physical bound on a field alone (judged even while its siblings are not stored).
    for c in [c for c in _VOL if c in new.columns]:
        bad = j.filter(pl.col(c).is_not_null() & (pl.col(c) > BREADTH_VOLUME_FACTOR * pl.col("h_total")))
        out += _rows_finding(bad, severity=CRITICAL, check="volume_scale_vs_history", table=t,
                             file=file, as_of_col="date",
                             reason_expr=f"{{exchange}} {c} {{{c}:.4g}} on {{date}} is over "
                                         f"{BREADTH_VOLUME_FACTOR:g}x the trailing median total "
                                         f"volume {{h_total:.4g}} (units?)")
    # 2. The day's total volume, once both sides are known.
    bad = j.filter(pl.col("_total").is_not_null() & (
        (pl.col("_total") > BREADTH_VOLUME_FACTOR * pl.col("h_total"))
        | (pl.col("_total") < BREADTH_VOLUME_FLOOR * pl.col("h_total"))))
    out += _rows_finding(bad, severity=CRITICAL, check="total_volume_vs_history", table=t,
                         file=file, as_of_col="date",
                         reason_expr="{exchange} total volume {_total:.4g} on {date} vs "
                                     "trailing median {h_total:.4g} (units?)")
    # 3. Each side's volume per issue, once its issue count is known.
    for vol, cnt in (("up_volume", "advances"), ("down_volume", "declines")):
        per = pl.col(vol) / pl.col(cnt)
        bad = j.filter(pl.col(vol).is_not_null() & pl.col(cnt).is_not_null() & (pl.col(cnt) > 0)
                       & ((per > BREADTH_VOLUME_FACTOR * pl.col("h_issue"))
                          | (per < BREADTH_VOLUME_FLOOR * pl.col("h_issue")))
                       ).with_columns(_per=per)
        out += _rows_finding(bad, severity=CRITICAL, check="volume_per_issue_vs_history", table=t,
                             file=file, as_of_col="date",
                             reason_expr=f"{{exchange}} {vol} per issue {{_per:.4g}} on {{date}} "
                                         f"({{{vol}}} over {{{cnt}}} issues) vs trailing median "
                                         f"{{h_issue:.4g}} (units?)")
    return out


# -- raw.option_quotes -------------------------------------------------------------------------
def _peak_gamma(strike: np.ndarray, iv: np.ndarray, t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / (strike * iv * np.sqrt(2 * math.pi * np.maximum(t, GAMMA_MIN_T)))


def implied_forward(chain: pl.DataFrame) -> pl.DataFrame:
    """Per (quote_date, underlying): the median over the 3 nearest live expiries of K + C - P at the
    strike where call and put mids are closest (put-call parity)."""
    q = chain.filter(~pl.col("expired") & (pl.col("bid") > 0) & (pl.col("ask") >= pl.col("bid")))
    q = q.with_columns(mid=(pl.col("bid") + pl.col("ask")) / 2)
    c = q.filter(pl.col("right") == "C").select("quote_date", "underlying", "root", "expiry", "strike", c="mid")
    p = q.filter(pl.col("right") == "P").select("quote_date", "underlying", "root", "expiry", "strike", p="mid")
    j = c.join(p, on=["quote_date", "underlying", "root", "expiry", "strike"])
    if j.is_empty():
        return pl.DataFrame(schema={"quote_date": pl.Date, "underlying": pl.String, "forward": pl.Float64})
    best = (j.with_columns(gap=(pl.col("c") - pl.col("p")).abs())
            .sort("gap").group_by("quote_date", "underlying", "root", "expiry").first()
            .with_columns(fwd=pl.col("strike") + pl.col("c") - pl.col("p"))
            .sort("expiry").group_by("quote_date", "underlying").head(3))
    return best.group_by("quote_date", "underlying").agg(forward=pl.col("fwd").median())


def check_option_quotes(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                        file: str | None = None,
                        index_close: pl.DataFrame | None = None) -> list[Finding]:
    """Each quote date's chain of the file (a snapshot file holds one; an end-of-day archive such as
    DataShop's holds a month) against physics and the session before it: the warehouse's
    `history` for the first date, the file's own previous date after that."""
    days = sorted(new["quote_date"].unique().to_list()) if not new.is_empty() else []
    if len(days) <= 1:
        return _check_chain(new, history, file=file, index_close=index_close)
    out: list[Finding] = []
    prev = history
    for d in days:
        part = new.filter(pl.col("quote_date") == d)
        out += _check_chain(part, prev, file=file, index_close=index_close)
        prev = part
    return out


def _check_chain(new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                 file: str | None = None,
                 index_close: pl.DataFrame | None = None) -> list[Finding]:
    """One chain (or several roots of one day) against physics and yesterday's chain.

    `history`: the previous session's rows of the same roots; `index_close`: (symbol, date, close)
    of the same day's index bars, when stored."""
    t = "raw.option_quotes"
    out: list[Finding] = []
    if new.is_empty():
        return out
    day = new["quote_date"].max()
    # One spot per underlying and quote date (a second chain concatenated in one file; a second
    # header or Date: line inside a quotedata file is refused by the reader itself).
    multi = new.group_by("underlying").agg(n_date=pl.col("quote_date").n_unique(),
                                           n_spot=pl.col("spot").n_unique(), line=pl.col("line").min())
    for r in multi.filter((pl.col("n_date") > 1) | (pl.col("n_spot") > 1)).iter_rows(named=True):
        out.append(Finding(CRITICAL, "one_chain_per_file", t, file, r["line"],
                           f"{r['underlying']}: {r['n_date']} quote dates and {r['n_spot']} spots in "
                           "one file", (), day))
    live = new.filter(~pl.col("expired"))
    # Prices under the underlying (calls) and the strike (puts).
    cmax = pl.col("underlying").replace_strict(CALL_MAX_SPOT, default=CALL_MAX_SPOT_DEFAULT,
                                               return_dtype=pl.Float64)
    for c in ("bid", "ask", "last"):
        bad = new.filter(pl.col(c).is_not_null() & (
            pl.col(c).is_nan() | pl.col(c).is_infinite()
            | ((pl.col("right") == "C") & (pl.col(c) > cmax * pl.col("spot") + 1))
            | ((pl.col("right") == "P") & (pl.col(c) > PUT_MAX_STRIKE * pl.col("strike") + 1))))
        out += _rows_finding(bad, severity=CRITICAL, check="premium_under_underlying", table=t,
                             file=file, as_of_col="quote_date",
                             reason_expr=f"{{option_symbol}} {c} {{{c}}} above what parity allows "
                                         "(spot {spot}, strike {strike})")
    # Open interest and volume: physical bounds.
    for c in ("open_interest", "volume"):
        bad = new.filter(pl.col(c).is_not_null() & (pl.col(c) > OI_MAX))
        out += _rows_finding(bad, severity=CRITICAL, check=f"{c}_bound", table=t, file=file,
                             as_of_col="quote_date",
                             reason_expr=f"{{option_symbol}} {c} {{{c}:,}} above {OI_MAX:,} contracts")
    # Vendor gamma within 10x of the row's peak Black-Scholes gamma.
    g = live.filter(pl.col("gamma").is_not_null() & pl.col("iv").is_not_null() & (pl.col("iv") > 0))
    if g.height:
        t_years = ((g["expiry"] - g["quote_date"]).dt.total_days().to_numpy().astype(float) + 0.3) / 365.0
        peak = _peak_gamma(g["strike"].to_numpy(), g["iv"].to_numpy(), t_years)
        gam = g["gamma"].to_numpy()
        with np.errstate(invalid="ignore"):
            badm = ~np.isfinite(gam) | (np.abs(gam) > GAMMA_FACTOR * peak + 1e-4)
        bad = g.filter(pl.Series(badm)).with_columns(peak=pl.Series(peak[badm]))
        out += _rows_finding(bad, severity=CRITICAL, check="gamma_vs_black_scholes", table=t,
                             file=file, as_of_col="quote_date",
                             reason_expr="{option_symbol} vendor gamma {gamma} above "
                                         f"{GAMMA_FACTOR:g}x the peak Black-Scholes gamma "
                                         "{peak:.4g} of its IV {iv}")
    # Spot vs the parity-implied forward and vs the day's index close.
    fwd = implied_forward(new)
    spots = new.group_by("quote_date", "underlying").agg(spot=pl.col("spot").first(),
                                                         line=pl.col("line").min())
    sf = pl.col("underlying").replace_strict(SPOT_FACTOR, default=SPOT_FACTOR_DEFAULT, return_dtype=pl.Float64)
    j = spots.join(fwd, on=["quote_date", "underlying"], how="inner").filter(
        (pl.col("forward") > 0) & ((pl.col("spot") / pl.col("forward") > sf)
                                   | (pl.col("forward") / pl.col("spot") > sf)))
    for r in j.iter_rows(named=True):
        out.append(Finding(CRITICAL, "spot_vs_parity", t, file, r["line"],
                           f"{r['underlying']} spot {r['spot']} vs {r['forward']:.2f} implied by "
                           "put-call parity near the money (wrong spot line?)", (), r["quote_date"]))
    if index_close is not None and index_close.height:
        ic = index_close.select(underlying="symbol", quote_date="date", close="close")
        j = spots.join(ic, on=["quote_date", "underlying"], how="inner").filter(
            (pl.col("close") > 0) & ((pl.col("spot") / pl.col("close") > sf)
                                     | (pl.col("close") / pl.col("spot") > sf)))
        for r in j.iter_rows(named=True):
            out.append(Finding(CRITICAL, "spot_vs_index_close", t, file, r["line"],
                               f"{r['underlying']} chain spot {r['spot']} vs the day's index close "
                               f"{r['close']}", (), r["quote_date"]))
    if history is None or history.is_empty():
        return out
    prev = history.filter(pl.col("root").is_in(new["root"].unique().implode())
                          & (pl.col("quote_date") < day))
    if prev.is_empty():
        return out
    prev = prev.filter(pl.col("quote_date") == prev["quote_date"].max())
    key = ["root", "expiry", "strike", "right"]
    j = live.join(prev.select(*key, oi0="open_interest", vol0="volume", bid0="bid", ask0="ask",
                              spot0="spot"), on=key, how="inner")
    # Stale: the same spot and (almost) every quote as the previous session.
    quoted = j.filter(pl.col("bid") > 0)
    if quoted.height >= 20 and (quoted["spot"] == quoted["spot0"]).all():
        same = quoted.filter((pl.col("bid") == pl.col("bid0")) & (pl.col("ask") == pl.col("ask0"))
                             & (pl.col("open_interest") == pl.col("oi0")))
        if same.height >= STALE_SHARE * quoted.height:
            out.append(Finding(CRITICAL, "stale_chain", t, file, int(quoted["line"].min()),
                               f"spot and {same.height:,} of {quoted.height:,} quotes repeat the "
                               f"{prev['quote_date'][0]} chain (stale file under a new date)", (), day))
    # Open interest moves only through trades.
    moved = j.filter(pl.col("open_interest").is_not_null() & pl.col("oi0").is_not_null()).with_columns(
        d_oi=(pl.col("open_interest") - pl.col("oi0")).abs(),
        allow=OI_VOLUME_FACTOR * pl.max_horizontal(pl.col("volume").fill_null(0), pl.col("vol0").fill_null(0))
        + pl.max_horizontal(pl.lit(OI_SLACK), OI_SLACK_SHARE * pl.col("oi0")))
    moved = moved.filter(pl.col("d_oi") > pl.col("allow")).sort("d_oi", descending=True)
    gross = pl.col("d_oi") > OI_CRITICAL_MARGIN * pl.col("allow")
    for sev, sel in ((CRITICAL, gross), (WARNING, ~gross)):
        out += _rows_finding(moved.filter(sel), severity=sev, check="open_interest_vs_volume", table=t,
                             file=file, as_of_col="quote_date",
                             reason_expr="{option_symbol} open interest {open_interest:,} vs {oi0:,} "
                                         "the previous session, volume {volume} (OI changes only "
                                         "through trades)")
    # Listed contracts with open interest do not vanish before they expire.
    alive = prev.filter((pl.col("expiry") > day) & ~pl.col("expired") & (pl.col("open_interest") > 0))
    gone_exp = alive.join(new.select("root", "expiry").unique(), on=["root", "expiry"], how="anti")
    for r in gone_exp.group_by("root", "expiry").agg(oi=pl.col("open_interest").sum()).sort(
            "expiry").iter_rows(named=True):
        out.append(Finding(CRITICAL, "expiry_missing", t, file, None,
                           f"{r['root']} {r['expiry']} (open interest {r['oi']:,} on the previous "
                           "session) is missing from the chain", (), day))
    kept = alive.join(gone_exp.select("root", "expiry").unique(), on=["root", "expiry"], how="anti").filter(
        (pl.col("expiry") - pl.lit(day)).dt.total_days() >= VANISH_MIN_DAYS)
    vanished = kept.join(new.select(key), on=key, how="anti")
    share = (vanished.group_by("root", "expiry").agg(gone=pl.col("open_interest").sum())
             .join(kept.group_by("root", "expiry").agg(all=pl.col("open_interest").sum()),
                   on=["root", "expiry"]).with_columns(s=pl.col("gone") / pl.col("all"))
             .filter(pl.col("s") > VANISH_SHARE).sort("expiry"))
    for r in share.iter_rows(named=True):
        out.append(Finding(CRITICAL, "strike_grid_moved", t, file, None,
                           f"{r['root']} {r['expiry']}: {r['s']:.0%} of the previous session's open "
                           "interest sits on strikes absent tonight (strike grid shifted?)", (), day))
    return out


CHECKS = {
    "raw.option_quotes": check_option_quotes,
    "raw.index_bars": check_index_bars,
    "raw.vx_futures": check_vx_futures,
    "raw.funding_rates": check_funding_rates,
    "raw.breadth": check_breadth,
}


def check_table(table: str, new: pl.DataFrame, history: pl.DataFrame | None = None, *,
                file: str | None = None, **extra) -> list[Finding]:
    """The plausibility checks of `table` (none for tables without any)."""
    fn = CHECKS.get(table)
    if fn is None:
        return []
    return fn(new.with_row_index(ROW) if ROW not in new.columns else new, history, file=file, **extra)
