"""Who is running: the ids and code version every flow records in audit.runs and its report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flows.engine import flow_running
from flows.version import code_version


def run_info(flow_name: str) -> dict:
    """run_id (the Prefect flow run id when there is one), flow, code version, start time."""
    fr_id = None
    if flow_running():  # an ad-hoc command runs without Prefect (and does not import it)
        from prefect.runtime import flow_run

        fr_id = flow_run.get_id()
    return {"run_id": str(fr_id or uuid.uuid4()), "flow_run_id": str(fr_id) if fr_id else None,
            "flow": flow_name, "code_version": code_version(),
            "started_at": datetime.now(UTC).replace(tzinfo=None)}
