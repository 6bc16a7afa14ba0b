"""Lineage: which run built this page, from which files (sha256), with which code."""

from __future__ import annotations

from reports.sections import Context, why
from warehouse.queries import run_strategy
from warehouse.reads import files_for_date, signal_inputs


def build(ctx: Context) -> dict:
    files = files_for_date(ctx.wh, ctx.as_of).to_dicts()
    bad = [f for f in files if f["status"] not in ("loaded", "superseded")]
    rows = sum(f["rows_written"] or 0 for f in files)
    take = (f"{len(files)} files carried tonight's rows into the warehouse ({rows:,} rows)"
            + (f"; {len(bad)} with rejects." if bad else ", every one loaded cleanly."))
    strategy = run_strategy(ctx.wh, ctx.run.get("run_id"), ctx.as_of)
    settings = None if strategy is None else (
        "; ".join(f"{k} = {v}" for k, v in sorted(strategy.items())) or "all at their defaults")
    reason = None if files else why(ctx, "lineage", f"no file carried rows dated {ctx.as_of} into the warehouse")
    # where each signal input came from: chain / history file / drop file / missing (raw lineage)
    inputs = signal_inputs(ctx.wh, ctx.as_of, ctx.preset)
    return {"run": ctx.run, "files": files, "takeaway": take, "settings": settings, "reason": reason,
            "inputs": inputs}
