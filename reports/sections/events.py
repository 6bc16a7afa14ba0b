"""Events: the macro calendar (CPI, PPI, FOMC ...) around the night with the sessions left to each
release, tonight's event windows, and the option and VX settlement dates ahead.

Reads core.macro_daily, raw.macro_events, raw.vx_futures and raw.option_quotes (expiries) only.
"""

from __future__ import annotations

from datetime import timedelta

from reports.sections import Context, key, why

AHEAD_DAYS = 45   # calendar days of the calendar shown ahead of the night
BEHIND_DAYS = 7   # and behind it
KINDS = (("CPI", "cpi"), ("PPI", "ppi"), ("FOMC", "fomc"))


def build(ctx: Context) -> dict:
    wh, d = ctx.wh, ctx.as_of
    lo, hi = d - timedelta(days=BEHIND_DAYS), d + timedelta(days=AHEAD_DAYS)
    md = wh.sql("select * from core.macro_daily where date = ?", [d])
    m = md.row(0, named=True) if md.height else None
    macro = wh.sql("select date, event, time_et from raw.macro_events where date between ? and ? "
                   "order by date, event", [lo, hi])
    vx = wh.sql("select distinct expiry from raw.vx_futures where trade_date = ? and not weekly "
                "and expiry between ? and ? order by 1", [d, d, hi])
    opex = wh.sql("select distinct expiry, root from raw.option_quotes where quote_date = ? and "
                  "root = 'SPX' and expiry between ? and ? order by 1", [d, d, hi])
    reason = None
    if m is None and macro.is_empty() and vx.is_empty() and opex.is_empty():
        reason = why(ctx, "events", f"no macro calendar, VX or SPX expiry stored around {d}")
    items = []
    for r in macro.iter_rows(named=True):
        items.append({"date": r["date"], "event": r["event"], "time": r["time_et"] or "",
                      "kind": "macro", "source": "raw.macro_events"})
    for r in vx.iter_rows(named=True):
        items.append({"date": r["expiry"], "event": "VIX options / VX futures settle (VRO)",
                      "time": "09:30", "kind": "expiry", "source": "raw.vx_futures"})
    for r in opex.iter_rows(named=True):
        items.append({"date": r["expiry"], "event": "SPX monthly options settle (AM, SOQ)",
                      "time": "09:30", "kind": "expiry", "source": "raw.option_quotes"})
    for it in items:
        it["days"] = (it["date"] - d).days
        it["weekday"] = it["date"].strftime("%a")
        it["past"] = it["date"] < d
    items.sort(key=lambda it: (it["date"], it["kind"] != "macro", it["event"]))

    nexts = []
    for label, k in KINDS:
        upcoming = macro.filter((macro["event"] == label) & (macro["date"] >= d))
        nexts.append({"label": label, "key": k,
                      "date": upcoming["date"][0] if upcoming.height else None,
                      "td": m.get(f"days_to_{k}_td") if m else None,
                      "window": bool(m.get(f"{k}_window")) if m else False})
    windows = [n["label"] for n in nexts if n["window"]]
    soon = [it for it in items if not it["past"] and it["kind"] == "macro"]
    if windows:
        take = f"Event window tonight: {', '.join(windows)} within two sessions of the night."
    elif soon:
        nx = soon[0]
        take = f"Next release: {nx['event']} on {nx['date']:%a %b %d} ({nx['days']} calendar days)."
    else:
        take = f"No CPI, PPI or FOMC release in the next {AHEAD_DAYS} days of the stored calendar."
    if reason:
        take = ""  # the reason line says it
    return {"m": m, "rk": key(date=d) if m else None, "calendar": items, "nexts": nexts, "takeaway": take,
            "reason": reason,
            "window": bool(m and m["event_window"]), "ahead": AHEAD_DAYS, "behind": BEHIND_DAYS}
