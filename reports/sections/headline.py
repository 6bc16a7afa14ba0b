"""Headline: tonight's key figures in one glance (reads core tables only)."""

from __future__ import annotations

from reports.sections import Context


def build(ctx: Context) -> dict | None:
    g = ctx.wh.sql("select * from core.gamma_daily where date = ? and underlying = 'SPX' and preset = ?",
                   [ctx.as_of, ctx.preset])
    if g.is_empty():
        return None
    row = g.row(0, named=True)
    return {"gamma": row, "source_table": "core.gamma_daily"}
