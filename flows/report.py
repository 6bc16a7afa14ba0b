"""The `report` flow: render tonight's page and the index from the warehouse as it stands."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows import console
from flows.engine import NO_CACHE, flow, task
from flows.settings import Settings, load_settings
from flows.version import code_version
from reports.render import render_index, render_night
from reports.tearsheet import write_tearsheet
from warehouse.db import Warehouse


@task(name="render-report", cache_policy=NO_CACHE)
def render_report(wh: Warehouse, as_of: date, settings: Settings, run: dict,
                  stale: dict[str, str] | None = None, banners: list[dict] | None = None,
                  tearsheet: bool = True) -> Path:
    """The night's tearsheet (when asked), page and the index. A tearsheet that cannot be drawn
    is a warning, not a failed night: the page links it only when the file exists."""
    if tearsheet:
        try:
            write_tearsheet(wh, as_of, settings.reports)
        except Exception as e:  # quantstats on odd data; the page and its own metrics still render
            console.warn(f"tearsheet for {as_of} not written: {type(e).__name__}: {e}")
    page = render_night(wh, as_of, settings.reports, preset=settings.gamma_preset, run=run,
                        stale=stale, banners=banners)
    render_index(wh, settings.reports, settings.gamma_preset)
    return page


@flow(name="report", flow_run_name="report-{as_of}")
def report(as_of: date, home: Path | None = None) -> Path:
    """Re-render one night's page (and the index) without rebuilding anything."""
    from expectations import night_is_trusted

    settings = load_settings(home=home)
    with Warehouse.open(settings.warehouse_path, lock_timeout_s=settings.lock_timeout_s) as wh:
        # The night's stored audit verdict goes back on top of the page, as the nightly run put it.
        trusted, reasons = night_is_trusted(wh, as_of)
        banners = [] if trusted else [
            {"level": "bad", "text": f"Data quality: {len(reasons)} critical problem(s) for {as_of}. "
                                     "This night's data is not trusted and no recommendation is made from it."},
            *({"level": "bad", "text": r} for r in reasons[:5])]
        return render_report(wh, as_of, settings,
                             {"run_id": "report-only", "code_version": code_version()},
                             banners=banners or None)
