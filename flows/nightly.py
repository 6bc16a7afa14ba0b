"""The `nightly` flow: tonight's drop -> ingest -> build -> report, with a run record.

Wiring only. Sample drops come from sources.sample; everything else from the other flows' tasks.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import console
from flows.audit import audit_and_regate
from flows.build import build_sessions
from flows.ingest import IngestSummary, ingest_paths
from flows.notify import notify_night
from flows.report import render_report
from flows.runs import run_info
from flows.settings import Settings, load_settings
from flows.strategy import strategy_changes
from sources import calendar
from warehouse import reads
from warehouse.db import Warehouse
from warehouse.runs import recording

SOURCES = ("sample", "drop", "live")


@dataclass
class NightSummary:
    as_of: date
    status: str = "ok"  # ok | warning | failed | skipped
    report: Path | None = None
    files: int = 0
    rows: int = 0
    quarantined: int = 0
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)  # report section -> why it is stale

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "failed" else 0

    def absorb(self, ing: IngestSummary) -> None:
        self.files += len(ing.files)
        self.rows += ing.rows
        self.quarantined += ing.quarantined
        self.failed += [f.error or f.path for f in ing.failed]


@task(name="write-sample-drop", retries=2, retry_delay_seconds=[2, 5], timeout_seconds=600,
      cache_policy=NO_CACHE, tags=["alvh", "io"])
def write_sample_drop(day: date, seed: int, drops: Path) -> Path:
    from sources.sample import SampleMarket, write_drop

    out = drops / day.isoformat()
    write_drop(SampleMarket(seed=seed), day, out)
    return out


@task(name="write-sample-history", retries=2, retry_delay_seconds=[2, 5], timeout_seconds=1800,
      cache_policy=NO_CACHE, tags=["alvh", "io"])
def write_sample_history(first_day: date, seed: int, drops: Path, years: float = 2.0) -> Path:
    from sources.sample import SampleMarket, write_bootstrap

    out = drops / f"history-before-{first_day.isoformat()}"
    write_bootstrap(SampleMarket(seed=seed), first_day, out, years=years)
    return out


@task(name="seed-history", timeout_seconds=3600, cache_policy=NO_CACHE, tags=["alvh", "io"])
def seed_history(wh: Warehouse, settings: Settings, as_of: date, summary: NightSummary) -> None:
    """ALVH_HISTORY_DIR set: land the history folder and build the sessions it adds before the
    night (flows/research.py `seed_home`; after the first night, nothing to do). A file it cannot
    read warns the night, it does not fail it: tonight's own files decide that."""
    from flows.research import seed_home

    res = seed_home(wh, settings, settings.history_dir, until=as_of)
    summary.files += res.loaded
    for line in res.failed:
        summary.stale[f"history:{line.split(':', 1)[0]}"] = line
    if res.failed:
        summary.messages.append(f"History folder {res.folder}: {len(res.failed)} file(s) could not be "
                                f"read (first: {res.failed[0]})")


def _needs_history(wh: Warehouse, first_day: date) -> bool:
    return not reads.has_spx_bars_before(wh, first_day)


def _discard_drop(folder: Path, ing: IngestSummary) -> None:
    """Sample drops are the simulated vendor's outbox: once every file is landed, drop them."""
    if not ing.failed and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _headline_markdown(s: NightSummary, wh: Warehouse) -> str:
    """The night in a few lines for the Prefect UI: regime and score, the recommendation, dealer
    gamma and VIX, the backtest, and where the report is. Each part only when its table has it."""
    part = reads.night_headline(wh, s.as_of)
    lines = [f"# ALVH night {s.as_of}", "", f"**Status:** {s.status}", ""]
    sig = part["signals"]
    if sig:
        score = sig["unwind_score"]
        lines.append(f"- **Regime {sig['regime']}**, unwind score "
                     f"{'n/a' if score is None else f'{score:.0f}'} / 100")
    rec = part["recommendation"]
    if rec and rec.get("status") == "ok":
        lines.append(f"- Recommendation: {rec['structure'].replace('+', ' + ')} · {rec['contracts']} x "
                     f"{rec['root']} {rec['expiry']} {rec['long_put']:g}/{rec['short_put']:g} P · "
                     f"{rec['short_call']:g}/{rec['long_call']:g} C, credit {rec['credit_pts']:.2f} pts, "
                     f"max loss {rec['max_loss_usd']:,.0f} USD")
    elif rec:
        lines.append(f"- No recommendation: {rec.get('skip_reason') or rec.get('status')}")
    g = part["gamma"]
    if g:
        flip = "" if g["zero_gamma"] is None else f", flip {g['zero_gamma']:,.0f}"
        lines += [f"- SPX {g['spot']:,.2f}; net spot GEX {g['net_gex_usd_per_pct'] / 1e9:+,.2f} bn USD per 1 % move{flip}"]
    v = part["vol"]
    if v and v["vix"] is not None:
        ratio = "" if v["vix_vix3m_ratio"] is None else f", VIX/VIX3M {v['vix_vix3m_ratio']:.3f}"
        lines.append(f"- VIX {v['vix']:.2f}{ratio}")
    bt = part["backtest"]
    if bt:
        fmt = lambda x, k="%": "-" if x is None else (f"{x * 100:+.1f} %" if k == "%" else f"{x:.2f}")  # noqa: E731
        why = f" ({bt['note']})" if bt["note"] else ""
        lines.append(f"- ALVH backtest: total return {fmt(bt['total_return'])}, CAGR {fmt(bt['cagr'])}, "
                     f"Sharpe {fmt(bt['sharpe'], 'x')}, max drawdown {fmt(bt['max_drawdown'])}{why}")
    lines += [f"- Files {s.files}, rows {s.rows:,}, quarantined {s.quarantined:,}", "",
              f"Report: `{s.report}`"]
    if s.report is not None:
        ts = s.report.with_name(f"{s.as_of.isoformat()}-tearsheet.html")
        if ts.exists():
            lines.append(f"Tearsheet: `{ts}`")
    lines += [f"- FAILED: {m}" for m in s.failed]
    return "\n".join(lines)


def run_night(wh: Warehouse, settings: Settings, as_of: date, *, source: str, drop: Path | None,
              run: dict) -> NightSummary:
    summary = NightSummary(as_of)
    if settings.history_dir is not None:  # cold start from public histories (docs/research.md)
        seed_history(wh, settings, as_of, summary)
    if source == "sample":
        if _needs_history(wh, as_of):
            hist = write_sample_history(as_of, settings.seed, settings.drops)
            ing = ingest_paths(wh, settings, [hist], label=f"history-{as_of}", not_after=as_of)
            summary.absorb(ing)
            _discard_drop(hist, ing)
        folder = write_sample_drop(as_of, settings.seed, settings.drops)
    elif source == "drop":
        if drop is None:
            raise ValueError("--source drop needs --drop FOLDER (tonight's vendor files)")
        folder = Path(str(drop).replace("{as_of}", as_of.isoformat()))
        missing = wait_for_drop(folder, expected_for_drop(settings, drop, as_of), settings.drop_wait_s,
                                settings.drop_poll_s)
        _mark_stale(summary, folder, missing, settings.drop_wait_s)
    elif source == "live":
        from flows.fetch import live_night

        folder = live_night(summary, settings, as_of)  # public APIs -> drops/<D>-live/
    else:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if folder.exists():
        from sources.live.run import manifest_provenance  # fetched files: source, URL, fetched_at

        ing = ingest_paths(wh, settings, [folder], label=f"night-{as_of}",
                           provenance=manifest_provenance(folder), not_after=as_of)
        summary.absorb(ing)
        if source == "sample":
            _discard_drop(folder, ing)
    build_sessions(wh, settings, [as_of])
    quality = audit_and_regate(wh, settings, as_of, run)  # after the build, before the report
    summary.failed += [f"audit: {r}" for r in quality.critical]
    banners = quality.banners() + [{"level": "warn", "text": m} for m in summary.messages]
    summary.report = render_report(wh, as_of, settings, run, stale=summary.stale or None,
                                   banners=banners or None)
    if summary.failed or (source == "drop" and not summary.files):
        summary.status = "failed"
    elif summary.quarantined or summary.stale:
        summary.status = "warning"
    return summary


# -- late or missing vendor files (--source drop) -------------------------------------------------
# Report sections fed by each landing source: marked stale when the source's files never came.
SECTIONS_BY_SOURCE = {
    "cboe_chain": ("headline", "gamma", "options"),
    "cboe_index": ("volatility",),
    "cfe_vx": ("volatility",),
    "funding": ("funding",),
    "breadth": ("breadth",),
    "macro": ("events",),
    "perp_metrics": ("funding",),
    "perp_liquidations": ("funding",),
    "fundamentals": ("fundamentals",),
}


def expected_sources(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.expected_sources.split(",") if s.strip()]


def expected_for_drop(settings: Settings, drop: Path, as_of: date) -> list[str]:
    """The sources tonight's drop is waited for: ALVH_EXPECTED_SOURCES when set; otherwise those
    of the default list that this drop delivered on any of its last 5 nights (a `{as_of}`
    folder), so a drop with no breadth, VX or macro feed is not waited for them every night."""
    configured = expected_sources(settings)
    if "expected_sources" in settings.model_fields_set or "{as_of}" not in str(drop):
        return configured
    seen: set[str] = set()
    for day in calendar.sessions_between(as_of - timedelta(days=10), as_of)[:-1][-5:]:
        seen |= sources_present(Path(str(drop).replace("{as_of}", day.isoformat())))
    return [s for s in configured if s in seen] if seen else configured


def sources_present(folder: Path) -> set[str]:
    """Landing sources of the files in a drop folder, told by content like ingest does."""
    from flows.ingest import expand_paths
    from sources.base import SourceError
    from sources.formats import detect

    if not folder.is_dir():
        return set()
    found = set()
    for f in expand_paths([folder]):
        with f.open("rb") as fh:
            head = fh.read(65536)
        try:
            found.add(detect(head, str(f)).source)
        except SourceError:
            continue
    return found


@task(name="wait-for-drop", cache_policy=NO_CACHE, tags=["alvh", "io"])
def wait_for_drop(folder: Path, expected: list[str], wait_s: float, poll_s: float) -> list[str]:
    """Poll the drop folder until every expected source has a file or `wait_s` has passed;
    return the sources still missing (the night then runs with what it has)."""
    deadline = time.monotonic() + wait_s
    while True:
        missing = [s for s in expected if s not in sources_present(folder)]
        left = deadline - time.monotonic()
        if not missing or left <= 0:
            return missing
        console.info(f"waiting for {', '.join(missing)} in {folder} ({left / 60:.0f} min left)")
        time.sleep(min(poll_s, left))


def _mark_stale(summary: NightSummary, folder: Path, missing: list[str], wait_s: float) -> None:
    if not missing:
        return
    waited = f"{wait_s / 60:.0f} min" if wait_s >= 60 else f"{wait_s:.0f} s"
    by_section: dict[str, list[str]] = {}
    for src in missing:
        for section in SECTIONS_BY_SOURCE.get(src, ()):
            by_section.setdefault(section, []).append(src)
    for section, srcs in by_section.items():
        summary.stale[section] = f"no {' / '.join(srcs)} files in {folder} after waiting {waited}"
    msg = (f"Stale: {', '.join(missing)} missing from tonight's drop after waiting {waited}; "
           "affected sections show the last data the warehouse has.")
    summary.messages.append(msg)
    console.warn(msg)


def scheduled_night(now: datetime | None = None) -> tuple[date, bool]:
    """The night a run without --as-of is for, and whether there is one: a scheduled run on a
    day that is not an XNYS session (New York date) has nothing to do; otherwise the night is the
    last completed session."""
    from sources.dates import NEW_YORK

    now = now or flow_run.scheduled_start_time or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(NEW_YORK).date()
    if not calendar.is_session(today):
        return today, False
    return calendar.last_completed_session(now), True


def _night_run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    if as_of is None:
        as_of, _ = scheduled_night()
    return f"nightly-{as_of}"


@flow(name="nightly", flow_run_name=_night_run_name)
def nightly(as_of: date | None = None, source: str = "sample", drop: Path | None = None,
            home: Path | None = None) -> NightSummary:
    """Tonight's run: land the drop, build the core tables, render the report.

    Without as_of (a scheduled run) the night is the last completed XNYS session; on a day that
    is not a session the run is skipped."""
    settings = load_settings(home=home)
    if as_of is None:
        as_of, is_night = scheduled_night()
        if not is_night:
            console.info(f"{as_of} is not an XNYS session ({as_of:%A}); nothing to do")
            return NightSummary(as_of, status="skipped")
    if not calendar.is_session(as_of):
        console.info(f"{as_of} is not an XNYS session ({as_of:%A}); nothing to do")
        return NightSummary(as_of, status="skipped")
    run = run_info("nightly")
    with (Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh,
          recording(wh, run, "nightly", as_of, {"source": source, "drop": drop,
                                                "strategy": strategy_changes(settings)}) as rec):
        summary = run_night(wh, settings, as_of, source=source, drop=drop, run=run)
        rec.finish(summary.status, summary.__dict__)
        _publish(wh, summary, f"ALVH night {as_of}: {summary.status}")
        notify_night(wh, settings, as_of, summary.status)
    return summary


def _publish(wh: Warehouse, summary: NightSummary, description: str) -> None:
    """The night's headline as a Prefect markdown artifact (one key per night)."""
    create_markdown_artifact(key=f"alvh-night-{summary.as_of.isoformat()}",
                             markdown=_headline_markdown(summary, wh), description=description)
