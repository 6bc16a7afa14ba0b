"""`alvh status`: what the warehouse holds, file outcomes, last runs (read-only)."""

from __future__ import annotations

from rich.table import Table

from flows import console
from flows.settings import Settings
from warehouse.db import Rows, Warehouse
from warehouse.reads import files_by_status, recent_runs, table_summary


def _table(title: str, rows: Rows, justify_right: set[str]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for c in rows.columns:
        t.add_column(c, justify="right" if c in justify_right else "left")
    for row in rows.rows:
        t.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return t


def print_status(settings: Settings) -> None:
    with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
        console.out.print(f"home      {settings.root}")
        console.out.print(f"warehouse {settings.warehouse_path}")
        console.out.print(_table("Tables", table_summary(wh), {"rows"}))
        console.out.print(_table("Files", files_by_status(wh), {"files", "rows", "quarantined"}))
        console.out.print(_table("Last runs", recent_runs(wh), set()))
