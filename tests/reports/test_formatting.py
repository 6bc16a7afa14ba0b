"""Formatting and figure helpers: the true minus sign, units, trading-day axes."""

from __future__ import annotations

from datetime import date

from reports.figures import Figure, to_div, trading_days
from reports.formatting import fmt, tone


def test_numbers_use_the_true_minus_and_trader_units():
    assert fmt(-12_657_896_670.77, "bn") == "\u221212.66 bn"
    assert fmt(44_189_266_100.5, "bn") == "+44.19 bn"
    assert fmt(-0.4031, "pct") == "\u221240.3 %"
    assert fmt(0.1459, "apr") == "14.6 %"
    assert fmt(-21358.4, "usd_signed") == "\u2212$21,358"
    assert fmt(1.32, "signed2") == "+1.32"
    assert fmt(6232.2998, "num2") == "6,232.30"
    assert fmt(None, "num2") == fmt(float("nan"), "bn") == "\u2013"
    assert fmt(True) == "yes"
    assert tone(-1) == "neg" and tone(2) == "pos" and tone(0) == "" and tone(None) == ""


def test_trading_day_axes_break_weekends_and_holidays():
    # Thu 2026-11-25, (Thanksgiving Thu 26 missing), Fri 27, Mon 30
    days = [date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30)]
    fig = Figure().add_scatter(x=days, y=[1, 2, 3]).add_bar(x=days, y=[1, 2, 3])
    trading_days(fig, days)
    breaks = fig.layout["xaxis"]["rangebreaks"]
    assert breaks[0]["bounds"] == ["sat", "mon"]
    assert breaks[1]["values"] == ["2026-11-26"]
    assert fig.data[1]["width"] == 0.8 * 86_400_000 and "width" not in fig.data[0]


def test_figure_divs_are_byte_stable():
    fig = Figure().add_scatter(x=[1, 2], y=[3, 4])
    a, b = to_div(fig, "fig-test"), to_div(fig, "fig-test")
    assert a == b and 'id="fig-test"' in a and 'data-figure="fig-test"' in a
