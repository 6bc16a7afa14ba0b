"""Macro readers: event calendar CSV and FRED CSV (new and old header, '.' for missing)."""

from __future__ import annotations

from datetime import date

import pytest

from sources.base import SourceError
from sources.formats import detect, parse_bytes, parse_file
from sources.macro import parse_events, parse_fred


def test_events_times_normalised_and_bad_rows_refused(fixtures):
    p = parse_file(fixtures / "macro_events_csv" / "macro_events.csv")
    assert p.format == "macro_events_csv" and p.partition_by == ("date", "event")
    assert p.rows.select("date", "event", "time_et", "line").rows() == [
        (date(2024, 1, 11), "CPI", "08:30", 2),
        (date(2024, 1, 12), "PPI", "08:30", 3),
        (date(2024, 1, 31), "FOMC", "14:00", 4),
        (date(2024, 2, 2), "NFP", None, 5),
    ]
    assert p.rejects.select("line", "reason").rows() == [
        (6, "bad time_et 25:00 (want HH:MM, New York)"),
        (7, "bad date 2024-02-30"),
    ]


def test_events_without_time_column():
    p = parse_events(b"date,event\n2024-03-20,FOMC\n2024-03-20,FOMC\n", "fomc.csv")
    assert p.rows.select("event", "time_et").rows() == [("FOMC", None)]
    assert p.rejects["reason"].to_list() == ["duplicate (date, event): first seen on line 2"]


def test_fred_new_header_dot_is_missing_not_refused(fixtures):
    p = parse_file(fixtures / "fred_csv" / "DGS10.csv")
    assert p.format == "fred_csv" and p.table == "raw.macro_series"
    assert p.rows.select("series_id", "date", "value").rows() == [
        ("DGS10", date(2024, 1, 1), None), ("DGS10", date(2024, 1, 2), 3.95),
        ("DGS10", date(2024, 1, 3), 3.91)]
    assert p.rejects.select("line", "reason").rows() == [(5, "value: n/a is not a number")]
    assert p.meta["missing_values"] == 1


def test_fred_old_date_header(fixtures):
    path = fixtures / "fred_csv" / "VIXCLS_legacy.csv"
    assert detect(path.read_bytes()).name == "fred_csv"  # not Cboe's DATE,<SYMBOL>
    assert parse_file(path).rows["value"].to_list() == [82.69, 75.91]


def test_fred_several_series_in_one_file():
    p = parse_fred(b"observation_date,DGS2,DGS10\n2024-01-02,4.33,3.95\n2024-01-03,x,3.91\n", "f.csv")
    assert sorted(p.rows.select("series_id", "date", "value").rows()) == [
        ("DGS10", date(2024, 1, 2), 3.95), ("DGS10", date(2024, 1, 3), 3.91),
        ("DGS2", date(2024, 1, 2), 4.33)]
    assert p.rejects["reason"].to_list() == ["DGS2: value: x is not a number"]


def test_event_header_required():
    with pytest.raises(SourceError, match="date,event"):
        parse_events(b"when,what\n", "e.csv")
    assert parse_bytes(b"date,event\n2024-01-11,CPI\n", "e.csv").rows.height == 1
