"""Backtest: the ALVH book against the plain iron condor and SPX — headline statistics stored in
core.backtest_metrics, equity curves with drawdowns, P&L and capital at risk, the trade list as
known on the night, and the quantstats tearsheet link.

Reads core.backtest_metrics, core.backtest_daily, core.backtest_trades only.
"""

from __future__ import annotations

import json

import polars as pl

from reports.figures import COLORS, Figure, style, to_div, trading_days
from reports.formatting import fmt
from reports.sections import Context, key

BOOKS = (("alvh", "ALVH"), ("plain_ic", "Plain IC"), ("spx", "SPX"))
TRADES_SHOWN = 12


def _legs(legs_json: str | None) -> str:
    """Hedge layers of a trade in words (the condor strikes have their own columns)."""
    if not legs_json:
        return ""
    out = []
    for g in json.loads(legs_json):
        if g["layer"] == "condor":
            continue
        side = "long" if g["qty"] > 0 else "short"
        if g["root"] == "VX":
            out.append(f"{side} {abs(g['qty'])} VX {g['expiry'][:7]}")
        else:
            out.append(f"{side} {abs(g['qty'])} {g['root']} {g['expiry'][5:]} {g['strike']:g}{g['right']}")
    return " · ".join(out)


def _empty(reason: str) -> dict:
    """The section's full shape with nothing in it: the same headings and columns, "–" and why."""
    return {"metrics": {}, "books": list(BOOKS), "alvh": None, "takeaway": reason, "reason": reason,
            "charts": {"equity": "", "pnl": "", "capital": ""}, "trades": [], "tearsheet": None,
            "n_trades": 0, "rows": METRIC_ROWS, "capital_usd": None}


# The statistics table, one row per column of core.backtest_metrics (label, format).
METRIC_ROWS = (
    ("total_return", "total return", "pct"), ("cagr", "CAGR", "pct"),
    ("volatility", "volatility (ann.)", "pct_plain"), ("sharpe", "Sharpe", "num2"),
    ("sortino", "Sortino", "num2"), ("max_drawdown", "max drawdown", "pct"),
    ("max_drawdown_usd", "max drawdown, USD", "usd_signed"), ("calmar", "Calmar", "num2"),
    ("irr", "IRR (money-weighted)", "pct"), ("cum_pnl_usd", "P&L", "usd_signed"),
    ("hedge_pnl_usd", "of which hedge layers", "usd_signed"),
    ("avg_capital_at_risk_usd", "avg capital at risk", "usd"), ("trades_closed", "trades closed", "int"),
    ("win_rate", "win rate", "pct_plain"), ("avg_trade_pnl_usd", "avg trade", "usd_signed"),
    ("avg_return_on_risk", "avg return on risk", "pct"),
)


def build(ctx: Context) -> dict | None:
    wh, d = ctx.wh, ctx.as_of
    if not ctx.has("core.backtest_daily"):
        return _empty("No backtest table in this warehouse yet: no statistics, no trades.")
    daily = wh.sql("select * from core.backtest_daily where date <= ? order by strategy, date", [d])
    if daily.is_empty():
        return _empty(f"No backtest session on or before {d}: no statistics, no trades.")
    met = (wh.sql("select * from core.backtest_metrics where as_of = ?", [d])
           if ctx.has("core.backtest_metrics") else pl.DataFrame())
    metrics = {r["strategy"]: {**r, "rk": key(as_of=d, strategy=r["strategy"])}
               for r in met.iter_rows(named=True)}
    books = [(k, label) for k, label in BOOKS if k in set(daily["strategy"])]
    dates = sorted(set(daily["date"].to_list()))

    fig = Figure.subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.7, 0.3])
    for k, label in books:
        s = daily.filter(pl.col("strategy") == k)
        width = 2.4 if k == "alvh" else 1.6
        fig.add_scatter(x=s["date"], y=s["equity"], name=label, mode="lines",
                        line=dict(color=COLORS[k], width=width),
                        hovertemplate=f"{label} %{{y:.3f}}<extra></extra>", row=1, col=1)
        fig.add_scatter(x=s["date"], y=s["drawdown"] * 100, name=f"{label} drawdown", mode="lines",
                        line=dict(color=COLORS[k], width=1.2), fill="tozeroy" if k == "alvh" else None,
                        fillcolor="rgba(31,59,115,0.10)", showlegend=False,
                        hovertemplate=f"{label} DD %{{y:.1f}} %<extra></extra>", row=2, col=1)
    fig.add_hline(y=1.0, line=dict(color="#cbd5e1", width=1), row=1, col=1)
    fig.update_yaxes(title_text="growth of 1", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", ticksuffix=" %", row=2, col=1)
    style(fig, title="Equity: ALVH vs the plain iron condor vs SPX (drawdowns below)", height=440)
    trading_days(fig, dates, rows=[1, 2])
    equity_chart = to_div(fig, "fig-backtest-equity")

    pnl_charts = []
    for col, title, div in (("cum_pnl_usd", "Cumulative P&L, USD", "fig-backtest-pnl"),
                            ("capital_at_risk_usd", "Capital at risk, USD", "fig-backtest-capital")):
        fig = Figure()
        for k, label in books:
            if k == "spx":
                continue
            s = daily.filter(pl.col("strategy") == k)
            fig.add_scatter(x=s["date"], y=s[col], name=label, mode="lines",
                            line=dict(color=COLORS[k], width=2 if k == "alvh" else 1.5,
                                      shape="hv" if col == "capital_at_risk_usd" else "linear"),
                            hovertemplate=f"{label} %{{y:$,.0f}}<extra></extra>")
        fig.update_yaxes(tickformat="$,.0f")
        style(fig, title=title, height=280)
        trading_days(fig, dates)
        pnl_charts.append(to_div(fig, div))

    trades = wh.sql("select * from core.backtest_trades where entry_date <= ? "
                    "order by entry_date desc, strategy", [d])
    last = max(dates)
    rows = []
    for t in trades.head(TRADES_SHOWN * 2).iter_rows(named=True):
        closed = t["exit_date"] is not None and t["exit_date"] <= d
        # On an older night a trade closed later is still open: its final P&L is not shown.
        marked = not closed and t["status"] == "open" and last == d
        rows.append({**t, "closed": closed, "marked": marked, "hedges": _legs(t["legs_json"]),
                     "rk": key(strategy=t["strategy"], trade_id=t["trade_id"])})
    rows = rows[:TRADES_SHOWN]

    a = metrics.get("alvh")
    if a:
        p = metrics.get("plain_ic")
        cap = f" on a {fmt(a['capital_usd'], 'usd')} account" if a.get("capital_usd") else ""
        take = (f"ALVH {fmt(a['total_return'], 'pct')}{cap} since {a['first_date']:%b %d, %Y} "
                f"(max drawdown {fmt(a['max_drawdown'], 'pct')}, "
                f"{fmt(a.get('max_drawdown_usd'), 'usd_signed')})")
        if p:
            take += f" against {fmt(p['total_return'], 'pct')} for the plain condor"
        s = metrics.get("spx")
        if s:
            take += f" and {fmt(s['total_return'], 'pct')} for SPX"
        take += (f"; the hedge layers made {fmt(a['hedge_pnl_usd'], 'usd_signed')}."
                 if a["hedge_pnl_usd"] is not None else ".")
        if a.get("note"):
            take += f" No annualised figure: {a['note']}."
    else:
        take = "No backtest statistics stored for this night."
    return {"metrics": metrics, "books": list(BOOKS), "alvh": a, "takeaway": take,
            "reason": (a or {}).get("note") or (None if a else take),
            "charts": {"equity": equity_chart, "pnl": pnl_charts[0], "capital": pnl_charts[1]}, "trades": rows,
            "tearsheet": ctx.tearsheet, "n_trades": trades.height, "rows": METRIC_ROWS,
            "capital_usd": (a or {}).get("capital_usd")}
