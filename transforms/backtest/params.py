"""Backtest parameters (BacktestParams) and the books' names.

Pure pydantic; no I/O, DuckDB, Prefect or sources. Defaults and reasons in docs/report.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.alvh import AlvhParams
from transforms.backtest.account import MIN_SESSIONS_ANNUALISED
from transforms.conventions import BACKTEST_AM_SETTLED_ROOTS, VX_MULTIPLIER

STRATEGIES = ("alvh", "plain_ic")
BENCHMARK = "spx"
OPTION_ROOTS_SPX = ("SPX", "SPXW")
OPTION_ROOTS_VIX = ("VIX", "VIXW")
# Roots settled on the morning's special opening quotation (SOQ / VRO), the rest at the close.
AM_SETTLED_ROOTS = BACKTEST_AM_SETTLED_ROOTS


class BacktestParams(BaseModel):
    """Every choice that changes a backtest number (defaults and reasons in docs/report.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: tuple[str, ...] = Field(STRATEGIES, description="books to simulate (alvh, plain_ic)")
    alvh: AlvhParams = Field(default_factory=AlvhParams, description="the recommendation engine's "
                             "parameters: condor construction, sizing and hedge layers")
    # -- entries
    entry_every_sessions: int = Field(5, ge=1, description="sessions between two entries of a book")
    max_open_trades: int = Field(4, ge=1, description="a book holds at most this many trades")
    contracts: int = Field(1, ge=1, description="multiplies every leg's quantity")
    # -- costs and fills (sell at bid, buy at ask; marks at mid)
    commission_per_contract_usd: float = Field(1.00, ge=0, description="options, per contract and "
                                               "side, fees included")
    vx_commission_per_contract_usd: float = Field(2.50, ge=0)
    vx_slippage_pts: float = Field(0.05, ge=0, description="VX fills: settle +- this (one tick)")
    vx_multiplier: float = Field(VX_MULTIPLIER, gt=0, description="USD per VX point")
    vx_margin_usd: float = Field(10_000.0, ge=0, description="capital at risk per VX contract "
                                 "(about the exchange's initial margin)")
    # -- exits (checked at the close on mid marks of the condor legs; filled at bid/ask)
    take_profit_pct: float | None = Field(50.0, gt=0, le=100, description="close when the profit "
                                          "reaches this % of the entry credit (max profit)")
    stop_loss_x_credit: float | None = Field(2.0, gt=0, description="close when the loss reaches "
                                             "this multiple of the entry credit")
    exit_dte: int | None = Field(21, ge=0, description="close at this many calendar days to expiry "
                                 "(trades entered with more days left than this only)")
    am_settlement: Literal["open", "close"] = Field(
        "open", description="AM-settled roots settle on the expiry-day open (SOQ/VRO proxy)")
    # -- the account (returns are account-based: daily P&L over the account value before the session)
    capital_usd: float = Field(1_000_000.0, gt=0, description="each book trades from a fixed account "
                               "of this size (the ALVH sizing's account); idle cash earns the T-bill "
                               "rate when a rate series is given to the backtest, else 0")
    # -- statistics
    periods_per_year: int = Field(252, ge=1)
    min_sessions_annualised: int = Field(MIN_SESSIONS_ANNUALISED, ge=2, description="no CAGR, "
                                         "volatility, Sharpe, Sortino, Calmar or IRR from fewer "
                                         "sessions: the metric is NULL and `note` says why")

    @model_validator(mode="after")
    def _check(self) -> BacktestParams:
        unknown = set(self.strategies) - set(STRATEGIES)
        if unknown:
            raise ValueError(f"unknown strategies {sorted(unknown)}; known: {STRATEGIES}")
        return self
