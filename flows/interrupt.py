"""Ctrl-C and SIGTERM for every `alvh` command: stop within seconds, one line, exit 130 / 143.

Holds the signal handlers and the exit path; must not hold business logic. Why a watchdog: the
signal unwinds the command (open transactions roll back, the warehouse closes), but a Prefect
run then reports its crash to an API whose temporary server the same Ctrl-C has killed, and
retries for minutes; worker threads of a backfill finish their day first. Nothing committed is
lost by ending the process there: DuckDB keeps only committed transactions and the writer lock
(flock) goes with the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

GRACE_S = 3.5  # unwinding normally takes well under a second; then we end the process
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every `with` block and transaction unwinds the same way."""


_received: int | None = None


def exit_code() -> int:
    return CODES.get(_received, 130) if _received is not None else 130  # type: ignore[arg-type]


def _children() -> list[int]:
    """Our direct child processes (a temporary Prefect server, worker processes), Linux /proc."""
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def finish(code: int | None = None) -> None:
    """Say so in one line, stop our children, end the process without running interpreter
    shutdown (which is where DuckDB's bindings print 'nanobind: leaked' for objects that other
    threads still hold)."""
    code = code or exit_code()
    try:
        sys.stdout.flush()
        name = "terminated" if code == 143 else "interrupted"
        os.write(2, f"error: {name}\n".encode())
    finally:
        for pid in _children():
            with contextlib.suppress(OSError):  # already gone
                os.kill(pid, signal.SIGTERM)
        os._exit(code)


def _watchdog() -> None:
    t = threading.Timer(GRACE_S, finish)
    t.daemon = True
    t.start()


def _handler(signum, frame) -> None:
    global _received
    if _received is not None:  # a second signal: no more waiting
        finish(CODES.get(signum, 130))
    _received = signum
    _watchdog()
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> dict:
    """Handle SIGINT and SIGTERM in the main thread (a no-op elsewhere); returns the handlers
    they replace, for `restore`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _handler) for sig in CODES}


def restore(previous: dict) -> None:
    """Put back the handlers `install` replaced (a command run in-process, e.g. by a test)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)
