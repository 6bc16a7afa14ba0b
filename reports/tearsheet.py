"""The night's quantstats tearsheet: ALVH and the plain condor against SPX, from
core.backtest_daily up to the night, written beside the night's page. Offline by construction.

Reads core.backtest_daily only; quantstats draws, the report's own figures come from
core.backtest_metrics. Never pass quantstats a ticker string: it would try the network.
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import date
from pathlib import Path

import polars as pl

from reports.render import tearsheet_path
from transforms.backtest.account import MIN_SESSIONS_ANNUALISED
from warehouse.db import Warehouse

BOOKS = {"alvh": "ALVH", "plain_ic": "Plain IC"}
BENCHMARK = ("spx", "SPX")
# quantstats annualises everything it prints: no tearsheet from a history shorter than the one the
# metrics table needs for its annualised figures (the page says why instead).
MIN_SESSIONS = MIN_SESSIONS_ANNUALISED


def returns_frame(wh: Warehouse, as_of: date) -> pl.DataFrame:
    """date + one column of daily returns per book (ALVH, Plain IC, SPX) up to as_of."""
    d = wh.sql("select date, strategy, daily_return from core.backtest_daily where date <= ? "
               "order by date", [as_of])
    if d.is_empty():
        return d
    wide = d.pivot(on="strategy", index="date", values="daily_return").sort("date")
    names = {**BOOKS, BENCHMARK[0]: BENCHMARK[1]}
    return wide.select("date", *[pl.col(k).alias(v) for k, v in names.items() if k in wide.columns])


def _short_history(reports_dir: Path, as_of: date, sessions: int) -> Path:
    """The tearsheet's place, saying why there is none yet (quantstats would annualise 1 session)."""
    out = tearsheet_path(reports_dir, as_of)
    reports_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f'<title>ALVH backtest to {as_of.isoformat()}</title></head>'
        '<body style="font:14px sans-serif;margin:24px"><h1>No tearsheet yet</h1>'
        f'<p>ALVH, Plain IC and SPX have {sessions} backtest session(s) up to {as_of}; the tearsheet '
        f'annualises every figure, so it waits for {MIN_SESSIONS} sessions (the minimum history '
        'of core.backtest_metrics).</p>'
        f'<p><a href="{as_of.isoformat()}.html">Back to the night\'s report</a>.</p></body></html>',
        encoding="utf-8")
    return out


def write_tearsheet(wh: Warehouse, as_of: date, reports_dir: Path) -> Path | None:
    """Write <reports_dir>/<as_of>-tearsheet.html; None when there is no backtest to show."""
    frame = returns_frame(wh, as_of)
    books = [v for v in BOOKS.values() if v in frame.columns]
    if not books or BENCHMARK[1] not in frame.columns:
        return None
    if frame.height < MIN_SESSIONS:
        return _short_history(reports_dir, as_of, frame.height)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import quantstats as qs

    index = pd.DatetimeIndex(pd.to_datetime(frame["date"].to_list()))  # tz-naive
    returns = pd.DataFrame({b: frame[b].fill_null(0.0).to_numpy() for b in books}, index=index)
    benchmark = pd.Series(frame[BENCHMARK[1]].fill_null(0.0).to_numpy(), index=index,
                          name=BENCHMARK[1])
    out = tearsheet_path(reports_dir, as_of)
    tmp = out.with_name(out.stem + ".part.html")
    reports_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qs.reports.html(returns if len(books) > 1 else returns[books[0]], benchmark=benchmark,
                        output=str(tmp), title=f"ALVH backtest to {as_of.isoformat()}",
                        benchmark_title=BENCHMARK[1], periods_per_year=252, rf=0.0)
    import matplotlib.pyplot as plt

    plt.close("all")
    html = tmp.read_text(encoding="utf-8")
    # The template's favicon lives on qtpylib.io: drop it so the page asks nothing of the network.
    html = re.sub(r'<link rel="shortcut icon"[^>]*>', '<link rel="icon" href="data:,">', html)
    # <body onload="save()"> calls a download helper the template never defines (a JS error).
    html = html.replace('<body onload="save()">', "<body>")
    html = html.replace("</body>", f'<p style="font:12px sans-serif;color:#6b7280;margin:24px">'
                        f'Returns from core.backtest_daily up to {as_of}: each book\'s P&amp;L over its '
                        'fixed account\'s value before the session (the rows core.backtest_metrics '
                        'and the page read), SPX close to close. '
                        f'<a href="{as_of.isoformat()}.html">Back to the night\'s report</a>.</p></body>')
    out.write_text(html, encoding="utf-8")
    tmp.unlink(missing_ok=True)
    return out
