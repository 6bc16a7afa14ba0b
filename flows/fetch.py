"""The `fetch` flow and task: tonight's files from public APIs into $ALVH_HOME/drops/<D>-live/.

Wiring only: the fetchers are in sources/live (network only here, only when asked); `nightly
--source live` calls `fetch_live` and ingests the folder like any drop, with provenance.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows import console
from flows.engine import NO_CACHE, flow, task
from flows.settings import Settings, load_settings
from sources.live.run import FetchReport, LivePlan, SessionFactory, fetch_drop

# Tests replace this (a provider -> session factory); None means settings decide (replay or real).
SESSIONS: SessionFactory | None = None


def _split(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def live_plan(settings: Settings) -> LivePlan:
    return LivePlan(
        cboe_chains=_split(settings.live_cboe_chains),
        yahoo_history=_split(settings.live_yahoo_history),
        yahoo_chains=_split(settings.live_yahoo_chains),
        yahoo_max_expiries=settings.live_yahoo_max_expiries,
        chain_fallback=settings.live_chain_fallback,
        funding_venues=_split(settings.live_funding_venues),
        funding_assets=_split(settings.live_funding_assets),
        history_days=settings.live_history_days,
        funding_days=settings.live_funding_days,
        oi_venues=_split(settings.live_oi_venues),
        liquidation_venues=_split(settings.live_liquidation_venues),
        positioning_assets=_split(settings.live_funding_assets),
        oi_days=settings.live_oi_days,
        liquidation_days=settings.live_liquidation_days,
        timeout_s=settings.live_timeout_s,
        attempts=settings.live_attempts,
        backoff_s=settings.live_backoff_s,
        yahoo_per_min=settings.live_yahoo_per_min,
        cboe_per_min=settings.live_cboe_per_min,
        cache_dir=settings.root / "cache" / "yfinance",
        via=(f"replay of {Path(settings.live_replay).expanduser()}" if settings.live_replay is not None
             and SESSIONS is None else "alvh live fetch"),
    )


def session_factory(settings: Settings) -> SessionFactory | None:
    if SESSIONS is not None:
        return SESSIONS
    if settings.live_replay is not None:
        from sources.live.recorded import RecordedSession

        folder = Path(settings.live_replay).expanduser()
        RecordedSession.from_dir(folder)  # a missing routes.json fails here, in one line
        return lambda provider: RecordedSession.from_dir(folder)
    return None  # real HTTP


def live_folder(settings: Settings, as_of: date) -> Path:
    return settings.drops / f"{as_of.isoformat()}-live"


@task(name="fetch-live", cache_policy=NO_CACHE, tags=["alvh", "io", "network"])
def fetch_live(settings: Settings, as_of: date, only: list[str] | None = None,
               show: bool = True) -> FetchReport:
    """Fetch the night into its drop folder; one line per file as it lands. Retries sit inside
    (per request, with backoff): a Prefect retry would start every source again. Raises
    LiveFetchError (one line) when nothing could be fetched."""
    return _fetch(settings, live_plan(settings), as_of, live_folder(settings, as_of), only, show)


def _fetch(settings: Settings, plan: LivePlan, day: date, folder: Path, only, show: bool) -> FetchReport:
    """fetch_drop with one line per file as it lands and one per file that did not come."""
    report = fetch_drop(plan, day, folder, sessions=session_factory(settings), only=only,
                        on_file=(lambda f: console.info(f.line())) if show else None)
    if show:
        for m in report.missing:
            console.error(m.line())
    return report


@flow(name="fetch", flow_run_name="fetch-{as_of}")
def fetch(as_of: date, only: list[str] | None = None, home: Path | None = None) -> FetchReport:
    """`alvh fetch`: fetch only (no ingest), into $ALVH_HOME/drops/<as_of>-live/."""
    from sources import calendar

    if not calendar.is_session(as_of):
        raise ValueError(f"{as_of} is not an XNYS session ({as_of:%A}): nothing to fetch")
    settings = load_settings(home=home)
    return fetch_live(settings, as_of, only)


def live_night(summary, settings: Settings, as_of: date) -> Path:
    """`nightly --source live`: fetch, then say on the night's summary (and so in the report's
    banners and stale sections) what did not come. Returns the folder to ingest."""
    report = fetch_live(settings, as_of)
    by_section: dict[str, list[str]] = {}
    for m in report.missing:
        for section in m.sections:
            by_section.setdefault(section, []).append(m.label)
        if not m.sections:  # feeds no report section (or was covered): still a warning night
            summary.stale[f"live:{m.item}"] = m.reason
    for section, labels in by_section.items():
        summary.stale[section] = f"live fetch: no {' / '.join(labels)} tonight"
    if report.missing:
        summary.messages.append("Live fetch incomplete: " + "; ".join(
            f"{m.label}: {m.reason}" for m in report.missing))
    summary.messages += [f"{f.path.name}: {f.warning}" for f in report.files if f.warning]
    return report.folder


# -- `alvh fetch --history`: the public history files, only when asked (docs/research.md) --------

def history_plan(settings: Settings) -> LivePlan:
    """The live plan with nothing but the history files (same timeouts, retries and pacing)."""
    from dataclasses import replace

    plan = live_plan(settings)
    return replace(plan, cboe_chains=(), yahoo_history=(), yahoo_chains=(), funding_venues=(),
                   oi_venues=(), liquidation_venues=(),
                   chain_fallback=False, history=_split(settings.history_files),
                   via=plan.via.replace("alvh live fetch", "alvh fetch --history"))


def history_folder(settings: Settings, to: Path | None = None) -> Path:
    """Where --history writes: --to, else ALVH_HISTORY_DIR, else $ALVH_HOME/history."""
    return Path(to).expanduser() if to is not None else (
        Path(settings.history_dir).expanduser() if settings.history_dir is not None else settings.root / "history")


@task(name="fetch-history", cache_policy=NO_CACHE, tags=["alvh", "io", "network"])
def fetch_history(settings: Settings, to: Path | None = None, only: list[str] | None = None,
                  show: bool = True) -> FetchReport:
    """Download the history files into one folder (a later download replaces the file: Cboe
    appends and revises); one line per file. The folder then seeds a home (`alvh research
    --seed-home`, ALVH_HISTORY_DIR). Raises LiveFetchError (one line) when nothing came."""
    from datetime import UTC, datetime

    return _fetch(settings, history_plan(settings), datetime.now(UTC).date(),
                  history_folder(settings, to), only, show)
