"""Tell the trader when a night needs a look: a regime change or an untrusted night, sent through
apprise URLs in ALVH_NOTIFY (mail, Slack, ntfy, a JSON endpoint...). Wiring only; never fails a night.
"""

from __future__ import annotations

from datetime import date

from flows import console
from flows.settings import Settings
from warehouse import queries
from warehouse.db import Warehouse


def night_message(wh: Warehouse, as_of: date, status: str) -> tuple[str, str] | None:
    """(title, body) when the night deserves a message, else None."""
    regime, before = queries.regime_change(wh, as_of)
    rec = queries.recommendation_row(wh, as_of) or {}
    reasons = []
    if regime and before and regime != before:
        reasons.append(f"regime changed: {before} -> {regime}")
    if rec.get("status") == "untrusted":
        reasons.append(f"night not trusted: {rec.get('skip_reason') or 'data quality'}")
    if status == "failed":
        reasons.append("the night failed")
    if not reasons:
        return None
    sig = queries.signals_row(wh, as_of) or {}
    score = sig.get("unwind_score")
    body = "\n".join([*reasons, f"unwind score {'n/a' if score is None else f'{score:.0f}'}/100, "
                      f"regime {regime or 'n/a'}, night status {status}"])
    return f"ALVH {as_of}: {reasons[0]}", body


def send(urls: str, title: str, body: str) -> bool:
    """Send through every apprise URL (comma- or space-separated); True when all were delivered."""
    import apprise

    ap = apprise.Apprise()
    for url in urls.replace(",", " ").split():
        if not ap.add(url):
            console.warn(f"notification: cannot use {url.split('://')[0]}:// URL (see apprise's docs)")
    return bool(len(ap)) and bool(ap.notify(title=title, body=body))


def notify_night(wh: Warehouse, settings: Settings, as_of: date, status: str) -> None:
    if not settings.notify:
        return
    try:
        msg = night_message(wh, as_of, status)
        if msg is None:
            return
        if send(settings.notify, *msg):
            console.info(f"notified: {msg[0]}")
        else:
            console.warn(f"notification not delivered: {msg[0]}")
    except Exception as e:  # a notification must never fail the night it reports on
        console.warn(f"notification failed: {type(e).__name__}: {e}")
