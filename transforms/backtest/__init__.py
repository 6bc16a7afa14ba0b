"""core.backtest_trades, core.backtest_daily and core.backtest_metrics: the ALVH rules and a plain
iron-condor baseline replayed over the stored chains, and their performance statistics.

Pure Polars + numpy: warehouse frames in, frames out. No I/O, DuckDB, Prefect or sources import.
Rules, fills, marks and the point-in-time argument are documented in docs/report.md (Backtest).
This package re-exports the public names of its modules: `from transforms.backtest import X` works.
"""

from transforms.backtest.market import QUOTE_COLUMNS, Day, Entry, EntryRule
from transforms.backtest.params import (
    AM_SETTLED_ROOTS,
    BENCHMARK,
    OPTION_ROOTS_SPX,
    OPTION_ROOTS_VIX,
    STRATEGIES,
    BacktestParams,
)
from transforms.backtest.rules import RULES, alvh_rule, backtest, plain_ic_rule
from transforms.backtest.simulate import (
    DAILY_SCHEMA,
    TRADES_SCHEMA,
    Inputs,
    benchmark_daily,
    simulate,
)
from transforms.backtest.stats import METRICS_SCHEMA, backtest_metrics, book_irr, return_stats, xirr
from transforms.conventions import VX_ROOT

__all__ = [
    "AM_SETTLED_ROOTS", "BENCHMARK", "DAILY_SCHEMA", "METRICS_SCHEMA", "OPTION_ROOTS_SPX",
    "OPTION_ROOTS_VIX", "QUOTE_COLUMNS", "RULES", "STRATEGIES", "TRADES_SCHEMA", "VX_ROOT",
    "BacktestParams", "Day", "Entry", "EntryRule", "Inputs", "alvh_rule", "backtest",
    "backtest_metrics", "benchmark_daily", "book_irr", "plain_ic_rule", "return_stats", "simulate",
    "xirr",
]
