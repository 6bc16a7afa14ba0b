"""Lineage: which run built this page, from which files (sha256), with which code."""

from __future__ import annotations

from reports.sections import Context
from warehouse.reads import files_for_date


def build(ctx: Context) -> dict | None:
    return {"run": ctx.run, "files": files_for_date(ctx.wh, ctx.as_of).to_dicts()}
