"""Lineage: which run built this page, from which files (sha256), with which code."""

from __future__ import annotations

from reports.sections import Context
from warehouse.reads import files_for_date


def build(ctx: Context) -> dict | None:
    files = files_for_date(ctx.wh, ctx.as_of).to_dicts()
    bad = [f for f in files if f["status"] not in ("loaded", "superseded")]
    rows = sum(f["rows_written"] or 0 for f in files)
    take = (f"{len(files)} files carried tonight's rows into the warehouse ({rows:,} rows)"
            + (f"; {len(bad)} with rejects." if bad else ", every one loaded cleanly."))
    return {"run": ctx.run, "files": files, "takeaway": take}
