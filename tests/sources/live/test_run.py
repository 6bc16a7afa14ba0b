"""A night's live fetch on recorded payloads: every file in the drop folder in a format the readers
know, provenance, partial success, a host that is down tried once, one line when nothing came."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sources.formats import detect
from sources.live.net import LiveFetchError
from sources.live.recorded import Reply, Route
from sources.live.run import MANIFEST, fetch_drop, manifest_provenance

ALL = 19  # 2 Cboe chains, 4 Yahoo histories, 1 Yahoo chain, 4 venues x 2 assets, OI and liquidations x 2


def run(plan, night, folder, sessions, fake_time, **kw):
    return fetch_drop(plan, night, folder, sessions=sessions, sleep=fake_time.sleep,
                      clock=fake_time.clock, **kw)


def test_the_whole_night_lands_as_vendor_files_with_their_provenance(plan, night, tmp_path, sessions,
                                                                      fake_time):
    seen = []
    report = run(plan, night, tmp_path / "drop", sessions, fake_time, on_file=seen.append)
    assert report.ok and len(report.files) == ALL and [f.path for f in seen] == [f.path for f in report.files]
    formats = {f.path.name: detect(f.path.read_bytes(), f.path.name).name for f in report.files}
    assert sorted(set(formats.values())) == ["cboe_delayed_json", "cboe_quotedata", "ccxt_funding_history",
                                             "ccxt_liquidations", "ccxt_open_interest_history", "yfinance_csv"]
    prov = report.provenance()
    assert set(prov) == {str(f.path) for f in report.files}
    spx = prov[str(tmp_path / "drop" / "cboe_SPX_delayed_quotes_2026-05-20.json")]
    assert spx["source"] == "cboe" and spx["url"].endswith("/options/_SPX.json")
    assert spx["fetched_at"] and spx["tool"].startswith("requests ")
    assert manifest_provenance(tmp_path / "drop") == {k: {**v, "bytes": f.bytes, "sha256": f.sha256}
                                                      for f in report.files for k, v in [(str(f.path), prov[str(f.path)])]}
    # every line says file, what, size and where from
    line = report.files[0].line()
    assert line.startswith("ok    cboe_SPX_delayed_quotes_2026-05-20.json") and "cdn.cboe.com" in line


def test_yahoo_is_paced_by_its_token_bucket(plan, night, tmp_path, sessions, fake_time):
    run(replace(plan, yahoo_per_min=30), night, tmp_path / "d", sessions, fake_time, only=["yahoo"])
    n = len(sessions.requests("yahoo"))
    assert n >= 8 and fake_time.slept and all(s <= 2.0 + 1e-6 for s in fake_time.slept)
    assert sum(fake_time.slept) >= 2.0 * (n - 2) - 1e-6  # 30 a minute after a burst of 2


def test_only_fetches_what_is_named(plan, night, tmp_path, sessions, fake_time):
    r = run(plan, night, tmp_path / "d", sessions, fake_time, only=["cboe", "funding:okx:ETH", "^VIX3M"])
    assert [f.item for f in r.files] == ["cboe:SPX", "cboe:VIX", "yahoo:^VIX3M", "funding:okx:ETH"]
    with pytest.raises(LiveFetchError, match="--only nothing matches none of"):
        run(plan, night, tmp_path / "d", sessions, fake_time, only=["nothing"])


def test_offline_everything_is_one_line_naming_the_hosts(plan, night, tmp_path, make_sessions, fake_time):
    s = make_sessions(offline=True)
    with pytest.raises(LiveFetchError) as e:
        run(plan, night, tmp_path / "d", s, fake_time)
    assert str(e.value) == (
        "live fetch: cannot reach cdn.cboe.com, query2.finance.yahoo.com, fapi.binance.com, "
        "api.bybit.com, www.okx.com, api.hyperliquid.xyz (network unreachable); "
        "run with --source sample or drop")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "d").exists()  # no empty folder left behind
    # each unreachable host was tried once, not once per item, and DNS failures are not retried
    assert len(s.requests("cboe")) == 1 and len(s.requests("binance")) == 1
    assert len(s.requests("yahoo")) <= 3  # one item's cookie, consent and chart requests


def test_partial_success_keeps_what_came_and_names_what_did_not(plan, night, tmp_path, make_sessions,
                                                                fake_time):
    forbidden = b'{"code":"50110","msg":"Your IP address is not in the whitelist","data":[]}'
    s = make_sessions(offline={"api.bybit.com"},
                      extra=[Route("GET", r"okx\.com/api/v5/public/funding-rate-history", Reply(403, forbidden))])
    r = run(plan, night, tmp_path / "d", s, fake_time)
    assert len(r.files) == ALL - 4 and not r.ok
    missing = {m.item: m.reason for m in r.missing}
    assert missing == {
        "funding:bybit:BTC": "cannot reach api.bybit.com (network unreachable)",
        "funding:bybit:ETH": "cannot reach api.bybit.com (network unreachable)",
        "funding:okx:BTC": "HTTP 403 from www.okx.com: Your IP address is not in the whitelist (code 50110)",
        "funding:okx:ETH": "HTTP 403 from www.okx.com: Your IP address is not in the whitelist (code 50110)",
    }
    assert all(m.sections == ("funding",) for m in r.missing)
    assert r.missing[0].line().startswith("miss  bybit BTC funding")
    manifest = json.loads((tmp_path / "d" / MANIFEST).read_text())
    assert {m["item"] for m in manifest["missing"]} == set(missing)


def test_a_transient_error_is_retried_with_backoff(plan, night, tmp_path, make_sessions, fake_time,
                                                   live_dir):
    answers = [Reply(503, b"<html>Service Unavailable</html>"), Reply(503, b"")]

    def flaky(req):
        return answers.pop(0) if answers else Reply(200, (live_dir / "cboe" / "_SPX.json").read_bytes())

    s = make_sessions(extra=[Route("GET", r"_SPX\.json", flaky)])
    r = run(replace(plan, cboe_per_min=1e6), night, tmp_path / "d", s, fake_time, only=["cboe:SPX"])
    assert r.ok and len(s.requests("cboe")) == 3
    assert [x for x in fake_time.slept if x >= plan.backoff_s] == [plan.backoff_s, 2 * plan.backoff_s]


def test_when_cboe_refuses_spx_the_chain_comes_from_yahoo(plan, night, tmp_path, make_sessions, fake_time,
                                                          live_dir):
    def spx(req):  # Yahoo's ^SPX answers: the recorded SPY payloads stand in (same shape)
        epoch = req.query.get("date")
        return Reply(200, (live_dir / "yahoo" / (f"options_SPY_{epoch}.json" if epoch else "options_SPY.json")).read_bytes())

    s = make_sessions(extra=[Route("GET", r"_SPX\.json", Reply(403, b"<Error><Code>AccessDenied</Code></Error>")),
                             Route("GET", r"/v7/finance/options/(\^|%5E)SPX", spx)])
    r = run(plan, night, tmp_path / "d", s, fake_time, only=["cboe:SPX", "yahoo-chain:^SPX"])
    assert [f.item for f in r.files] == ["yahoo-chain:^SPX"]
    assert r.files[0].meta["fallback_for"] == "Cboe SPX chain" and "instead of" in r.files[0].what
    assert r.missing[0].reason == ("HTTP 403 from cdn.cboe.com: AccessDenied (fetched from Yahoo instead)")
    assert r.missing[0].sections == ()


def test_a_second_run_keeps_earlier_files_it_could_not_refetch(plan, night, tmp_path, make_sessions,
                                                               fake_time):
    folder = tmp_path / "d"
    first = run(plan, night, folder, make_sessions(), fake_time, only=["cboe", "funding:okx"])
    assert len(first.files) == 4
    again = run(plan, night, folder, make_sessions(offline={"cdn.cboe.com"}), fake_time,
                only=["cboe", "funding:okx"])
    assert [f.item for f in again.files] == ["funding:okx:BTC", "funding:okx:ETH"]
    assert sorted(again.kept) == ["cboe_SPX_delayed_quotes_2026-05-20.json",
                                  "cboe_VIX_delayed_quotes_2026-05-20.json"]
    assert all("kept the copy fetched at" in m.reason and m.sections == () for m in again.missing)
    assert set(again.provenance()) == {str(folder / n) for n in (
        "cboe_SPX_delayed_quotes_2026-05-20.json", "cboe_VIX_delayed_quotes_2026-05-20.json",
        "ccxt_okx_BTC_funding_2026-05-20.json", "ccxt_okx_ETH_funding_2026-05-20.json")}
    assert not list(folder.glob("*.part"))


def test_without_the_live_extra_the_error_says_what_to_install(plan, night, tmp_path, sessions, fake_time,
                                                              monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ccxt" else real(name, *a))
    with pytest.raises(LiveFetchError, match=r"optional \[live\] extra \(missing: ccxt\)"):
        run(plan, night, tmp_path / "d", sessions, fake_time, only=["funding"])


def test_a_fetcher_bug_costs_its_item_only(plan, night, tmp_path, sessions, fake_time, monkeypatch):
    from sources.live import funding

    def broken(*a, **kw):
        raise KeyError("fundingRate")

    monkeypatch.setattr(funding, "fetch_funding", broken)
    r = run(plan, night, tmp_path / "d", sessions, fake_time, only=["cboe:VIX", "funding:okx:BTC"])
    assert [f.item for f in r.files] == ["cboe:VIX"]
    assert r.missing[0].reason == ("unexpected KeyError: 'fundingRate' (ALVH_DEBUG=1 alvh fetch --only "
                                   "funding:okx:BTC shows more)")


def test_open_interest_and_liquidations_are_items_of_the_night(plan, night, tmp_path, sessions, fake_time):
    r = run(plan, night, tmp_path / "d", sessions, fake_time, only=["positioning"])
    assert [f.item for f in r.files] == ["oi:binance:BTC", "oi:binance:ETH", "liquidations:okx:BTC",
                                         "liquidations:okx:ETH"] and r.ok
    assert [detect(f.path.read_bytes(), f.path.name).name for f in r.files] == [
        "ccxt_open_interest_history"] * 2 + ["ccxt_liquidations"] * 2
    assert r.files[2].path.name == "ccxt_okx_BTC_liquidations_2026-05-20.json"
    assert r.provenance()[str(r.files[2].path)]["rows"] == 154
    # the venue's markets are loaded once for both assets
    okx = [q.url for q in sessions.requests("okx")]
    assert sum(u.endswith("/public/instruments") for u in okx) == 1
    only_liq = run(plan, night, tmp_path / "e", sessions, fake_time, only=["liquidations:okx:ETH"])
    assert [f.item for f in only_liq.files] == ["liquidations:okx:ETH"]
