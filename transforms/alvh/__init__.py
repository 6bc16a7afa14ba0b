"""ALVH recommendations: the SPX iron condor (base layer), wing widening and the VIX call calendar
when the unwind score is elevated, the VX futures roll (second engine), roll guidance, sizing.

Pure polars + numpy over one night's chains and signal row; no I/O, DuckDB, Prefect or sources.
Every leg is a row of that night's chain (or VX settlement); method and defaults in docs/alvh.md.
This package re-exports the public names of its modules: `from transforms.alvh import X` works.
"""

from transforms.alvh.chain import choose_expiry, prepare_chain
from transforms.alvh.condor import (
    base_condor,
    build_condor,
    condor_metrics,
    expected_move,
    pop_lognormal,
)
from transforms.alvh.hedges import Calendar, parity_forward, vix_calendar, vx_hedge
from transforms.alvh.params import AM_ROOTS, AlvhParams
from transforms.alvh.payoff import payoff_table
from transforms.alvh.recommend import Recommendation, recommend
from transforms.alvh.schemas import LEG_SCHEMA, PAYOFF_SCHEMA, SUMMARY_SCHEMA
from transforms.conventions import REGIMES, SPX_MULTIPLIER, VIX_MULTIPLIER

__all__ = [
    "AM_ROOTS", "LEG_SCHEMA", "PAYOFF_SCHEMA", "REGIMES", "SPX_MULTIPLIER", "SUMMARY_SCHEMA",
    "VIX_MULTIPLIER", "AlvhParams", "Calendar", "Recommendation", "base_condor", "build_condor",
    "choose_expiry", "condor_metrics", "expected_move", "parity_forward", "payoff_table",
    "pop_lognormal", "prepare_chain", "recommend", "vix_calendar", "vx_hedge",
]
