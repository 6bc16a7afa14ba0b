"""Report sections, in page order. Each module exposes `build(ctx) -> dict`.

A section reads warehouse tables through `ctx.wh` and returns what its template needs; sections
never compute new numbers. Stable schema: a night without a section's rows (no chain, one
session, no trade) still returns the full shape, every value None (shown "–"), and `reason`, one
line saying why, so the page keeps the same headings, tiles and table columns every night.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType

from warehouse.db import Warehouse

# Page order. Each name is reports/sections/<name>.py and templates/sections/<name>.html.j2.
# "headline" belongs to the signals engineer, "quality" (before lineage) to the audit engineer.
ORDER = (
    "headline",
    "gamma",
    "options",
    "breadth",
    "fundamentals",
    "funding",
    "volatility",
    "events",
    "backtest",
    "quality",
    "lineage",
)


@dataclass
class Context:
    wh: Warehouse
    as_of: date
    reports_dir: Path
    preset: str = "default"  # gamma convention preset whose rows the page shows
    run: dict = field(default_factory=dict)  # run_id, flow_run_id, code_version, started_at
    stale: dict[str, str] = field(default_factory=dict)  # section -> why its data is stale
    tearsheet: str | None = None  # the night's quantstats tearsheet, relative to the page

    def has(self, table: str) -> bool:
        return table in self.wh.tables()


def modules() -> list[tuple[str, ModuleType]]:
    return [(n, importlib.import_module(f"reports.sections.{n}")) for n in ORDER]


class Blank(dict):
    """A row that is not there: every column reads None (a template's `g.spot` shows "–")."""

    def __missing__(self, column: str) -> None:
        return None


def why(ctx: Context, section: str, missing: str) -> str:
    """The one line a section shows instead of its numbers: what the flow said is stale tonight
    (e.g. a vendor file that never came), else what the warehouse lacks for the night."""
    return ctx.stale.get(section) or missing


def key(**grain) -> str:
    """The grain of the row a number was read from, as JSON for a `data-key` attribute."""
    return json.dumps({k: v.isoformat() if isinstance(v, date) else v for k, v in grain.items()},
                      sort_keys=True, separators=(",", ":"))


Builder = Callable[[Context], dict | None]
