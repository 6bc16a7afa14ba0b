"""Task runners for the backfill's workers: Prefect threads, or a local Dask cluster of processes.

Construction only (no flow, no warehouse); `flows/backfill.py` runs the flow on the one chosen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

RUNNERS = ("threads", "dask")


def make_task_runner(runner: str, workers: int):
    """threads: Prefect's ThreadPoolTaskRunner. dask: a local Dask cluster of `workers` processes
    (one thread each), which needs a running Prefect server (each worker process reports its task
    runs there; without PREFECT_API_URL every worker would start its own temporary server)."""
    if runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if runner == "dask":
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            raise ValueError("--runner dask starts worker processes, which need a running Prefect "
                             "server: run `alvh server` and export PREFECT_API_URL=... it prints "
                             "(or use --runner threads)")
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ValueError("--runner dask needs the [dask] extra (prefect-dask, dask[distributed])"
                             ) from None
        import logging

        return DaskTaskRunner(cluster_kwargs={
            "n_workers": workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": ":0", "silence_logs": logging.ERROR})
    raise ValueError(f"unknown runner {runner!r}; choose one of {', '.join(RUNNERS)}")


@contextlib.contextmanager
def api_url_in_environment() -> Iterator[None]:
    """Worker processes see os.environ only: export the API URL Prefect is using in this process
    (it may come from a profile or a test harness) for the duration of the run."""
    from prefect.settings import PREFECT_API_URL

    url, before = PREFECT_API_URL.value(), os.environ.get("PREFECT_API_URL")
    if url and before != url:
        os.environ["PREFECT_API_URL"] = str(url)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
