"""The contract registry: `@contract(table, ...)` records a table's pandera model and what the audit
needs to know about the table. Holds no models and imports none (raw/core/alvh register into it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandera.polars as pa

Cadence = str  # "session" | "event" | "static"


class NoContract(KeyError):
    """No model is registered for this table (add one in expectations/raw.py or core.py)."""


@dataclass(frozen=True)
class Contract:
    """A table's row contract plus what the nightly audit needs to know about the table.

    grain:     the model's Config.unique (one row per these columns).
    date_col:  the column that dates a row; tonight's partition is `date_col = as_of` (a TIMESTAMP
               column means the funding day: after the previous session's close, up to tonight's).
    cadence:   session - rows arrive every XNYS session; event - only on some nights (event studies,
               recommendations); static - reference data validated whole (calendars, FRED series).
    required:  the night cannot be trusted without rows in this table, even on a new home.
    drift:     key numeric columns whose distribution is compared with the trailing nights.
    jump:      (series columns, value column): tonight's value vs the series' last stored value.
    session_cols: date columns that must hold XNYS sessions (inside the calendar's range).
    scheduled: rows may be dated after tonight (a calendar of scheduled releases).
    """

    table: str
    model: type[pa.DataFrameModel]
    date_col: str | None = None
    cadence: Cadence = "session"
    required: bool = False
    drift: tuple[str, ...] = ()
    jump: tuple[tuple[str, ...], str] | None = None
    session_cols: tuple[str, ...] = ()
    scheduled: bool = False

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def grain(self) -> tuple[str, ...]:
        return tuple(self.schema.unique or ())

    @property
    def columns(self) -> list[str]:
        return list(self.schema.columns)

    @property
    def lineage(self) -> bool:
        return "file_id" in self.schema.columns


CONTRACTS: dict[str, Contract] = {}  # table -> contract, filled as the model modules import


def contract(table: str, *, date_col: str | None = None, cadence: Cadence = "session",
             required: bool = False, drift: Iterable[str] = (),
             jump: tuple[tuple[str, ...], str] | None = None,
             session_cols: Iterable[str] = (), scheduled: bool = False) -> Callable[[type], type]:
    """Register a DataFrameModel as the contract of `table` (see Contract for the parameters)."""

    def register(model: type[pa.DataFrameModel]) -> type[pa.DataFrameModel]:
        if table in CONTRACTS and CONTRACTS[table].model is not model:
            raise ValueError(f"{table} already has a contract ({CONTRACTS[table].model.__name__})")
        CONTRACTS[table] = Contract(table, model, date_col, cadence, required, tuple(drift), jump,
                                    tuple(session_cols), scheduled)
        return model

    return register
