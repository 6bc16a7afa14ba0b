"""audit.runs: one row per flow run, opened when it starts and closed with its outcome."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from warehouse.db import Warehouse


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(wh: Warehouse, run_id: str, flow: str, as_of: date | None, *, flow_run_id: str | None,
              code_version: str, params: dict) -> None:
    wh.con.execute(
        "insert or replace into audit.runs values (?, ?, ?, ?, null, 'running', ?, ?, ?, null)",
        [run_id, flow, as_of, _now(), flow_run_id, code_version, json.dumps(params, default=str)])


def finish_run(wh: Warehouse, run_id: str, status: str, summary: dict) -> None:
    wh.con.execute(
        "update audit.runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
        [_now(), status, json.dumps(summary, default=str), run_id])
