"""The live fetchers' plumbing: failures in one line, retries with backoff, pacing, what is recorded."""

from __future__ import annotations

import socket

import pytest
import requests

from sources.live.net import (
    Call,
    LiveError,
    Meter,
    TokenBucket,
    api_message,
    clean_url,
    http_failure,
    instrument,
    network_failure,
    retrying,
)
from sources.live.recorded import RecordedSession, Reply, Route, dns_failure


def test_a_name_that_does_not_resolve_is_network_unreachable_and_not_retried():
    err = network_failure(dns_failure("https://cdn.cboe.com/x.json"), "cdn.cboe.com")
    assert err.reason == "cannot reach cdn.cboe.com (network unreachable)"
    assert err.unreachable and not err.retryable


class CurlDNSError(OSError):  # what curl_cffi raises (its class is named DNSError)
    pass


CurlDNSError.__name__ = "DNSError"


@pytest.mark.parametrize("exc, why, retryable", [
    (CurlDNSError("curl: (6) Could not resolve host: query2.finance.yahoo.com"), "network unreachable", False),
    (requests.ConnectionError("[Errno 111] Connection refused"), "connection refused", True),
    (requests.ReadTimeout("Read timed out. (read timeout=20)"), "timed out", True),
    (requests.ConnectionError("('Connection aborted.', RemoteDisconnected(...))"), "connection reset", True),
    (OSError(101, "Network is unreachable"), "network unreachable", False),
])
def test_connection_failures_say_which_host_and_why(exc, why, retryable):
    err = network_failure(exc, "h.example")
    assert err.reason == f"cannot reach h.example ({why})" and err.retryable is retryable


def test_an_exception_wrapping_a_connection_error_is_still_recognised():
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as inner:
            raise RuntimeError("bybit GET https://api.bybit.com/v5/market/time") from inner
    except RuntimeError as e:
        assert network_failure(e, "api.bybit.com").unreachable


def test_a_plain_bug_is_not_mistaken_for_the_network():
    assert network_failure(KeyError("fundingRate"), "h") is None


@pytest.mark.parametrize("body, said", [
    (b'{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}',
     "No data found, symbol may be delisted"),
    (b'{"retCode":10001,"retMsg":"params error: symbol invalid","result":{}}', "params error: symbol invalid (code 10001)"),
    (b'{"code":"51001","msg":"Instrument ID does not exist","data":[]}', "Instrument ID does not exist (code 51001)"),
    (b'{"code":-1121,"msg":"Invalid symbol."}', "Invalid symbol. (code -1121)"),
    (b"<html><body><h1>403 Forbidden</h1><p>Access denied</p></body></html>", "403 Forbidden Access denied"),
])
def test_the_apis_own_message_is_what_users_see(body, said):
    assert api_message(body) == said


def test_an_http_error_names_status_host_and_message():
    err = http_failure(Call("GET", "https://api.bybit.com/v5/market/funding/history", status=403,
                            message="Forbidden"))
    assert err.reason == "HTTP 403 from api.bybit.com: Forbidden"
    assert not err.retryable
    assert http_failure(Call("GET", "https://x.io/a", status=503)).retryable
    assert http_failure(Call("GET", "https://x.io/a", status=429, retry_after_s=7)).retry_after_s == 7


def test_urls_keep_their_query_but_never_a_crumb():
    assert clean_url("https://query2.finance.yahoo.com/v7/finance/options/SPY?crumb=abc&date=1",
                     {"crumb": "x", "formatted": "true"}) == (
        "https://query2.finance.yahoo.com/v7/finance/options/SPY?date=1&formatted=true")


def test_retries_back_off_then_give_up_with_the_last_reason():
    slept, tries = [], []

    def flaky():
        tries.append(1)
        raise requests.ConnectionError("[Errno 111] Connection refused")

    with pytest.raises(LiveError, match=r"cannot reach h \(connection refused\)"):
        retrying(flaky, classify=lambda e: network_failure(e, "h"), attempts=3, backoff_s=2,
                 sleep=slept.append)
    assert len(tries) == 3 and slept == [2, 4]


def test_a_transient_failure_then_success_returns_the_result():
    answers = iter([LiveError("h", "http", "HTTP 429 from h", retryable=True, retry_after_s=11), "ok"])

    def call():
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a

    slept = []
    assert retrying(call, classify=lambda e: e, attempts=3, backoff_s=2, sleep=slept.append) == "ok"
    assert slept == [11]  # the API's Retry-After wins over our backoff


def test_a_permanent_failure_is_not_retried():
    tries = []

    def bad():
        tries.append(1)
        raise LiveError("h", "http", "HTTP 403 from h")

    with pytest.raises(LiveError):
        retrying(bad, classify=lambda e: e, attempts=5, backoff_s=1, sleep=lambda s: None)
    assert len(tries) == 1


def test_the_token_bucket_paces_requests_to_its_rate():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(round(s, 3))
        now[0] += s

    bucket = TokenBucket(30, burst=2, clock=lambda: now[0], sleep=sleep)  # one every 2 s
    for _ in range(5):
        bucket.take()
    assert slept == [2.0, 2.0, 2.0]  # the burst of 2 goes at once, then 30 a minute
    now[0] += 60
    bucket.take()
    assert len(slept) == 3  # a quiet minute refills the bucket


def test_an_instrumented_session_records_each_exchange_and_the_apis_complaint():
    s = RecordedSession([Route("GET", r"/ok", Reply(200, b"{}")),
                         Route("GET", r"/bad", Reply(429, b'{"msg":"Too many requests"}',
                                                     {"Retry-After": "3"}))])
    meter = Meter()
    instrument(s, meter)
    s.get("https://api.example/ok", params={"crumb": "secret", "a": 1})
    s.get("https://api.example/bad")
    assert [(c.url, c.status) for c in meter.calls] == [("https://api.example/ok?a=1", 200),
                                                        ("https://api.example/bad", 429)]
    err = meter.last_error()
    assert (err.message, err.retry_after_s) == ("Too many requests", 3.0)
