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
from sources import calendar as xnys

app = typer.Typer(
    name="alvh",
    help="ALVH nightly pipeline: land vendor files, build dealer-gamma/breadth/funding/vol tables, "
         "audit them, and render the nightly report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

def _version(value: bool) -> None:
    if value:
        from flows.version import code_version

        console.info(f"alvh {code_version()}")
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit")] = False) -> None:
    """ALVH nightly pipeline."""


HomeOpt = Annotated[Path | None, typer.Option("--home", help="ALVH_HOME (default ./var)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Session date YYYY-MM-DD")]


def _settings(home: Path | None = None, **kw) -> Settings:
    try:
        s = load_settings(home=home, **kw)
        if s.root.exists() and not s.root.is_dir():
            raise NotADirectoryError(20, "ALVH_HOME is a file, not a folder", str(s.root))
        apply_prefect_env(s)
        xnys.keep_sessions_in(s.cache)
    except OSError as e:
        console.error(_os_error(e))
        raise typer.Exit(1) from None
    return s


def _os_error(e: OSError) -> str:
    """One line for a home the pipeline cannot write: a file, read-only, or a full disk."""
    import errno

    hint = {errno.ENOSPC: "the disk is full: free space and run again (landed files are kept)",
            errno.EDQUOT: "the disk quota is exhausted: free space and run again",
            errno.EROFS: "read-only file system: point ALVH_HOME at a writable folder",
            errno.EACCES: "permission denied: ALVH_HOME must be writable by you",
            errno.ENOTDIR: "not a folder: ALVH_HOME must be a folder",
            errno.EEXIST: "exists and is not a folder: ALVH_HOME must be a folder"}.get(e.errno)
    where = e.filename or ""
    return f"{where}: {hint or e.strerror or e}" if where else f"{hint or e.strerror or e}"


def _date(text: str | None, name: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        # a usage error: one line, exit 2 (click's framed box is many lines)
        console.error(f"{name}: {text!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


def _guard(fn: Callable[[], T]) -> T:
    """Run a command body; known failures become one line and an exit code, never a traceback.
    Ctrl-C / SIGTERM: the body unwinds (transactions roll back), then one line, exit 130 / 143."""
    import click

    from flows import interrupt

    previous = interrupt.install()
    try:
        return fn()
    except (click.ClickException, click.exceptions.Exit, typer.Exit):  # usage errors: exit 2
        raise
    except KeyboardInterrupt as e:  # includes SIGTERM (flows.interrupt.Terminated)
        _release(e)
        interrupt.finish()
    except _known_errors() as e:  # evaluated only on an exception
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(str(e))
        busy = sys.modules.get("warehouse.db")
        raise typer.Exit(2 if busy and isinstance(e, busy.WarehouseBusy) else 1) from None
    except OSError as e:  # the home's disk or permissions, not a bug: one line
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(_os_error(e))
        raise typer.Exit(1) from None
    except Exception as e:  # a bug: say so in one line and how to see more
        if os.environ.get("ALVH_DEBUG"):
            raise
        _release(e)
        console.error(f"{type(e).__name__}: {e} (run with ALVH_DEBUG=1 for the traceback)")
        raise typer.Exit(3) from None
    finally:
        interrupt.restore(previous)


# Failures a user can act on (one line, exit 1; a busy warehouse exit 2), by module: a class can
# only have been raised once its module is loaded, so the command never imports one to catch it
# (sources.base alone costs `alvh status` the polars import).
_KNOWN_ERRORS = {"sources.base": ("SourceError",), "warehouse.db": ("WarehouseBusy", "SchemaMismatch"),
                 "sources.live.net": ("LiveFetchError",)}


def _known_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [FileNotFoundError, ValueError]
    for module, names in _KNOWN_ERRORS.items():
        if module in sys.modules:
            found.extend(getattr(sys.modules[module], n) for n in names)
    return tuple(found)


def _release(exc: BaseException) -> None:
    """Drop the locals of the frames a failure passed through: Prefect keeps a failed flow's
    exception (and so its traceback's frames, a closed warehouse among them) until exit, where
    DuckDB's bindings then print dozens of 'leaked instance' lines under the one-line error."""
    import traceback

    traceback.clear_frames(exc.__traceback__)


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

        summary = ingest_flow.fn(paths=paths, force=force, home=settings.root)  # no Prefect server
        n_fail = len(summary.failed)
        console.info(f"batch {summary.batch_id}: {len(summary.files)} files, {summary.rows:,} rows, "
                     f"{summary.quarantined:,} quarantined, {n_fail} failed")
        return 1 if n_fail else 0

    raise typer.Exit(_guard(body))


@app.command()
def demo(
    as_of: AsOfOpt = None,
    days: Annotated[int, typer.Option(min=1, help="Sessions to simulate up to --as-of")] = 260,
    seed: Annotated[int | None, typer.Option(help="Sample market seed (default ALVH_SEED or 7)")] = None,
    pages: Annotated[int, typer.Option(min=1, help="Render pages for the last N nights")] = 20,
    home: HomeOpt = None,
) -> None:
    """Simulate the sample market, build every night, report the last (default: the last
    completed session). Extending an existing home to a later --as-of adds only the new days."""
    settings = _settings(home, seed=seed)

    def body() -> int:
        from datetime import UTC, datetime

        from flows.demo import demo as demo_flow
        from sources.calendar import last_completed_session

        day = _date(as_of) or last_completed_session(datetime.now(UTC))
        res = demo_flow(as_of=day, days=days, seed=settings.seed, pages=pages, home=settings.root)
        n = res.night
        console.info(f"demo: {res.sessions} sessions up to {res.as_of} ({n.files} files, "
                     f"{n.rows:,} rows, {n.quarantined:,} quarantined) -> {n.status}")
        console.info(f"report: {n.report}")
        console.info(f"index:  {settings.reports / 'index.html'}")
        return n.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def nightly(
    as_of: AsOfOpt = None,
    source: Annotated[str, typer.Option(
        help="sample (simulated vendor drop), drop (a folder) or live (fetch from public APIs: "
             "docs/live.md)")] = "sample",
    drop: Annotated[Path | None, typer.Option(help="Folder of tonight's vendor files (--source drop)")] = None,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="--source drop: wait up to ALVH_DROP_WAIT_S for expected sources "
                                 "still missing (the deployed night always waits)")] = False,
    home: HomeOpt = None,
) -> None:
    """Run one night: land tonight's files, build the core tables, render the report."""
    day = _date(as_of)
    settings = _settings(home)

    def body() -> int:
        from datetime import UTC, datetime

        from sources.calendar import is_session, last_completed_session

        night = day or last_completed_session(datetime.now(UTC))
        if not is_session(night):  # said before Prefect starts: nothing to run
            console.info(f"{night} is not an XNYS session ({night:%A}); nothing to do")
            return 0
        if not wait:  # an interactive night runs with what has come (flows/nightly.py reads it)
            os.environ["ALVH_DROP_WAIT_S"] = "0"
        from flows.nightly import nightly as nightly_flow

        res = nightly_flow(as_of=night, source=source, drop=drop, home=settings.root)
        if res.status == "skipped":
            return 0
        console.info(f"night {res.as_of}: {res.status} ({res.files} files, {res.rows:,} rows, "
                     f"{res.quarantined:,} quarantined)")
        for m in res.failed:
            console.error(m)
        console.info(f"report: {res.report}")
        return res.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def fetch(
    as_of: AsOfOpt = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Fetch only these: cboe, yahoo, funding, chains, history, a venue (bybit), "
                       "a symbol (SPX, ^VIX, BTC) or an item key (funding:okx:ETH); repeat or comma-separate")] = None,
    history: Annotated[bool, typer.Option("--history", help="Download the public history files instead "
                                          "(Cboe daily_prices CSVs, SqueezeMetrics DIX.csv; ALVH_HISTORY_FILES)")] = False,
    to: Annotated[Path | None, typer.Option("--to", help="--history: folder to write (default "
                                            "ALVH_HISTORY_DIR, else $ALVH_HOME/history)")] = None,
    home: HomeOpt = None,
) -> None:
    """Fetch a night's files from public APIs into $ALVH_HOME/drops/<D>-live/ (no ingest): one line
    per file. Needs the optional live extra and the network (docs/live.md). With --history: the
    public history files that seed a home (docs/research.md)."""
    settings = _settings(home)

    def body() -> int:
        from datetime import UTC, datetime

        if history:
            from flows.fetch import fetch_history

            rep = fetch_history.fn(settings, to, only)
            console.info(f"history: {len(rep.files)} files in {rep.folder}"
                         + (f", {len(rep.missing)} missing" if rep.missing else "")
                         + f"; seed a home with: alvh research --seed-home --history-dir {rep.folder}")
            return 0 if rep.ok else 1

        from flows.fetch import fetch as fetch_flow
        from sources.calendar import last_completed_session

        day = _date(as_of) or last_completed_session(datetime.now(UTC))
        res = fetch_flow.fn(as_of=day, only=only, home=settings.root)
        console.info(res.summary())
        return 0 if res.ok else 1

    raise typer.Exit(_guard(body))


@app.command()
def build(
    start: Annotated[str, typer.Option("--start", help="First session YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option("--end", help="Last session (default: --start)")] = None,
    home: HomeOpt = None,
) -> None:
    """Rebuild the core tables (gamma, market, signals, recommendations, backtest) for every XNYS
    session in [--start, --end] from the raw tables already loaded (`alvh ingest` or a night), with
    the strategy settings in effect (`alvh config show`). Use it after changing alvh.toml or
    loading a corrected file; nothing is fetched or landed."""
    settings = _settings(home)

    def body() -> int:
        from flows.build import build as build_flow
        from sources.calendar import sessions_between

        first = _date(start, "--start")
        days = sessions_between(first, _date(end, "--end") or first)
        if not days:
            raise ValueError(f"no XNYS session between {start} and {end or start}")
        build_flow.fn(dates=days, home=settings.root)
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First session YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="Last session YYYY-MM-DD")],
    runner: Annotated[str, typer.Option(
        help="threads (default) or dask (worker processes; needs `alvh server`)")] = "threads",
    workers: Annotated[int | None, typer.Option(
        min=1, help="Parallel workers (default ALVH_BACKFILL_WORKERS or 2)")] = None,
    source: Annotated[str, typer.Option(help="sample (simulated drops) or drop (--drops)")] = "sample",
    drops: Annotated[Path | None, typer.Option(
        help="Folder with one sub-folder of vendor files per session, named YYYY-MM-DD")] = None,
    pages: Annotated[int, typer.Option(min=0, help="Render reports for the last N sessions")] = 1,
    audit: Annotated[str, typer.Option(
        help="all: audit every night, as nightly would (default); last: the last night only")] = "all",
    home: HomeOpt = None,
) -> None:
    """Build every session from --start to --end in parallel (one writer, resumable, as nightly would)."""
    settings = _settings(home)

    def body() -> int:
        from flows.backfill import run_backfill

        res = run_backfill(_date(start, "--start"), _date(end, "--end"), runner=runner,
                           workers=workers or settings.backfill_workers, source=source,
                           drops=drops, home=settings.root, pages=pages, audit=audit)
        console.info(res.line())
        console.info(res.timing())
        if res.report:
            console.info(f"report: {res.report}")
        return res.exit_code

    raise typer.Exit(_guard(body))


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 4200,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Serve Prefect's web UI too")] = False,
    home: HomeOpt = None,
) -> None:
    """Run a local Prefect server (state in $ALVH_HOME/prefect); prints the PREFECT_API_URL to export."""
    settings = _settings(home)

    def body() -> int:
        from flows.deploy import run_server

        return run_server(settings, host, port, ui)

    raise typer.Exit(_guard(body))


@app.command()
def serve(
    cron: Annotated[str | None, typer.Option(
        help="When to run (default ALVH_SCHEDULE_CRON: '30 17 * * 1-5')")] = None,
    timezone: Annotated[str | None, typer.Option(
        help="Time zone of the cron (default ALVH_SCHEDULE_TIMEZONE: America/New_York)")] = None,
    source: Annotated[str, typer.Option(help="sample or drop")] = "sample",
    drop: Annotated[str | None, typer.Option(
        help="Drop folder for --source drop; {as_of} is replaced by the night")] = None,
    home: HomeOpt = None,
) -> None:
    """Serve the nightly deployment on a cron (default 17:30 New York, Mon-Fri); needs `alvh server`."""
    settings = _settings(home)

    def body() -> int:
        from flows.deploy import ServerUnavailable, serve_nightly

        try:
            serve_nightly(settings, cron=cron or settings.schedule_cron,
                          timezone=timezone or settings.schedule_timezone, source=source, drop=drop)
        except ServerUnavailable as e:
            console.error(str(e))
            return 1
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def report(as_of: AsOfOpt = None, home: HomeOpt = None) -> None:
    """Re-render a night's report (default: the last built night) and the index."""
    settings = _settings(home)

    def body() -> int:
        from warehouse import queries
        from warehouse.db import Warehouse

        day = _date(as_of)
        with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
            if day is None:
                day = queries.last_built_night(wh, settings.gamma_preset)
                if day is None:
                    raise ValueError("nothing built yet: run `alvh demo` or `alvh nightly` first")
            elif not queries.night_built(wh, day, settings.gamma_preset):
                raise ValueError(f"no night built for {day}: run `alvh nightly --as-of {day}` "
                                 f"(or `alvh build --start {day}` when its files are loaded)")
        from flows.report import report as report_flow  # the renderer's imports: only for a night

        console.info(f"report: {report_flow.fn(as_of=day, home=settings.root)}")
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def audit(as_of: AsOfOpt = None, home: HomeOpt = None) -> None:
    """Audit a night already in the warehouse (default: the last built): Great Expectations suites
    per table, results in audit.validations, Data Docs; exit code 1 on a critical failure."""
    settings = _settings(home)

    def body() -> int:
        from warehouse import queries
        from warehouse.db import Warehouse

        day = _date(as_of)
        with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
            if day is None:
                day = queries.last_loaded_night(wh)
                if day is None:
                    raise ValueError("nothing loaded yet: run `alvh demo` or `alvh nightly` first")
            elif not queries.night_loaded(wh, day):
                raise ValueError(f"nothing loaded for {day}: run `alvh nightly --as-of {day}` first")
        from flows.audit import audit as audit_flow  # Great Expectations: only for a loaded night
        from flows.audit import print_audit

        res = audit_flow.fn(as_of=day, home=settings.root)
        with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
            print_audit(wh, res)
        return 0 if res.trusted else 1

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


@app.command()
def gex(
    files: Annotated[list[Path] | None, typer.Argument(
        help="CBOE quotedata / delayed-JSON chain files (none: read the home's core.gamma_daily)")] = None,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Gamma convention preset: default | perfiliev (default: ALVH_GAMMA_PRESET)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file per line")] = False,
    underlying: Annotated[str | None, typer.Option(
        "--underlying", help="Only this underlying (SPX, SPY, QQQ, NDX, ...); without files: "
                             "the stored row of it (default SPX)")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Without files: the stored session YYYY-MM-DD (default: the last)")] = None,
    home: HomeOpt = None,
) -> None:
    """Dealer gamma of chain files without a warehouse, or of the stored tables with no file:
    spot GEX, zero gamma, walls, vanna and charm (docs/gamma.md)."""
    day = _date(as_of, "--as-of") if as_of else None

    def body() -> int:
        from flows.gex import gex_command, stored_command

        if files:
            return gex_command(files, preset or load_settings().gamma_preset, as_json, underlying)
        settings = _settings(home)
        return stored_command(settings.warehouse_path, (underlying or "SPX").upper(),
                              preset or settings.gamma_preset, day, as_json)

    raise typer.Exit(_guard(body))


@app.command()
def research(
    history_dir: Annotated[Path | None, typer.Option("--history-dir", help="Folder of real index history "
                                              "files (Cboe *_History.csv, SPX daily, VIX family, SKEW, CNDR); "
                                              "default ALVH_HISTORY_DIR")] = None,
    start: Annotated[str, typer.Option("--start", help="First date YYYY-MM-DD")] = "1990-01-01",
    end: Annotated[str, typer.Option("--end", help="Last date YYYY-MM-DD")] = "2015-12-31",
    strategies: Annotated[str, typer.Option(help="Comma-separated: cndr_replica,alvh,plain_ic,spx")] =
    "cndr_replica,alvh,plain_ic,spx",
    seed_home: Annotated[bool, typer.Option("--seed-home", help="Cold start instead: land the folder "
                                            "and build the last ALVH_HISTORY_YEARS of signals (no backtest)")] = False,
    home: HomeOpt = None,
) -> None:
    """Real-history evidence (docs/research.md): land the folder through the readers, run the CNDR
    replica, ALVH, the plain condor and SPX on the VIX/SKEW surface, print CNDR tracking and the
    unwind score's drawdown evidence, render the Real history page. With --seed-home: seed this
    home from the folder so night one has z-scores, MACD and regimes."""
    settings = _settings(home)
    d0, d1 = _date(start, "--start"), _date(end, "--end")
    history_dir = history_dir or settings.history_dir
    if history_dir is None:
        console.error("research: give --history-dir FOLDER (or set ALVH_HISTORY_DIR)")
        raise typer.Exit(2)

    def body() -> int:
        from flows.research import research as research_flow

        if seed_home:
            from flows.research import seed

            return 1 if seed(history_dir, home=settings.root).failed else 0

        research_flow(history_dir, d0, d1, home=settings.root,
                      strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()))
        return 0

    raise typer.Exit(_guard(body))


@app.command("research-surface")
def research_surface(
    history_dir: Annotated[Path, typer.Option("--history-dir", help="Folder with VIX-family and SKEW histories")],
    fit_chains: Annotated[list[Path], typer.Option("--fit", help="Chain files/folders to fit on")],
    check_chains: Annotated[list[Path] | None, typer.Option("--check", help="Chain files/folders to "
                                                            "report out of sample")] = None,
    fit_until: Annotated[str | None, typer.Option("--fit-until", help="Only --fit chains quoted up to "
                                                  "this date are fitted; later ones are out of sample")] = None,
    call_wing: Annotated[bool, typer.Option("--call-wing", help="Also fit the call wing's extra "
                                            "curvature c (docs/research.md)")] = False,
) -> None:
    """Fit the VIX/SKEW surface's 3 parameters on real SPX chains; print IV and CNDR-leg errors."""
    until = _date(fit_until, "--fit-until")

    def body() -> int:
        from flows.research import print_calibration, surface_calibration

        print_calibration(surface_calibration(fit_chains, check_chains or [], history_dir, until,
                                              call_wing=call_wing))
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def show(as_of: AsOfOpt = None, home: HomeOpt = None) -> None:
    """Tonight's trade in the terminal: regime, unwind score with its coverage and what moved it
    since the previous night, the legs and the risk (default: the last built night)."""
    day = _date(as_of)
    settings = _settings(home)

    def body() -> int:
        from flows.show import print_show

        return print_show(settings, day)

    raise typer.Exit(_guard(body))


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="recommendations, legs, trades, daily, signals, gamma, "
                                              "quarantine, or any schema.table (`alvh status` lists them)")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: <table>.<format> here)")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First date YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last date YYYY-MM-DD")] = None,
    home: HomeOpt = None,
) -> None:
    """Write a table's rows (dated within [--start, --end]) to CSV or Parquet."""
    first, last = _date(start, "--start"), _date(end, "--end")
    settings = _settings(home)

    def body() -> int:
        from flows.export import export as export_table

        export_table(settings, table, fmt, out, first, last)
        return 0

    raise typer.Exit(_guard(body))


@app.command()
def quarantine(
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows")] = 200,
    raw: Annotated[bool, typer.Option("--raw", help="Print each refused row's input text too")] = False,
    home: HomeOpt = None,
) -> None:
    """Rows refused at landing or by a contract: file:line: reason [table, check] (default: the latest)."""
    day = _date(as_of)
    settings = _settings(home)

    def body() -> int:
        from flows.quarantine_cmd import print_quarantine

        return print_quarantine(settings, day, limit, raw)

    raise typer.Exit(_guard(body))


config_app = typer.Typer(help="Strategy settings (alvh.toml) and run settings (ALVH_*).",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(home: HomeOpt = None) -> None:
    """Every setting's effective value and where it came from: default, file or environment."""
    settings = _settings(home)

    def body() -> int:
        from flows.config_cmd import print_config

        return print_config(settings)

    raise typer.Exit(_guard(body))


@config_app.command("example")
def config_example() -> None:
    """Print an alvh.toml with every strategy setting, its default and what it does."""
    from flows.config_cmd import print_example

    raise typer.Exit(_guard(print_example))


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
