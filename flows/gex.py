"""`alvh gex FILE...`: a quick look at dealer gamma of option-chain files, without a warehouse;
`alvh gex --underlying SPY` (no file): the stored core.gamma_daily row of a home, same line.

Files: each is read with the registered readers, its rows pass the raw.option_quotes contract
(flows/gate.py, as ingest does), then the build's gamma_partitions; one line (or one JSON object)
per file and underlying. Tables: a read-only look at the warehouse. Nothing is ever written.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl

from flows import console
from flows.gate import check_parsed
from sources.base import SourceError
from sources.formats import parse_file
from transforms.gamma import GammaConventions, unknown_roots

OPTION_TABLE = "raw.option_quotes"
JSON_FIELDS = (
    "file", "underlying", "quote_date", "snapshot_date", "quote_ts", "preset", "spot",
    "net_gex_usd_per_pct", "call_gex_usd_per_pct", "put_gex_usd_per_pct", "gross_gex_usd_per_pct", "zero_gamma",
    "zero_gamma_flips", "flip_count", "zero_gamma_distance_pct", "flip_search_low",
    "flip_search_high", "call_wall", "put_wall", "abs_gamma_strike", "top_oi_strikes",
    "zero_dte_share_pct", "contracts", "expired_rows",
    "net_vanna_usd_per_vol_pt", "net_charm_usd_per_day",
)


def chain_summary(path: Path, conventions: GammaConventions) -> list[dict]:
    """One summary per underlying in the file (core.gamma_daily columns + file), computed as the
    build computes it (flows.build.gamma_partitions). SourceError when the file cannot be read, is
    not an option chain, cannot be trusted as a whole or holds no root with gamma conventions
    (roots without them are named on one warning line and left out, never priced as SPX)."""
    from flows.build import gamma_partitions

    parsed = parse_file(path)
    if parsed.fatal is not None:
        raise parsed.fatal
    if parsed.table != OPTION_TABLE:
        raise SourceError(path, None, f"not an option chain: read as {parsed.format} "
                                      f"({parsed.table}), `alvh gex` needs {OPTION_TABLE}")
    # the contract gate, as at ingest: a row raw.option_quotes would refuse is not counted
    checked = check_parsed(parsed, str(path))
    if checked.error:
        raise SourceError(path, None, checked.error.removeprefix(f"{path}: "))
    if checked.failures.height:
        first = checked.failures.row(0, named=True)
        console.warn(f"{path}:{first['line']}: {checked.failures.height:,} row(s) refused by the "
                     f"{OPTION_TABLE} contract and left out; first: {first['reason']}")
    if checked.rows.is_empty():
        raise SourceError(path, None, "no option rows")
    left_out = unknown_roots(checked.rows)
    for r in left_out.iter_rows(named=True):
        console.warn(f"{path}: root {r['root']}: {r['rows']:,} row(s) left out: {r['reason']}")
    if left_out["rows"].sum() == checked.rows.height:
        raise SourceError(path, None, "no option rows of a root with dealer-gamma conventions "
                                      f"(roots: {', '.join(left_out['root'])})")
    daily = gamma_partitions(checked.rows, conventions)["core.gamma_daily"]
    out = []
    for row in daily.iter_rows(named=True):
        row = {"file": str(path), **row, "quote_date": row["date"]}
        out.append({k: _plain(row.get(k)) for k in JSON_FIELDS})
    return out


def _plain(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list | pl.Series):
        return [_plain(x) for x in v]
    return v


def _bn(x: float) -> str:
    return f"{x / 1e9:+,.2f}"


def format_line(s: dict) -> str:
    """One human line: what a trader reads first."""
    if s["zero_gamma"] is None:
        flip = (f"zero gamma none within {s['flip_search_low']:,.2f}–{s['flip_search_high']:,.2f}")
    else:
        flip = f"zero gamma {s['zero_gamma']:,.2f} ({s['zero_gamma_distance_pct']:+.2f}% of spot)"
        if s["flip_count"] > 1:
            flip += f", {s['flip_count']} flips: " + ", ".join(f"{f:,.2f}" for f in s["zero_gamma_flips"])
    expired = f", {s['expired_rows']} expired rows excluded" if s["expired_rows"] else ""
    vanna, charm = s.get("net_vanna_usd_per_vol_pt"), s.get("net_charm_usd_per_day")
    greeks = "" if vanna is None or charm is None else \
        f" | vanna {_bn(vanna)} bn USD/vol pt, charm {_bn(charm)} bn USD/day"
    return (f"{s['file']}: {s['underlying']} {s['quote_date']} (snapshot {s['snapshot_date']}) "
            f"spot {s['spot']:,.2f} | GEX {_bn(s['net_gex_usd_per_pct'])} bn USD/1% "
            f"(calls {_bn(s['call_gex_usd_per_pct'])}, puts {_bn(s['put_gex_usd_per_pct'])}) | {flip} | "
            f"call wall {s['call_wall']:.10g}, put wall {s['put_wall']:.10g} | "
            f"{s['contracts']:,} contracts{expired}{greeks} [{s['preset']}]")


def _emit(s: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(s, separators=(", ", ": ")) + "\n")
    else:
        console.info(format_line(s))


def stored_command(warehouse_path: Path, underlying: str, preset: str, day: date | None,
                   as_json: bool) -> int:
    """Print the stored core.gamma_daily row of `underlying` (the last stored day, or `day`) in the
    file summaries' line / JSON shape, `file` = the table. Exit 1 with one line when absent."""
    from warehouse import reads
    from warehouse.db import Warehouse

    with Warehouse.open(warehouse_path, read_only=True) as wh:
        row = reads.gamma_daily_row(wh, underlying, preset, day)
        stored = reads.gamma_underlyings(wh, preset) if row is None else []
    if row is None:
        when = f" on {day}" if day else ""
        console.error(f"{warehouse_path}: no core.gamma_daily row for {underlying}{when} (preset "
                      f"{preset}); stored underlyings: {', '.join(stored) or 'none'}")
        return 1
    row = {"file": "core.gamma_daily", **row, "quote_date": row["date"]}
    _emit({k: _plain(row.get(k)) for k in JSON_FIELDS}, as_json)
    sys.stdout.flush()
    return 0


def gex_command(files: list[Path], preset: str, as_json: bool, underlying: str | None = None) -> int:
    """Print each file's gamma summary (only `underlying`'s when given); a bad file prints its
    one-line error to stderr and the others still print. Exit code: 0 all good, 1 if any file
    failed or held no chain of `underlying`, 2 for an unknown preset."""
    try:
        GammaConventions.preset(preset)
    except ValueError as e:
        console.error(str(e))
        return 2
    # the preset completed exactly as the nightly build completes it (r, q, half-days), so the CLI
    # and core.gamma_daily give the same figures for the same file and preset
    from flows.build import gamma_conventions
    from flows.settings import Settings

    conventions = gamma_conventions(Settings().model_copy(update={"gamma_preset": preset}))
    failed = 0
    for path in files:
        path = Path(path)
        try:
            summaries = chain_summary(path, conventions)
        except SourceError as e:
            console.error(str(e))
            failed += 1
            continue
        except OSError as e:
            console.error(str(SourceError(path, None, e.strerror or str(e))))
            failed += 1
            continue
        if underlying is not None:
            summaries = [s for s in summaries if s["underlying"] == underlying]
            if not summaries:
                console.error(f"{path}: no {underlying} chain in this file")
                failed += 1
        for s in summaries:
            _emit(s, as_json)
        sys.stdout.flush()
    return 1 if failed else 0
