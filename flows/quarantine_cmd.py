"""`alvh quarantine`: why rows were refused - file, line, reason (audit.quarantine, read-only).
Wiring only: the rows come from warehouse/queries.py.
"""

from __future__ import annotations

from datetime import date

from flows import console
from flows.settings import Settings
from warehouse import queries
from warehouse.db import Warehouse


def print_quarantine(settings: Settings, as_of: date | None, limit: int, show_raw: bool) -> int:
    with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
        rows = queries.quarantined_rows(wh, as_of, limit)
    if rows.is_empty():
        console.info(f"no quarantined rows{f' for {as_of}' if as_of else ''}")
        return 0
    for r in rows.iter_rows(named=True):
        line = "?" if r["line"] is None else r["line"]
        console.info(f"{r['file']}:{line}: {r['reason']} [{r['table']}, {r['check']}]")
        if show_raw and r["raw"]:
            console.info(f"    {r['raw']}")
    console.info(f"{rows.height} row(s){' (the latest ' + str(limit) + ')' if rows.height == limit else ''}")
    return 0
