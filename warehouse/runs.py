"""audit.runs: one row per flow run, opened when it starts and closed with its outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from warehouse.db import Warehouse


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(wh: Warehouse, run_id: str, flow: str, as_of: date | None, *, flow_run_id: str | None,
              code_version: str, params: dict) -> None:
    wh.execute(
        "insert or replace into audit.runs values (?, ?, ?, ?, null, 'running', ?, ?, ?, null)",
        [run_id, flow, as_of, _now(), flow_run_id, code_version, json.dumps(params, default=str)])


def finish_run(wh: Warehouse, run_id: str, status: str, summary: dict) -> None:
    wh.execute(
        "update audit.runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
        [_now(), status, json.dumps(summary, default=str), run_id])


class RunRecord:
    """An audit.runs row kept open while a flow works; see `recording`."""

    def __init__(self, wh: Warehouse, run_id: str):
        self.wh, self.run_id, self.finished = wh, run_id, False

    def finish(self, status: str, summary: dict) -> None:
        finish_run(self.wh, self.run_id, status, summary)
        self.finished = True


@contextmanager
def recording(wh: Warehouse, run: dict, flow: str, as_of: date | None,
              params: dict) -> Iterator[RunRecord]:
    """Open the run's audit.runs row; the body calls `.finish(status, summary)`. A body that
    raises (or never finishes) leaves the row `failed` with the error, then the error goes on."""
    start_run(wh, run["run_id"], flow, as_of, flow_run_id=run.get("flow_run_id"),
              code_version=run.get("code_version", ""), params=params)
    rec = RunRecord(wh, run["run_id"])
    try:
        yield rec
    except BaseException as e:
        finish_run(wh, run["run_id"], "failed", {"error": f"{type(e).__name__}: {e}"})
        raise
    if not rec.finished:
        finish_run(wh, run["run_id"], "failed", {"error": "the run ended without an outcome"})


def close_abandoned(wh: Warehouse) -> None:
    """Mark runs still `running` as abandoned (call holding the writer lock: they died unclosed)."""
    wh.execute("update audit.runs set status = 'abandoned', finished_at = ? where status = 'running'",
               [_now()])


def last_status(wh: Warehouse, flow: str) -> str | None:
    """The status of the latest run of `flow` (None when it never ran)."""
    return wh.scalar("select status from audit.runs where flow = ? order by started_at desc limit 1",
                     [flow])
