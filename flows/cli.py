"""The `alvh` command line. Each command sets up settings, then calls one flow.

Prefect is imported only after `apply_prefect_env`, so every run stays inside $ALVH_HOME.
Errors users can act on print one line and exit non-zero; tracebacks only with ALVH_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from flows import console
from flows.settings import Settings, apply_prefect_env, load_settings

app = typer.Typer(
    name="alvh",
    help="ALVH nightly pipeline: land vendor files, build dealer-gamma/breadth/funding/vol tables, "
         "audit them, and render the nightly report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

HomeOpt = Annotated[Path | None, typer.Option("--home", help="ALVH_HOME (default ./var)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Session date YYYY-MM-DD")]


def _settings(home: Path | None = None, **kw) -> Settings:
    s = load_settings(home=home, **kw)
    apply_prefect_env(s)
    return s


def _date(text: str | None, name: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body; known failures become one line and an exit code, never a traceback."""
    from sources.base import SourceError
    from warehouse.db import SchemaMismatch, WarehouseBusy

    try:
        return fn()
    except (SourceError, WarehouseBusy, SchemaMismatch, FileNotFoundError, ValueError) as e:
        if os.environ.get("ALVH_DEBUG"):
            raise
        console.error(str(e))
        raise typer.Exit(2 if isinstance(e, WarehouseBusy) else 1) from None
    except KeyboardInterrupt:
        console.error("interrupted")
        raise typer.Exit(130) from None
    except Exception as e:  # a bug: say so in one line and how to see more
        if os.environ.get("ALVH_DEBUG"):
            raise
        console.error(f"{type(e).__name__}: {e} (run with ALVH_DEBUG=1 for the traceback)")
        raise typer.Exit(3) from None


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and/or folders of vendor files")],
    force: Annotated[bool, typer.Option(help="Reload files already landed")] = False,
    home: HomeOpt = None,
) -> None:
    """Land any mix of vendor files and folders; one line per file: format, rows, quarantined."""
    settings = _settings(home)

    def body() -> int:
        from flows.ingest import ingest as ingest_flow

        summary = ingest_flow(paths=paths, force=force, home=settings.root)
        n_fail = len(summary.failed)
        console.info(f"batch {summary.batch_id}: {len(summary.files)} files, {summary.rows:,} rows, "
                     f"{summary.quarantined:,} quarantined, {n_fail} failed")
        return 1 if n_fail else 0

    raise typer.Exit(_guard(body))


@app.command()
def status(home: HomeOpt = None) -> None:
    """Tables with row counts and date ranges, files by status, and the last runs."""
    settings = _settings(home)

    def body() -> int:
        from flows.status import print_status

        print_status(settings)
        return 0

    raise typer.Exit(_guard(body))


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
