"""Cboe delayed-quotes fetcher on recorded payloads: the bytes kept as sent, errors in one line."""

from __future__ import annotations

from datetime import date

import pytest

from sources.live.cboe import chain_url, fetch_chain
from sources.live.net import LiveError
from sources.live.recorded import Reply, Route


def test_index_chains_have_an_underscore_and_etfs_do_not():
    assert chain_url("SPX") == "https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json"
    assert chain_url("^VIX") == "https://cdn.cboe.com/api/global/delayed_quotes/options/_VIX.json"
    assert chain_url("spy") == "https://cdn.cboe.com/api/global/delayed_quotes/options/SPY.json"


def test_the_chain_is_saved_exactly_as_cboe_sent_it(make_sessions, night, live_dir):
    p = fetch_chain("SPX", night, session=make_sessions()("cboe"), timeout_s=5)
    assert p.data == (live_dir / "cboe" / "_SPX.json").read_bytes()
    assert p.name == "cboe_SPX_delayed_quotes_2026-05-20.json" and p.source == "cboe"
    assert p.url == "https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json"
    assert p.meta["contracts"] == 250 and p.meta["roots"] == ["SPX", "SPXW"]


def test_an_http_error_carries_the_status_and_cboes_words(make_sessions, night):
    s = make_sessions(extra=[Route("GET", r"_SPX\.json", Reply(403, b"<?xml version='1.0'?><Error><Code>AccessDenied"
                                                          b"</Code><Message>Access Denied</Message></Error>",
                                                          {"Content-Type": "application/xml"}))])("cboe")
    with pytest.raises(LiveError) as e:
        fetch_chain("SPX", night, session=s, timeout_s=5)
    assert e.value.reason == "HTTP 403 from cdn.cboe.com: AccessDenied Access Denied"


def test_a_200_that_is_not_a_chain_is_refused(make_sessions, night):
    s = make_sessions(extra=[Route("GET", r"_SPX\.json", Reply(200, b"<html>maintenance</html>"))])("cboe")
    with pytest.raises(LiveError, match=r"answered HTTP 200 but not with an option chain"):
        fetch_chain("SPX", night, session=s, timeout_s=5)


def test_the_latest_snapshot_is_not_passed_off_as_another_night(make_sessions):
    with pytest.raises(LiveError, match=r"latest snapshot only: the SPX chain is of session 2026-05-20"):
        fetch_chain("SPX", date(2026, 5, 19), session=make_sessions()("cboe"), timeout_s=5)


def test_offline_is_one_line_naming_the_host(make_sessions, night):
    with pytest.raises(Exception) as e:
        fetch_chain("SPX", night, session=make_sessions(offline=True)("cboe"), timeout_s=5)
    assert "Failed to resolve 'cdn.cboe.com'" in str(e.value)  # the run classifies it (test_run)
