"""Vendor drops of the sample market: the files one session delivers after its close, and the
history that warms rolling windows before a demo's first day, all in the real vendor formats.

Writes files only under the folder it is given; never reads the warehouse or the landing zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from sources.sample import breadth, chains, fundamentals, funding, macro, perp, vx
from sources.sample import expiries as ex
from sources.sample.market import ORIGIN, SampleMarket
from sources.sample.textfmt import dec, lines, scaled

INDEX_INCREMENT_SESSIONS = 10  # each drop repeats the last 10 sessions, as a re-download would

DropWriter = Callable[[SampleMarket, date, Path], list[Path]]
BootWriter = Callable[[SampleMarket, date, Path, float], list[Path]]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


# -- CBOE option chains ------------------------------------------------------------------------
def _spx_chain(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / "spx_quotedata.csv", chains.spx_chain(m, day).text())]


def _spy_chain(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / "spy_quotedata.csv", chains.spy_chain(m, day).text())]


# -- Cboe index history ------------------------------------------------------------------------
INDEX_FILES = {  # file name -> (path column prefix, OHLC?)
    "SPX_History.csv": ("spx", False),
    "VIX_History.csv": ("vix", True),
    "VIX9D_History.csv": ("vix9d", True),
    "VIX3M_History.csv": ("vix3m", True),
}


def index_history_text(frame: pl.DataFrame, prefix: str, ohlc: bool) -> str:
    """Cboe's layout: MM/DD/YYYY and six decimals (`01/02/2019,27.540000,...`)."""
    d = pl.col("date").dt.strftime("%m/%d/%Y")
    if ohlc:
        close = prefix
        names = [f"{prefix}_open", f"{prefix}_high", f"{prefix}_low", close]
        f = frame.select(pl.col("date"), *[pl.Series(n, scaled(frame[n].to_numpy(), 6)) for n in names])
        return "DATE,OPEN,HIGH,LOW,CLOSE\n" + lines(f, [d, *[dec(n, 6, strip=False) for n in names]])
    f = frame.select(pl.col("date"), pl.Series("c", scaled(frame["spx_close"].to_numpy(), 6)))
    return "DATE,SPX\n" + lines(f, [d, dec("c", 6, strip=False)])


def _index_files(frame: pl.DataFrame, out: Path) -> list[Path]:
    return [_write(out / name, index_history_text(frame, prefix, ohlc))
            for name, (prefix, ohlc) in INDEX_FILES.items()]


def _index_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return _index_files(m.window(day, INDEX_INCREMENT_SESSIONS), out)


def _index_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    return _index_files(m.before(first_day, years), out)


# -- VIX chain, CFE VX ----------------------------------------------------------------------
def _vix_chain(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / "vix_quotedata.csv", chains.vix_chain(m, day).text())]


def _vx_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / f"cfe_settlement_{day.isoformat()}.csv", vx.settlement_text(m, day))]


def _vx_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    days = m.before(first_day, years)["date"]
    if days.is_empty():
        return []
    start, end = days[0], days[-1]
    paths = []
    for e in vx.contracts_live(start, end):
        text = vx.contract_history_text(m, e, start, end)
        if text:
            paths.append(_write(out / f"VX_{e.isoformat()}.csv", text))
    return paths


# -- funding --------------------------------------------------------------------------------------
def _binance_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / f"{sym}-fundingRate-{day.isoformat()}.csv",
                   funding.binance_csv(*funding.binance_events(m, day, coin)))
            for sym, coin in funding.BINANCE.items()]


def _hyperliquid_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / f"hyperliquid_{coin}_fundingHistory_{day.isoformat()}.json",
                   funding.hyperliquid_json(coin, *funding.hyperliquid_events(m, day, coin)))
            for coin in funding.COINS]


def _boot_days(m: SampleMarket, first_day: date, years: float) -> list[date]:
    days = m.before(first_day, years)["date"].to_list()
    return [d for d in days if m.index_of(d) > 0]  # funding needs the previous close


def _by_month(times: np.ndarray) -> dict[str, np.ndarray]:
    keys = np.array([funding.month_key(t) for t in times.tolist()])
    return {k: keys == k for k in dict.fromkeys(keys.tolist())}


def _binance_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    """Monthly archive files as on data.binance.vision: `BTCUSDT-fundingRate-2025-03.csv`."""
    days = _boot_days(m, first_day, years)
    paths = []
    for sym, coin in funding.BINANCE.items():
        ev = [funding.binance_events(m, d, coin) for d in days]
        if not ev:
            continue
        t, r = np.concatenate([e[0] for e in ev]), np.concatenate([e[1] for e in ev])
        for month, sel in _by_month(t).items():
            paths.append(_write(out / f"{sym}-fundingRate-{month}.csv", funding.binance_csv(t[sel], r[sel])))
    return paths


def _hyperliquid_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    days = _boot_days(m, first_day, years)
    paths = []
    for coin in funding.COINS:
        ev = [funding.hyperliquid_events(m, d, coin) for d in days]
        if not ev:
            continue
        t, r, p = (np.concatenate([e[k] for e in ev]) for k in range(3))
        for month, sel in _by_month(t).items():
            paths.append(_write(out / f"hyperliquid_{coin}_fundingHistory_{month}.json",
                                funding.hyperliquid_json(coin, t[sel], r[sel], p[sel])))
    return paths


# -- perp open interest and liquidations (sample/perp.py) ------------------------------------------
PERP_BOOT_SESSIONS = 30  # enough for the OI change and the 20-session liquidation-cascade window


def _perp_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    if m.index_of(day) == 0:
        return []
    paths = []
    for sym, coin in perp.SYMBOLS.items():
        paths.append(_write(out / f"{sym}-metrics-{day.isoformat()}.csv",
                            perp.metrics_csv(sym, perp.metrics_rows(m, day, coin))))
        paths.append(_write(out / f"binance_{coin}_liquidations_{day.isoformat()}.json",
                            perp.liquidations_json(perp.liquidations(m, day, coin))))
    return paths


def _perp_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    paths = []
    for d in _boot_days(m, first_day, years)[-PERP_BOOT_SESSIONS:]:
        paths.extend(_perp_drop(m, d, out))
    return paths


# -- constituent P/CF (sample/fundamentals.py) ------------------------------------------------------
PCF_BOOT_SESSIONS = 70  # the 60-session change needs 60 earlier rows


def _pcf_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return [_write(out / f"constituents_pcf_{day.isoformat()}.csv",
                   fundamentals.csv_text(day, fundamentals.rows(m, day)))]


def _pcf_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    days = m.before(first_day, years)["date"].to_list()[-PCF_BOOT_SESSIONS:]
    if not days:
        return []
    text = "".join(fundamentals.csv_text(d, fundamentals.rows(m, d)).split("\n", 1)[1] for d in days)
    return [_write(out / "constituents_pcf_history.csv",
                   "date,ticker,index_weight,price,ocf_per_share_ttm\n" + text)]


# -- breadth ------------------------------------------------------------------------------------
def _breadth_files(rows: pl.DataFrame, out: Path) -> list[Path]:
    return [_write(out / f"{breadth.EXCHANGE}_{fld}.csv", breadth.field_text(rows, fld))
            for fld in breadth.FIELDS]


def _breadth_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    return _breadth_files(breadth.breadth_day(m, day), out)


def _breadth_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    days = m.before(first_day, years)["date"].to_list()
    return _breadth_files(breadth.breadth_rows(m, days), out) if days else []


# -- macro calendar, FRED -------------------------------------------------------------------------
def _macro_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    if not macro.calendar_changes(day):
        return []
    return [_write(out / "macro_events.csv", macro.events_text(macro.drop_calendar(day)))]


def _macro_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    start = max(first_day - timedelta(days=round(365.25 * years)), ORIGIN)
    end = first_day + timedelta(days=macro.CALENDAR_AHEAD_DAYS)
    return [_write(out / "macro_events.csv", macro.events_text(macro.calendar_between(start, end)))]


FRED_INCREMENT_OBS = 5


def _fred_drop(m: SampleMarket, day: date, out: Path) -> list[Path]:
    paths = [_write(out / "DTWEXBGS.csv", macro.fred_daily_text(macro.dollar(m, day).tail(FRED_INCREMENT_OBS)))]
    if macro.reer_published_on(day):
        paths.append(_write(out / "RBUSBIS.csv", macro.fred_monthly_text(macro.reer(m, day).tail(3))))
    return paths


def _fred_boot(m: SampleMarket, first_day: date, out: Path, years: float) -> list[Path]:
    last = ex.previous_session(first_day)
    start = max(first_day - timedelta(days=round(365.25 * years)), ORIGIN)
    d = macro.dollar(m, last).filter(pl.col("date") >= start)
    r = macro.reer(m, last).filter(pl.col("date") >= start.replace(day=1))
    paths = [_write(out / "DTWEXBGS.csv", macro.fred_daily_text(d))] if d.height else []
    if r.height:  # nothing published yet in the first weeks after the origin
        paths.append(_write(out / "RBUSBIS.csv", macro.fred_monthly_text(r)))
    return paths


# -- registry ----------------------------------------------------------------------------------
DROP_WRITERS: dict[str, DropWriter] = {
    "spx_chain": _spx_chain,
    "vix_chain": _vix_chain,
    "spy_chain": _spy_chain,
    "cboe_index": _index_drop,
    "cfe_vx": _vx_drop,
    "binance_funding": _binance_drop,
    "hyperliquid_funding": _hyperliquid_drop,
    "perp_positioning": _perp_drop,
    "constituents_pcf": _pcf_drop,
    "breadth": _breadth_drop,
    "macro_events": _macro_drop,
    "fred": _fred_drop,
}
BOOT_WRITERS: dict[str, BootWriter] = {  # no chains in the bootstrap: too big
    "cboe_index": _index_boot,
    "cfe_vx": _vx_boot,
    "binance_funding": _binance_boot,
    "hyperliquid_funding": _hyperliquid_boot,
    "perp_positioning": _perp_boot,
    "constituents_pcf": _pcf_boot,
    "breadth": _breadth_boot,
    "macro_events": _macro_boot,
    "fred": _fred_boot,
}
ALIASES: dict[str, tuple[str, ...]] = {
    "cboe_chain": ("spx_chain", "vix_chain", "spy_chain"),
    "index": ("cboe_index",),
    "funding": ("binance_funding", "hyperliquid_funding"),
    "macro": ("macro_events", "fred"),
}
SOURCES: tuple[str, ...] = tuple(DROP_WRITERS)


def _resolve(sources: Iterable[str] | None, known: dict) -> list[str]:
    if sources is None:
        return list(known)
    out: list[str] = []
    for s in ([sources] if isinstance(sources, str) else sources):
        names = ALIASES.get(s, (s,))
        for n in names:
            if n not in DROP_WRITERS and n not in BOOT_WRITERS and n not in ALIASES:
                raise ValueError(f"unknown sample source {s!r}; known: {', '.join(SOURCES)}")
            if n in known and n not in out:
                out.append(n)
    return out


def write_drop(m: SampleMarket, day: date, out_dir: Path,
               sources: Iterable[str] | None = None) -> list[Path]:
    """Every file session `day` delivers after its close (sources=None: all sources)."""
    m.index_of(day)  # refuses non-sessions and days outside the simulated range
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name in _resolve(sources, DROP_WRITERS):
        paths.extend(DROP_WRITERS[name](m, day, out_dir))
    return paths


def write_bootstrap(m: SampleMarket, first_day: date, out_dir: Path, years: float = 2.0,
                    sources: Iterable[str] | None = None) -> list[Path]:
    """History BEFORE first_day (clipped at the sample origin) so rolling windows are warm."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if first_day <= ORIGIN:  # nothing happened before the origin
        return paths
    for name in _resolve(sources, BOOT_WRITERS):
        paths.extend(BOOT_WRITERS[name](m, first_day, out_dir, years))
    return paths


__all__ = ["SOURCES", "write_bootstrap", "write_drop"]
