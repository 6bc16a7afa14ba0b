"""Vendor date/time text to UTC, whatever the downloader's locale printed.

Pure parsing; knows nothing about files. Raises ValueError with a human reason.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

# Month names as CBOE's page prints them in the locales seen in the wild (genitive for Russian).
_MONTHS: dict[str, int] = {}
for _names in (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "janv févr mars avr mai juin juil août sept oct nov déc",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "ene feb mar abr may jun jul ago sep oct nov dic",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
):
    for _i, _n in enumerate(_names.split(), start=1):
        _MONTHS.setdefault(_n, _i)
_MONTHS["sept"] = 9
_MONTHS["setiembre"] = 9

# US zone abbreviations CBOE prints; offsets in hours.
_ZONES = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
          "PDT": -7, "UTC": 0, "GMT": 0, "Z": 0, "BST": 1, "CET": 1, "CEST": 2}

_TIME = re.compile(r"(?<!\d)(\d{1,2})[:h.](\d{2})(?::(\d{2}))?\s*([ap])?\.?\s*(?:m\b\.?)?", re.I)
_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_ABBR = re.compile(r"\b(" + "|".join(sorted(_ZONES, key=len, reverse=True)) + r")\b")
_WORD = re.compile(r"[^\W\d_]+\.?", re.U)


def parse_vendor_datetime(text: str) -> datetime:
    """`February 5 2022, 8:09 PM EST`, `14 March 2026 at 07:34 GMT-4`, `23 de marzo de 2022,
    10:11 GMT-4`, `9 декабря 2023 г. в 13:49 GMT-5` ... -> aware UTC datetime.

    Without a zone the time is taken as New York time (where CBOE's exchange clock runs).
    """
    s = text.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ").strip()
    if s.lower().startswith("date:"):
        s = s[5:].strip()
    if not s:
        raise ValueError("empty date")

    tz: timezone | ZoneInfo | None = None
    m = _OFFSET.search(s)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
        s = s[: m.start()] + " " + s[m.end():]
    else:
        m = _ABBR.search(s)
        if m:
            tz = timezone(timedelta(hours=_ZONES[m.group(1)]))
            s = s[: m.start()] + " " + s[m.end():]

    hour = minute = second = 0
    m = _TIME.search(s)
    if m:
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        ampm = (m.group(4) or "").lower()
        if ampm == "p" and hour < 12:
            hour += 12
        elif ampm == "a" and hour == 12:
            hour = 0
        s = s[: m.start()] + " " + s[m.end():]
        if hour > 23 or minute > 59:
            raise ValueError(f"bad time of day {m.group(0).strip()!r}")

    month = None
    for w in _WORD.findall(s):
        key = w.lower().rstrip(".")
        if key in _MONTHS:
            month = _MONTHS[key]
            break
    numbers = [int(n) for n in re.findall(r"(?<!\d)\d+(?!\d)", s)]
    years = [n for n in numbers if n >= 1000]
    days = [n for n in numbers if 1 <= n <= 31]
    if month is None:
        raise ValueError(f"no month name in {text.strip()!r}")
    if not years:
        raise ValueError(f"no year in {text.strip()!r}")
    if not days:
        raise ValueError(f"no day of month in {text.strip()!r}")
    try:
        local = datetime(years[0], month, days[0], hour, minute, second)
    except ValueError as e:
        raise ValueError(f"impossible date in {text.strip()!r}: {e}") from None
    aware = local.replace(tzinfo=tz or NEW_YORK)
    return aware.astimezone(UTC)


def new_york_date(ts: datetime) -> date:
    return ts.astimezone(NEW_YORK).date()
