"""One night's live fetch: the plan's items in order, each file written into the drop folder as it
arrives, retries with backoff per request, a host that cannot be reached tried once, and a report
of what came (with provenance) and what did not (with one-line reasons).

The folder keeps a hidden `.live-manifest.json` (ingest skips hidden files) so a later
`alvh ingest` or `nightly` of the same folder still knows where each file came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sources.live.net import (
    USER_AGENT,
    LiveError,
    LiveFetchError,
    Meter,
    Payload,
    TokenBucket,
    instrument,
    retrying,
)

MANIFEST = ".live-manifest.json"
# provider -> a fresh session (requests.Session, curl_cffi Session or recorded.RecordedSession)
SessionFactory = Callable[[str], Any]


@dataclass(frozen=True)
class LivePlan:
    """What to fetch and how politely (flows/settings.py fills it from ALVH_LIVE_* settings)."""

    cboe_chains: tuple[str, ...] = ("SPX", "VIX")
    yahoo_history: tuple[str, ...] = ("^GSPC", "^VIX", "^VIX3M", "^VIX9D")
    yahoo_chains: tuple[str, ...] = ("SPY",)
    yahoo_max_expiries: int = 6
    chain_fallback: bool = True  # a Cboe chain that fails is fetched from Yahoo instead
    funding_venues: tuple[str, ...] = ("binance", "bybit", "okx", "hyperliquid")
    funding_assets: tuple[str, ...] = ("BTC", "ETH")
    history_days: int = 400
    funding_days: int = 120
    oi_venues: tuple[str, ...] = ("binance",)  # ccxt fetch_open_interest_history (Binance keeps 30 days)
    liquidation_venues: tuple[str, ...] = ("okx",)  # positioning.LIQUIDATION_VENUES
    positioning_assets: tuple[str, ...] = ("BTC", "ETH")
    oi_days: int = 30
    liquidation_days: int = 7
    timeout_s: float = 20.0
    attempts: int = 3
    backoff_s: float = 2.0
    yahoo_per_min: float = 60.0
    cboe_per_min: float = 12.0
    cache_dir: Path | None = None  # yfinance's cookie / time-zone caches
    via: str = "alvh live fetch"  # provenance label ("replay of <folder>" when replaying)
    history: tuple[str, ...] = ()  # `alvh fetch --history`: Cboe symbols and/or DIX (sources/live/history.py)


@dataclass
class Item:
    key: str  # e.g. cboe:SPX, yahoo:^GSPC, yahoo-chain:SPY, funding:bybit:BTC, oi:binance:BTC
    provider: str  # cboe | yahoo | binance | bybit | okx | hyperliquid
    label: str
    sections: tuple[str, ...]  # report sections it feeds (stale when it does not come)
    run: Callable[[], list[Payload]]

    def tags(self) -> set[str]:
        parts = self.key.lower().split(":")
        return {self.key.lower(), self.provider, parts[0], *(p.lstrip("^") for p in parts[1:]),
                *parts[1:], "funding" if parts[0] == "funding" else "",
                "positioning" if parts[0] in ("oi", "liquidations") else "",
                "chains" if "chain" in parts[0] or parts[0] == "cboe" else "",
                "history" if parts[0] == "yahoo" else ""} - {""}


@dataclass
class FetchedFile:
    path: Path
    item: str
    source: str
    url: str
    fetched_at: datetime
    what: str
    bytes: int
    sha256: str
    meta: dict = field(default_factory=dict)
    warning: str | None = None
    via: str = "alvh live fetch"

    def provenance(self) -> dict:
        return {"source": self.source, "url": self.url, "fetched_at": self.fetched_at.isoformat(),
                "via": self.via, "item": self.item, "what": self.what,
                **({"warning": self.warning} if self.warning else {}),
                **{k: v for k, v in self.meta.items() if k in ("tool", "interval_from", "market_interval_h",
                                                                 "expiries", "contracts", "events", "rows",
                                                                 "bars", "one_sided_contracts_left_out")}}

    def line(self) -> str:
        warn = f"  (warning: {self.warning})" if self.warning else ""
        return f"ok    {self.path.name:<46} {self.what:<34} {_size(self.bytes):>9}  {self.url}{warn}"


@dataclass
class Missing:
    item: str
    label: str
    reason: str
    kind: str
    sections: tuple[str, ...] = ()

    def line(self) -> str:
        return f"miss  {self.label:<46} {self.reason}"


@dataclass
class FetchReport:
    as_of: date
    folder: Path
    files: list[FetchedFile] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    kept: dict[str, dict] = field(default_factory=dict)  # earlier runs' files still in the folder

    @property
    def ok(self) -> bool:
        return not self.missing

    def provenance(self) -> dict[str, dict]:
        """original path (as ingest sees it) -> provenance, for every file the folder holds."""
        out = {str(self.folder / name): prov for name, prov in self.kept.items()}
        out.update({str(f.path): f.provenance() for f in self.files})
        return out

    def summary(self) -> str:
        miss = f", {len(self.missing)} missing" if self.missing else ""
        return f"fetch {self.as_of}: {len(self.files)} files in {self.folder}{miss}"

    def error_line(self) -> str:
        """Why nothing came, in one line (hosts that could not be reached grouped together)."""
        groups: dict[str, list[str]] = {}
        others: list[str] = []
        for m in self.missing:
            hit = re.match(r"^cannot reach (\S+) \((.+)\)$", m.reason)
            if hit:
                hosts = groups.setdefault(hit.group(2), [])
                if hit.group(1) not in hosts:
                    hosts.append(hit.group(1))
            elif m.reason not in others:
                others.append(m.reason)
        parts = [f"cannot reach {', '.join(h)} ({why})" for why, h in groups.items()] + others[:3]
        more = f" (+{len(others) - 3} more)" if len(others) > 3 else ""
        what = "; ".join(parts) or "nothing was asked for (check --only)"
        return f"live fetch: {what}{more}; run with --source sample or drop"


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def default_sessions(provider: str) -> Any:
    """Real HTTP: Yahoo through curl_cffi's browser impersonation (what yfinance itself prefers),
    everything else through requests."""
    if provider == "yahoo":
        try:
            from curl_cffi import requests as curl

            return curl.Session(impersonate="chrome")
        except ImportError:
            pass
    import requests

    s = requests.Session()
    if provider == "cboe":
        s.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return s


class _Run:
    """State of one fetch: sessions per provider (instrumented), venues, unreachable hosts."""

    def __init__(self, plan: LivePlan, as_of: date, sessions: SessionFactory,
                 sleep: Callable[[float], None], clock: Callable[[], float]):
        self.plan, self.as_of, self.factory, self.sleep, self.clock = plan, as_of, sessions, sleep, clock
        self.meters: dict[str, Meter] = {}
        self.sessions: dict[str, Any] = {}
        self.venues: dict[str, Any] = {}
        self.dead: dict[str, LiveError] = {}

    def session(self, provider: str) -> tuple[Any, Meter]:
        if provider not in self.sessions:
            rate = {"yahoo": self.plan.yahoo_per_min, "cboe": self.plan.cboe_per_min}.get(provider)
            bucket = TokenBucket(rate, burst=2, clock=self.clock, sleep=self.sleep) if rate else None
            meter = Meter(bucket)
            self.meters[provider] = meter
            self.sessions[provider] = instrument(self.factory(provider), meter)
        return self.sessions[provider], self.meters[provider]

    def retry(self, classify: Callable[[BaseException, int], LiveError]) -> Callable:
        """A `call(fn, since)` for fetchers: retries with backoff; `since` is the meter position
        before the call (what the API answered after it explains a failure)."""
        def call(fn, since: int = 0):
            return retrying(fn, classify=lambda e: classify(e, since), attempts=self.plan.attempts,
                            backoff_s=self.plan.backoff_s, sleep=self.sleep)
        return call

    # -- the items ----------------------------------------------------------------------------
    def cboe_item(self, sym: str) -> Item:
        from sources.live import cboe

        def run() -> list[Payload]:
            session, meter = self.session("cboe")
            n0 = len(meter.calls)
            call = self.retry(lambda e, since: _classify_plain(e, meter, since, cboe.HOST))
            return [call(lambda: cboe.fetch_chain(sym, self.as_of, session=session,
                                                  timeout_s=self.plan.timeout_s), n0)]
        sections = ("headline", "gamma") if sym.upper() in ("SPX", "SPXW") else ("volatility",)
        return Item(f"cboe:{sym.upper()}", "cboe", f"Cboe {sym.upper()} chain", sections, run)

    def yahoo_history_item(self, ticker: str) -> Item:
        from sources.live import yahoo

        def run() -> list[Payload]:
            session, meter = self.session("yahoo")
            call = self.retry(lambda e, since: yahoo.classify(e, meter, since, "/v8/finance/chart/"))
            return [call(lambda: yahoo.fetch_history(
                ticker, self.as_of, self.plan.history_days, session=session, meter=meter,
                timeout_s=self.plan.timeout_s, cache_dir=self.plan.cache_dir), len(meter.calls))]
        return Item(f"yahoo:{ticker}", "yahoo", f"Yahoo {ticker} history", ("volatility",), run)

    def yahoo_chain_item(self, ticker: str, fallback_for: str | None = None) -> Item:
        from sources.live import yahoo

        def run() -> list[Payload]:
            session, meter = self.session("yahoo")
            call = self.retry(lambda e, since: yahoo.classify(e, meter, since, "/v7/finance/options/"))
            p = yahoo.fetch_chain(ticker, self.as_of, max_expiries=self.plan.yahoo_max_expiries,
                                  session=session, meter=meter, timeout_s=self.plan.timeout_s,
                                  cache_dir=self.plan.cache_dir, call=call)
            if fallback_for:
                p.meta["fallback_for"] = fallback_for
                p.what += f", instead of {fallback_for}"
            return [p]
        sections = ("headline", "gamma") if ticker.upper().lstrip("^") in ("SPX", "GSPC") else ()
        label = f"Yahoo {ticker} chain" + (f" (for {fallback_for})" if fallback_for else "")
        return Item(f"yahoo-chain:{ticker}", "yahoo", label, sections, run)

    def venue(self, venue_name: str) -> Any:
        """The venue's ccxt exchange, made once: funding, open interest and liquidations of a
        venue share its session, its loaded markets and its pacing."""
        from sources.live import funding

        venue = self.venues.get(venue_name)
        if venue is None:
            host = funding.VENUES[venue_name]["host"]
            session, meter = self.session(venue_name)
            call = self.retry(lambda e, since: funding.classify(e, meter, since, host))
            venue = funding.Venue(venue_name, funding.make_exchange(venue_name, session,
                                                                   self.plan.timeout_s), meter, call)
            self.venues[venue_name] = venue
        return venue

    def funding_item(self, venue_name: str, asset: str) -> Item:
        from sources.live import funding

        def run() -> list[Payload]:
            return [funding.fetch_funding(self.venue(venue_name), asset, self.as_of, self.plan.funding_days,
                                          close_utc=_close(self.as_of))]
        return Item(f"funding:{venue_name}:{asset.upper()}", venue_name,
                    f"{venue_name} {asset.upper()} funding", ("funding",), run)

    def oi_item(self, venue_name: str, asset: str) -> Item:
        from sources.live import positioning

        def run() -> list[Payload]:
            return [positioning.fetch_open_interest(self.venue(venue_name), asset, self.as_of,
                                                    self.plan.oi_days, close_utc=_close(self.as_of))]
        return Item(f"oi:{venue_name}:{asset.upper()}", venue_name,
                    f"{venue_name} {asset.upper()} open interest", ("funding",), run)

    def liquidation_item(self, venue_name: str, asset: str) -> Item:
        from sources.live import positioning

        def run() -> list[Payload]:
            return [positioning.fetch_liquidations(self.venue(venue_name), asset, self.as_of,
                                                   self.plan.liquidation_days, close_utc=_close(self.as_of))]
        return Item(f"liquidations:{venue_name}:{asset.upper()}", venue_name,
                    f"{venue_name} {asset.upper()} liquidations", ("funding",), run)
    def history_item(self, name: str) -> Item:
        from sources.live import history

        prov = history.provider(name)
        host = history.DIX_HOST if prov == "squeezemetrics" else history.CBOE_HOST

        def run() -> list[Payload]:
            session, meter = self.session(prov)
            call = self.retry(lambda e, since: _classify_plain(e, meter, since, host))
            return [call(lambda: history.fetch_history_file(name, session=session,
                                                            timeout_s=self.plan.timeout_s), len(meter.calls))]
        return Item(f"history:{name.upper()}", prov, history.file_name(name), (), run)

    def items(self) -> list[Item]:
        p = self.plan
        return ([self.history_item(s) for s in p.history] + [self.cboe_item(s) for s in p.cboe_chains]
                + [self.yahoo_history_item(t) for t in p.yahoo_history]
                + [self.yahoo_chain_item(t) for t in p.yahoo_chains]
                + [self.funding_item(v, a) for v in p.funding_venues for a in p.funding_assets]
                + [self.oi_item(v, a) for v in p.oi_venues for a in p.positioning_assets]
                + [self.liquidation_item(v, a) for v in p.liquidation_venues for a in p.positioning_assets])


def _classify_plain(exc: BaseException, meter: Meter, since: int, host: str) -> LiveError:
    from sources.live.net import http_failure, network_failure

    if (net := network_failure(exc, host)) is not None:
        return net
    if (err := meter.last_error(since)) is not None:
        return http_failure(err)
    return LiveError(host, "api", f"{host}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")


def _close(day: date) -> datetime:
    from sources.calendar import session_close

    return session_close(day).astimezone(UTC)


def selected(items: list[Item], only: list[str] | None) -> list[Item]:
    if not only:
        return items
    words = {w.strip().lower() for o in only for w in o.split(",") if w.strip()}
    want = words | {w.lstrip("^") for w in words}
    return [i for i in items if i.tags() & want
            or any(i.key.lower().startswith(w + ":") for w in words)]  # funding:okx -> both assets


def _write(folder: Path, p: Payload) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / p.name
    tmp = dest.with_name(dest.name + ".part")  # ingest skips *.part: never half a file
    tmp.write_bytes(p.data)
    tmp.replace(dest)
    return dest


def _tool(source: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    pkg = {"yahoo": "yfinance", "cboe": "requests", "squeezemetrics": "requests"}.get(source, "ccxt")
    try:
        return f"{pkg} {version(pkg)}"
    except PackageNotFoundError:  # pragma: no cover
        return pkg


def fetch_drop(plan: LivePlan, as_of: date, folder: Path, *, sessions: SessionFactory | None = None,
               only: list[str] | None = None, on_file: Callable[[FetchedFile], None] | None = None,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> FetchReport:
    """Fetch the night's files into `folder`. Returns the report; raises LiveFetchError (one line)
    when nothing at all could be fetched."""
    run = _Run(plan, as_of, sessions or default_sessions, sleep, clock)
    report = FetchReport(as_of, folder)
    items = selected(run.items(), only)
    if not items:
        raise LiveFetchError(f"live fetch: --only {','.join(only or [])} matches none of: "
                             f"{', '.join(i.key for i in run.items())}")
    _check_extra(items, real_http=sessions is None)
    queue = list(items)
    while queue:
        item = queue.pop(0)
        if item.provider in run.dead:
            report.missing.append(Missing(item.key, item.label, run.dead[item.provider].reason,
                                          "unreachable", item.sections))
            continue
        try:
            payloads = item.run()
        except LiveFetchError:
            raise
        except Exception as e:  # noqa: BLE001 - a fetcher bug must not cost the other items
            if not isinstance(e, LiveError):
                e = LiveError(item.provider, "error", f"unexpected {type(e).__name__}: "
                              f"{' '.join(str(e).split())[:160]} (ALVH_DEBUG=1 alvh fetch --only "
                              f"{item.key} shows more)")
                if os.environ.get("ALVH_DEBUG"):
                    raise
            report.missing.append(Missing(item.key, item.label, e.reason, e.kind, item.sections))
            if e.unreachable:
                run.dead[item.provider] = e
            if (plan.chain_fallback and item.key.startswith("cboe:")
                    and item.key.split(":")[1] in ("SPX", "SPXW")
                    and not any(i.key == "yahoo-chain:^SPX" for i in items + queue)):
                fallback = run.yahoo_chain_item("^SPX", fallback_for=item.label)
                if not only or selected([fallback], only):  # --only names what may be fetched
                    queue.insert(0, fallback)
            continue
        for p in payloads:
            path = _write(folder, p)
            f = FetchedFile(path, item.key, p.source, p.url, now(), p.what, len(p.data),
                            hashlib.sha256(p.data).hexdigest(), {**p.meta, "tool": _tool(p.source)},
                            p.warning, plan.via)
            report.files.append(f)
            if on_file:
                on_file(f)
    _fallback_covers(report)
    _manifest(report)
    if not report.files:
        raise LiveFetchError(report.error_line())
    return report


def _check_extra(items: list[Item], *, real_http: bool) -> None:
    """The [live] extra is optional: say which package is missing in one line, not a traceback."""
    from importlib.util import find_spec

    need = {"yfinance" if i.provider == "yahoo" else "ccxt" for i in items
            if i.provider not in ("cboe", "squeezemetrics")}
    if real_http or any(i.provider in ("cboe", "squeezemetrics") for i in items):
        need.add("requests")
    missing = sorted(p for p in need if find_spec(p) is None)
    if missing:
        raise LiveFetchError(f"live fetch needs the optional [live] extra (missing: {', '.join(missing)}): "
                             "uv sync --extra live, or pip install 'alvh[live]'")


def _fallback_covers(report: FetchReport) -> None:
    """A chain fetched from Yahoo instead of Cboe covers the sections the Cboe miss left stale."""
    covered = {f.meta.get("fallback_for") for f in report.files if f.meta.get("fallback_for")}
    for m in report.missing:
        if m.label in covered:
            m.sections = ()
            m.reason += " (fetched from Yahoo instead)"


def _manifest(report: FetchReport) -> None:
    """Merge this run into the folder's manifest: files fetched now replace their entries; files
    of earlier runs still in the folder keep theirs (and are reported as kept)."""
    path = report.folder / MANIFEST
    old: dict = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text()).get("files", {})
        except (ValueError, AttributeError):
            old = {}
    now_names = {f.path.name for f in report.files}
    report.kept = {n: p for n, p in old.items()
                   if n not in now_names and (report.folder / n).is_file() and isinstance(p, dict)}
    for m in report.missing:  # an earlier copy of a missing item still serves tonight
        earlier = next((p for p in report.kept.values() if p.get("item") == m.item), None)
        if earlier:
            m.reason += f" (kept the copy fetched at {earlier.get('fetched_at', '?')})"
            m.sections = ()
    if not report.files and not report.kept and not report.folder.exists():
        return  # nothing to describe: leave no empty folder behind
    files = dict(report.kept)
    files.update({f.path.name: {**f.provenance(), "bytes": f.bytes, "sha256": f.sha256}
                  for f in report.files})
    doc = {"as_of": report.as_of.isoformat(), "updated_at": datetime.now(UTC).isoformat(),
           "files": files, "missing": [{"item": m.item, "reason": m.reason} for m in report.missing]}
    report.folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmp.replace(path)


def manifest_provenance(folder: Path) -> dict[str, dict]:
    """The provenance a folder's manifest records, keyed like ingest's original paths."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text()).get("files", {})
    except (ValueError, AttributeError):
        return {}
    return {str(folder / n): p for n, p in files.items() if isinstance(p, dict)}
