"""`alvh show`: tonight's trade in the terminal - regime, score with coverage and what moved it,
the legs and the risk. Reads the warehouse read-only (warehouse/queries.py); computes nothing.
"""

from __future__ import annotations

from datetime import date

from rich.table import Table

from flows import console
from flows.settings import Settings
from warehouse import queries
from warehouse.db import Warehouse


def _num(v, fmt: str = ",.2f") -> str:
    return "-" if v is None else format(v, fmt)


def score_line(today: dict, before: dict | None) -> str:
    """'score 62 (+9 since 2026-11-20: gamma +7.5, funding +2.1)' - the headline's what-moved."""
    score = today.get("unwind_score")
    if score is None:
        return "score n/a (no component present)"
    cov = f"{today.get('components_available') or 0}/{len(queries.SCORE_COMPONENTS)} components"
    missing = today.get("components_missing") or ""
    cov += f", missing {missing}" if missing else ""
    text = f"score {score:.0f}/100 ({cov})"
    if before is None or before.get("unwind_score") is None:
        return text + "; no previous night to compare"
    moves = [m for m in queries.score_moves(today, before) if m["change"] and abs(m["change"]) >= 0.05]
    what = ", ".join(f"{m['component']} {m['change']:+.1f}" for m in moves[:3]) or "no component moved"
    return text + f"; {score - before['unwind_score']:+.1f} since {before['date']}: {what}"


def print_show(settings: Settings, as_of: date | None) -> int:
    with Warehouse.open(settings.warehouse_path, read_only=True) as wh:
        day = as_of or queries.last_signal_night(wh)
        if day is None:
            raise ValueError("nothing built yet: run `alvh demo` or `alvh nightly` first")
        sig = queries.signals_row(wh, day)
        if sig is None:
            raise ValueError(f"no night built for {day}: run `alvh nightly --as-of {day}`")
        before = queries.previous_signals_row(wh, day)
        rec = queries.recommendation_row(wh, day)
        legs = queries.recommendation_legs(wh, day) if rec else None
    prev_regime = (before or {}).get("regime")
    changed = f" (was {prev_regime})" if prev_regime and prev_regime != sig["regime"] else ""
    console.info(f"night {day}: regime {sig['regime']}{changed}, "
                 f"{sig.get('regime_sessions') or '?'} session(s); {sig.get('regime_reason') or ''}")
    console.info(score_line(sig, before))
    if rec is None:
        console.info("no recommendation row for this night")
        return 0
    if rec["status"] != "ok":
        console.info(f"no trade tonight: {rec.get('skip_reason') or rec['status']}")
        return 0
    console.info(f"trade: {rec['structure'].replace('+', ' + ')}, {rec['contracts']} x {rec['root']} "
                 f"{rec['expiry']} ({rec['dte_days']} DTE), spot {_num(rec['spot'])}, VIX {_num(rec['vix'])}")
    t = Table(title="Legs (price: sell at bid, buy at ask; futures at settle)", title_justify="left",
              show_edge=False, pad_edge=False)
    for c in ("layer", "side", "qty", "root", "expiry", "strike", "C/P", "price", "delta"):
        t.add_column(c, no_wrap=True, justify="right" if c in ("qty", "strike", "price", "delta") else "left")
    for r in (legs.iter_rows(named=True) if legs is not None else []):
        t.add_row(r["layer"], r["side"], str(r["quantity"]), r["root"] or "", str(r["expiry"] or ""),
                  _num(r["strike"], "g"), r["right"] or "", _num(r["price"]), _num(r["delta"], "+.3f"))
    console.out.print(t)
    risk = Table(title="Risk", title_justify="left", show_edge=False, pad_edge=False, show_header=False)
    risk.add_column("what")
    risk.add_column("value", justify="right")
    for label, value in (
            ("credit", f"{_num(rec['credit_pts'])} pts = {_num(rec['credit_usd'], ',.0f')} USD"),
            ("max loss", f"{_num(rec['max_loss_pts'])} pts = {_num(rec['max_loss_usd'], ',.0f')} USD"),
            ("break-evens", f"{_num(rec['be_low'], ',.0f')} / {_num(rec['be_high'], ',.0f')} "
                            f"({_num(rec['be_low_dist_pct'], '+.1f')} % / {_num(rec['be_high_dist_pct'], '+.1f')} %)"),
            ("P(profit)", "-" if rec["pop"] is None else f"{rec['pop'] * 100:.0f} %"),
            ("risk used", f"{_num(rec['risk_used_usd'], ',.0f')} of {_num(rec['risk_budget_usd'], ',.0f')} USD "
                          f"({_num(rec['risk_used_pct'], '.2f')} % of capital)"),
            ("hedges", f"calendar {rec.get('calendar_contracts') or 0}, VX {rec.get('vx_contracts') or 0}")):
        risk.add_row(label, value)
    console.out.print(risk)
    return 0
