"""Great Expectations suites: one per warehouse table, rebuilt each night from the table's
contract and its trailing history. Pure: plain inputs in, GE expectations out (no I/O).

Every expectation carries meta {"severity": critical|warning, "kind": ...}:
  schema      contract columns present (critical); exactly the contract's columns (warning)
  freshness   tonight's partition has rows (critical for required or live tables)
  volume      row count vs the trailing median (scaled by the window's hours for timestamped
              tables): outside [0.5x, 2x] warning, outside [0.1x, 10x] critical
  key         grain unique and not null (critical)
  contract    per-column ranges, sets and formats from the pandera model (critical; raw tables)
  drift       KL divergence vs the trailing nights' deciles (>= 50 values tonight), median within
              the trailing nights' medians (warning)
  jump        tonight's value vs the series' last stored value within [1/4, 4]x (critical)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from expectations.contracts import Contract

CRITICAL = "critical"
WARNING = "warning"

# Tuning (documented in docs/data-quality.md).
HISTORY_NIGHTS = 20       # trailing sessions used for volume and drift
MIN_VOLUME_NIGHTS = 3     # nights with rows needed before the volume checks apply
MIN_DRIFT_NIGHTS = 5      # nights with values needed before the drift checks apply
VOLUME_WARN = (0.5, 2.0)
VOLUME_CRIT = (0.1, 10.0)
KL_THRESHOLD = 0.25       # nats; calibrated on the sample market (docs/data-quality.md)
MEDIAN_PAD = 0.5          # widen the trailing medians' range by this share of its width ...
MEDIAN_PAD_REL = 0.1      # ... and at least by this share of their midpoint's magnitude
JUMP_FACTOR = 4.0
MIN_KL_VALUES = 50        # tonight's values needed for a KL divergence to mean anything
CONTRACT_LAYERS = ("raw",)  # layers whose per-column contract checks are repeated in GE


@dataclass(frozen=True)
class DriftRef:
    """The trailing distribution of one column: decile edges, their weights, nightly medians."""

    column: str
    edges: list[float]     # interior bin edges (ascending, unique)
    weights: list[float]   # len(edges) + 1 weights: (-inf, e0), [e0, e1) ... [e_last, inf)
    medians: list[float]   # one per trailing night with values
    nights: int


@dataclass(frozen=True)
class History:
    """What the previous sessions looked like for one table."""

    counts: list[int] = field(default_factory=list)  # rows per trailing session, oldest first
    drift: dict[str, DriftRef] = field(default_factory=dict)
    has_previous: dict[str, bool] = field(default_factory=dict)  # jump value -> a previous value exists
    # tonight's window / the trailing nights' median window: a Monday's funding day spans the
    # weekend (72 h), so it holds three times the events of a Tuesday's
    scale: float = 1.0

    @property
    def live(self) -> bool:
        return any(self.counts)

    @property
    def median_count(self) -> float | None:
        have = sorted(c for c in self.counts if c > 0)
        if len(have) < MIN_VOLUME_NIGHTS:
            return None
        n = len(have)
        return float(have[n // 2]) if n % 2 else (have[n // 2 - 1] + have[n // 2]) / 2


def suite_name(table: str) -> str:
    """GE stores suite names with dots as nested folders: raw.option_quotes -> raw_option_quotes."""
    return table.replace(".", "_")


def jump_column(c: Contract) -> str | None:
    return f"{c.jump[1]}_vs_prev" if c.jump else None


def _meta(severity: str, kind: str, note: str = "") -> dict:
    m = {"severity": severity, "kind": kind}
    if note:
        m["note"] = note
    return m


def _range_kwargs(check) -> dict | None:
    """A pandera column check as ExpectColumnValuesToBeBetween kwargs (None when it is not a range)."""
    s = check.statistics or {}
    name = check.name
    if name == "greater_than_or_equal_to":
        return {"min_value": s["min_value"]}
    if name == "greater_than":
        return {"min_value": s["min_value"], "strict_min": True}
    if name == "less_than_or_equal_to":
        return {"max_value": s["max_value"]}
    if name == "less_than":
        return {"max_value": s["max_value"], "strict_max": True}
    if name == "in_range":
        return {"min_value": s["min_value"], "max_value": s["max_value"],
                "strict_min": not s.get("include_min", True), "strict_max": not s.get("include_max", True)}
    return None


def expectations_for(c: Contract, history: History, *, cadence_rows: bool = True,
                     rows: int | None = None) -> list:
    """The table's expectations for tonight (GE objects with severity/kind in meta).

    `cadence_rows` is False for static and event tables: no freshness or volume checks.
    `rows` = 0 (tonight's partition is empty): only schema, freshness and volume apply.
    """
    import great_expectations.expectations as gxe

    out: list = []
    cols = c.columns
    jump = jump_column(c)
    # schema
    out.append(gxe.ExpectTableColumnsToMatchSet(
        column_set=cols, exact_match=False, meta=_meta(CRITICAL, "schema", "every contract column present")))
    out.append(gxe.ExpectTableColumnsToMatchSet(
        column_set=cols + ([jump] if jump else []), exact_match=True,
        meta=_meta(WARNING, "schema", "no column outside the contract")))
    # freshness and volume
    if cadence_rows and c.cadence == "session" and (c.required or history.live):
        out.append(gxe.ExpectTableRowCountToBeBetween(
            min_value=1, meta=_meta(CRITICAL, "freshness", "tonight's partition has rows")))
    med = history.median_count if cadence_rows and c.cadence == "session" else None
    if med:
        med *= history.scale
        for (lo, hi), sev in ((VOLUME_WARN, WARNING), (VOLUME_CRIT, CRITICAL)):
            out.append(gxe.ExpectTableRowCountToBeBetween(
                min_value=int(math.floor(lo * med)), max_value=int(math.ceil(hi * med)),
                meta=_meta(sev, "volume", f"rows within [{lo:g}x, {hi:g}x] of the trailing median {med:g}")))
    if rows == 0:
        return out
    # key
    grain = list(c.grain)
    if len(grain) > 1:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=grain, meta=_meta(CRITICAL, "key")))
    elif grain:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=grain[0], meta=_meta(CRITICAL, "key")))
    schema = c.schema
    for name, col in schema.columns.items():
        if not col.nullable and col.required:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=name, meta=_meta(
                CRITICAL, "key" if name in grain else "contract")))
    # per-column contract checks: vendor tables only. Core rows were checked against the same
    # model moments before they were written (flows/build.py) and are rebuilt from raw; repeating
    # every range in GE would double the audit's time for no new information.
    contract_cols = schema.columns.items() if c.table.split(".")[0] in CONTRACT_LAYERS else []
    for name, col in contract_cols:
        for chk in col.checks:
            kw = _range_kwargs(chk)
            if kw is not None:
                out.append(gxe.ExpectColumnValuesToBeBetween(column=name, **kw,
                                                             meta=_meta(CRITICAL, "contract", chk.name)))
            elif chk.name == "isin":
                out.append(gxe.ExpectColumnValuesToBeInSet(
                    column=name, value_set=sorted(chk.statistics["allowed_values"]),
                    meta=_meta(CRITICAL, "contract", chk.name)))
            elif chk.name == "str_matches":
                out.append(gxe.ExpectColumnValuesToMatchRegex(
                    column=name, regex=chk.statistics["pattern"], meta=_meta(CRITICAL, "contract", chk.name)))
    # drift
    for colname in c.drift:
        ref = history.drift.get(colname)
        if ref is None or ref.nights < MIN_DRIFT_NIGHTS:
            continue
        if rows is None or rows >= MIN_KL_VALUES:
            out.append(gxe.ExpectColumnKLDivergenceToBeLessThan(
                column=colname, threshold=KL_THRESHOLD,
                partition_object={"bins": [-math.inf, *ref.edges, math.inf], "weights": ref.weights},
                meta=_meta(WARNING, "drift", f"vs the deciles of the previous {ref.nights} nights")))
        lo, hi = min(ref.medians), max(ref.medians)
        pad = max(MEDIAN_PAD * (hi - lo), MEDIAN_PAD_REL * abs((hi + lo) / 2), 1e-12)
        out.append(gxe.ExpectColumnMedianToBeBetween(
            column=colname, min_value=lo - pad, max_value=hi + pad,
            meta=_meta(WARNING, "drift", f"median within the previous {ref.nights} nights' medians "
                                         f"[{lo:.6g}, {hi:.6g}] widened")))
    # jump vs the last stored value of each series
    if jump and history.has_previous.get(c.jump[1]):
        out.append(gxe.ExpectColumnValuesToBeBetween(
            column=jump, min_value=1 / JUMP_FACTOR, max_value=JUMP_FACTOR,
            meta=_meta(CRITICAL, "jump", f"{c.jump[1]} / its last stored value, per "
                                         f"{', '.join(c.jump[0])}")))
    return out


def idle(c: Contract, history: History, rows: int) -> bool:
    """Nothing to validate: no rows tonight, none expected (not required, no rows in the trailing
    nights, not a static table). The audit records one passing `table_idle` row instead of running
    GE on an empty frame (a second saved per table on a young home)."""
    return rows == 0 and c.cadence != "static" and not c.required and not history.live


def build_suite(c: Contract, history: History, rows: int | None = None):
    """The table's ExpectationSuite for tonight."""
    import great_expectations as gx

    return gx.ExpectationSuite(
        name=suite_name(c.table),
        expectations=expectations_for(c, history, cadence_rows=c.cadence == "session", rows=rows),
        meta={"table": c.table, "grain": list(c.grain), "cadence": c.cadence},
    )
