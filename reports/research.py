"""The "Real history" page (research.html) and its quantstats tearsheet (research-tearsheet.html)
for the latest `alvh research` run: ALVH vs plain condor vs SPX vs CNDR replica vs CNDR.

Reads research.* tables only (flows/research.py stores every figure shown); computes nothing new.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import polars as pl

from reports.figures import PLOTLY_ASSET, Figure, install_plotly_js, style, to_div
from reports.formatting import fmt
from reports.render import _write, environment
from warehouse.db import Warehouse

PAGE = "research.html"
TEARSHEET = "research-tearsheet.html"
NAMES = {"alvh": "ALVH", "plain_ic": "Plain IC", "spx": "SPX", "cndr_replica": "CNDR replica",
         "cndr": "CNDR (Cboe)"}
COLORS = {"alvh": "#1f3b73", "plain_ic": "#9ca3af", "spx": "#b45309", "cndr_replica": "#15803d",
          "cndr": "#7c3aed"}


def latest_run(wh: Warehouse) -> str | None:
    """The run with the latest period end (then the longest), None without any research run."""
    r = wh.sql("select run_id from research.metrics group by run_id "
               "order by max(end_date) desc, min(start_date), run_id limit 1")
    return r["run_id"][0] if r.height else None


def _rows(wh: Warehouse, table: str, run_id: str, order: str) -> list[dict]:
    # research.* tables exist in every home (warehouse/ddl/60_research.sql)
    return wh.sql(f"select * from {table} where run_id = ? order by {order}", [run_id]).rows(named=True)


def _equity_figure(wh: Warehouse, run_id: str) -> str | None:
    d = wh.sql("select strategy, date, equity, drawdown from research.backtest_daily where run_id = ? "
               "order by strategy, date", [run_id])
    if d.is_empty():
        return None
    fig = Figure()
    for name in NAMES:
        s = d.filter(pl.col("strategy") == name)
        if s.height:
            first = s["equity"][0]
            fig.add_scatter(x=s["date"], y=s["equity"] / first * 100.0, name=NAMES[name], mode="lines",
                            line=dict(color=COLORS[name], width=1.4),
                            hovertemplate=NAMES[name] + " %{y:,.1f}<extra></extra>")
    fig.update_layout(yaxis=dict(title="account, start = 100 (log)", type="log"))
    style(fig, title="Equity curves side by side (each book's fixed account, rebased to 100)", height=380)
    return to_div(fig, "fig-research-equity")


def write_research_tearsheet(wh: Warehouse, run_id: str, reports_dir: Path) -> Path | None:
    """quantstats tearsheet of the run: ALVH, Plain IC, CNDR replica and CNDR against SPX (daily
    returns as stored in research.backtest_daily)."""
    d = wh.sql("select date, strategy, daily_return from research.backtest_daily where run_id = ? "
               "order by date", [run_id])
    if d.is_empty():
        return None
    wide = d.pivot(on="strategy", index="date", values="daily_return").sort("date")
    books = [k for k in NAMES if k in wide.columns and k != "spx"]
    if not books or "spx" not in wide.columns:
        return None
    wide = wide.filter(pl.col("spx").is_not_null())  # SPX from the replica's first roll
    if wide.height < 60:
        return None
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import quantstats as qs

    index = pd.DatetimeIndex(pd.to_datetime(wide["date"].to_list()))
    returns = pd.DataFrame({NAMES[b]: wide[b].fill_null(0.0).to_numpy() for b in books}, index=index)
    bench = pd.Series(wide["spx"].fill_null(0.0).to_numpy(), index=index, name="SPX")
    out = reports_dir / TEARSHEET
    tmp = out.with_name("research-tearsheet.part.html")
    reports_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qs.reports.html(returns, benchmark=bench, output=str(tmp), title="ALVH on real history",
                        benchmark_title="SPX", periods_per_year=252, rf=0.0)
    import matplotlib.pyplot as plt

    plt.close("all")
    html = tmp.read_text(encoding="utf-8")
    html = re.sub(r'<link rel="shortcut icon"[^>]*>', '<link rel="icon" href="data:,">', html)
    html = html.replace('<body onload="save()">', "<body>")
    html = html.replace("</body>", '<p style="font:12px sans-serif;color:#6b7280;margin:24px">Daily returns '
                        f'from research.backtest_daily (run {run_id}). <a href="{PAGE}">Back to the '
                        'Real history page</a>.</p></body>')
    out.write_text(html, encoding="utf-8")
    tmp.unlink(missing_ok=True)
    return out


def render_research(wh: Warehouse, reports_dir: Path, run_id: str | None = None,
                    tearsheet: bool = True) -> Path | None:
    """Write <reports_dir>/research.html (and the tearsheet) for `run_id` or the latest run."""
    run_id = run_id or latest_run(wh)
    if run_id is None:
        return None
    reports_dir.mkdir(parents=True, exist_ok=True)
    install_plotly_js(reports_dir)
    ts = write_research_tearsheet(wh, run_id, reports_dir) if tearsheet else None
    metrics = _rows(wh, "research.metrics", run_id, "strategy")
    order = {k: i for i, k in enumerate(NAMES)}
    metrics.sort(key=lambda r: order.get(r["strategy"], 99))
    for r in metrics:
        r["name"] = NAMES.get(r["strategy"], r["strategy"])
        for k in ("cagr", "vol", "max_drawdown", "total_return"):
            r[f"{k}_txt"] = fmt(r.get(k), "pct_plain" if k == "vol" else "pct") if r.get(k) is not None else "–"
        for k in ("sharpe", "sortino", "calmar"):
            r[f"{k}_txt"] = fmt(r.get(k), "num2") if r.get(k) is not None else "–"
    head = metrics[0] if metrics else {}
    html = environment().get_template("research.html.j2").render(
        run={"code_version": ""}, run_id=run_id, plotly_src=PLOTLY_ASSET, metrics=metrics,
        period=(head.get("history_from"), head.get("history_to")), rate_source=head.get("rate_source"),
        tracking=(_rows(wh, "research.tracking_summary", run_id, "benchmark") or [None])[0],
        per_year=_rows(wh, "research.tracking", run_id, "year"),
        evidence=_rows(wh, "research.drawdown_evidence", run_id, 'score, "group"'),
        episodes=_rows(wh, "research.drawdown_episodes", run_id, "onset"),
        coverage=_rows(wh, "research.coverage", run_id, "component"),
        chart=_equity_figure(wh, run_id), tearsheet=TEARSHEET if ts is not None else None)
    return _write(reports_dir / PAGE, html)
