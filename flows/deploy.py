"""Scheduling: a local Prefect server (`alvh server`) and the nightly deployment served on a cron
(`alvh serve`).

Why a real server: a temporary (ephemeral) Prefect API lives only as long as one process and has
no scheduler, so `flow.serve` refuses to schedule on it. `prefect server start` keeps its SQLite
state in $PREFECT_HOME (= $ALVH_HOME/prefect, see flows/settings.apply_prefect_env) and runs the
scheduler that turns the deployment's cron into flow runs; `serve` picks them up and runs each
night in a subprocess (`nightly` with no as_of: the last completed session, skipped on a day that
is not an XNYS session).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows import console
from flows.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
DEPLOYMENT = "alvh-nightly"
TAGS = ["alvh", "nightly"]


class ServerUnavailable(RuntimeError):
    """No Prefect API to schedule against (not configured, or not answering)."""


def api_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    return f"http://{host}:{port}/api"


def check_api(url: str, timeout_s: float = 5.0) -> str | None:
    """None when the Prefect API at `url` answers its health check, else why not (one phrase)."""
    import httpx

    try:
        r = httpx.get(url.rstrip("/") + "/health", timeout=timeout_s)
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return None if r.status_code == 200 else f"HTTP {r.status_code} from {url}/health"


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def require_server() -> str:
    """The URL of a reachable Prefect server, or ServerUnavailable with what to do."""
    url = configured_api_url()
    if not url:
        raise ServerUnavailable(
            "no Prefect server to schedule on (PREFECT_API_URL is not set; a temporary server "
            "cannot schedule): run `alvh server` in another terminal, then "
            f"`export PREFECT_API_URL={api_url()}`")
    why = check_api(url)
    if why:
        raise ServerUnavailable(f"the Prefect server at {url} is not reachable ({why}): start it "
                                "with `alvh server` or fix PREFECT_API_URL")
    return url


# -- alvh server -----------------------------------------------------------------------------------
def server_command(host: str, port: int) -> list[str]:
    prefect = Path(sys.executable).with_name("prefect")
    head = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    return [*head, "server", "start", "--host", host, "--port", str(port)]


def server_env(settings: Settings, ui: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PREFECT_HOME"] = os.environ.get("PREFECT_HOME", str(settings.prefect_home))
    env["PREFECT_UI_ENABLED"] = "true" if ui else "false"
    env.pop("PREFECT_API_URL", None)  # the server is the API; it must not point at another one
    return env


# Prefect's start banner tells the user to `prefect config set PREFECT_API_URL` in their global
# profile; with alvh the URL is exported per shell (printed above), so those lines are dropped.
_BANNER = ("Configure Prefect to communicate", "prefect config set", "View the API reference",
           "The dashboard is disabled", "PREFECT_UI_ENABLED=1", "___ ___ ___", "| _ \\ _ \\",
           "|  _/   /", "|_| |_|_\\")


def _relay_server_output(stream) -> None:
    blank = False
    for line in stream:
        if any(b in line for b in _BANNER):
            continue
        if not line.strip():  # the banner's blank lines collapse into one
            if blank:
                continue
            blank = True
        else:
            blank = False
        sys.stdout.write(line)
        sys.stdout.flush()


def run_server(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
               ui: bool = False) -> int:
    """Run `prefect server start` in the foreground with its state under $ALVH_HOME/prefect."""
    url = api_url(host, port)
    if check_api(url, timeout_s=1.0) is None:
        console.info(f"a Prefect server is already running at {url}")
        console.info(f"export PREFECT_API_URL={url}")
        return 0
    env = server_env(settings, ui)
    console.info(f"Prefect server for {settings.root} (state in {env['PREFECT_HOME']}) on {url}")
    console.info(f"in the shell that runs alvh:  export PREFECT_API_URL={url}")
    if ui:
        console.info(f"UI: http://{host}:{port}")
    proc = subprocess.Popen(server_command(host, port), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=_relay_server_output, args=(proc.stdout,), daemon=True).start()
    # `kill <pid>` (a service manager, a test) must not orphan the server: pass SIGTERM on.
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches the server too; let it shut down cleanly
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- alvh serve ------------------------------------------------------------------------------------
def check_schedule(cron: str, timezone: str) -> None:
    """ValueError (one line) for a cron or time zone Prefect would not schedule."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name like America/New_York)"
                         ) from None
    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValueError as e:  # pydantic's ValidationError: keep its message, not its URL
        why = e.errors()[0]["msg"] if hasattr(e, "errors") else str(e).splitlines()[0]
        raise ValueError(f"invalid cron {cron!r}: {why.removeprefix('Value error, ')}") from None


def nightly_deployment(settings: Settings, *, cron: str, timezone: str, source: str = "sample",
                       drop: Path | str | None = None, name: str = DEPLOYMENT):
    """The nightly flow as a deployment on a cron. Scheduled runs get no as_of: each one is for
    the last completed session (and skips days that are not XNYS sessions)."""
    from prefect.schedules import Cron

    from flows.nightly import SOURCES, nightly

    check_schedule(cron, timezone)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if source == "drop" and drop is None:
        raise ValueError("--source drop needs --drop FOLDER (may contain {as_of}, e.g. "
                         "/data/drops/{as_of})")
    params: dict = {"source": source, "home": str(settings.root)}
    if drop is not None:
        params["drop"] = str(drop)
    return nightly.to_deployment(
        name=name, schedule=Cron(cron, timezone=timezone), parameters=params, tags=TAGS,
        description=f"ALVH nightly run on {cron} ({timezone}) for home {settings.root}")


def serve_nightly(settings: Settings, *, cron: str, timezone: str, source: str = "sample",
                  drop: Path | str | None = None) -> None:
    """Register the deployment with the running server and execute its runs until Ctrl-C."""
    from prefect import serve

    url = require_server()
    deployment = nightly_deployment(settings, cron=cron, timezone=timezone, source=source, drop=drop)
    console.info(f"serving {DEPLOYMENT} on '{cron}' ({timezone}) for {settings.root} via {url}; "
                 "Ctrl-C stops")
    serve(deployment, limit=1, print_starting_message=False)
