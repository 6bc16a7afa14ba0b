"""ALVH night by night: each night's recommendation sees the previous night's 'ok' row (size caps
in an unwind, the widened condor carried), and a row the table's contract refuses is nobody's prev.

Pure: frames, rows and callables in, recommendations out. No I/O, no warehouse, no Prefect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.alvh import AlvhParams, Recommendation, recommend


@dataclass(frozen=True)
class NightInputs:
    """What one night's recommendation reads (empty frames for a missing chain or curve)."""

    as_of: date
    spx: pl.DataFrame  # the night's SPX option quotes
    vix: pl.DataFrame  # the night's VIX option quotes
    vx: pl.DataFrame  # the night's VX futures settlements
    signals: dict | None = None  # the night's core.signals_daily row


@dataclass(frozen=True)
class Nights:
    recs: list[Recommendation]  # one per night, in date order
    summary: pl.DataFrame  # every night's core.recommendations row
    accepted: pl.DataFrame  # the rows `accept` kept: what the table will hold

    def frame(self, part: str) -> pl.DataFrame:
        """Every night's `legs` or `payoff` rows."""
        return pl.concat([getattr(r, part) for r in self.recs], how="vertical")


def prev_row(built: dict | None, before: dict | None) -> dict | None:
    """A night's prev: the newer of the latest 'ok' row built tonight and the latest stored one."""
    if built is not None and (before is None or built["as_of"] > before["as_of"]):
        return built
    return before


def one_pass(nights: Iterable[NightInputs], stored_ok: Sequence[dict],
             trust: Mapping[date, tuple[bool, str]], params: AlvhParams,
             refused: frozenset[date] = frozenset(),
             recommend_fn: Callable[..., Recommendation] | None = None) -> list[Recommendation]:
    """Every night in order. `stored_ok`: the stored 'ok' rows of other sessions, by as_of; a
    night's prev is the latest of those or of tonight's 'ok' rows before it, except `refused`."""
    fn = recommend_fn or recommend
    recs = []
    built: dict | None = None  # the latest 'ok' row built so far (not refused)
    k = 0
    for n in nights:
        d = n.as_of
        while k < len(stored_ok) and stored_ok[k]["as_of"] < d:
            k += 1
        trusted, why = trust[d]
        rec = fn(d, n.spx, signals=n.signals, vix_quotes=n.vix, vx_futures=n.vx,
                 prev=prev_row(built, stored_ok[k - 1] if k else None), params=params,
                 trusted=trusted, untrusted_reason=why)
        recs.append(rec)
        row = rec.row if rec.summary.height else None
        if row is not None and row["status"] == "ok" and d not in refused:
            built = row
    return recs


def recommend_nights(nights: Iterable[NightInputs], stored_ok: Sequence[dict],
                     trust: Mapping[date, tuple[bool, str]], params: AlvhParams,
                     accept: Callable[[pl.DataFrame], pl.DataFrame],
                     recommend_fn: Callable[..., Recommendation] | None = None) -> Nights:
    """The nights' recommendations as if written one by one through `accept` (the table's
    contract: summary rows in, the rows it keeps out). `nights` is iterated once per pass (a list,
    or an iterable that reads its chunks again). Rare: `accept` refuses an 'ok' row, which then
    cannot be a later night's prev; the nights are rebuilt with exactly that pass's refusals, and
    each pass settles at least the earliest night where they changed, so this ends with the
    night-by-night result."""
    refused: frozenset[date] = frozenset()
    while True:
        recs = one_pass(nights, stored_ok, trust, params, refused, recommend_fn)
        summary = pl.concat([r.summary for r in recs], how="vertical")
        good = accept(summary)
        ok = set(summary.filter(pl.col("status") == "ok")["as_of"].to_list())
        now_refused = frozenset(ok - set(good["as_of"].to_list()))
        if now_refused == refused:
            return Nights(recs, summary, good)
        refused = now_refused
