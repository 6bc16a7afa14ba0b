"""Vendor drops of the sample market: the files one session delivers after its close, and the
history that warms rolling windows before a demo's first day, all in the real vendor formats.

Writes files only under the folder it is given; never reads the warehouse or the landing zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import polars as pl

from sources.sample import chains
from sources.sample.market import SampleMarket
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


# -- registry ----------------------------------------------------------------------------------
DROP_WRITERS: dict[str, DropWriter] = {
    "spx_chain": _spx_chain,
    "cboe_index": _index_drop,
}
BOOT_WRITERS: dict[str, BootWriter] = {
    "cboe_index": _index_boot,
}
ALIASES: dict[str, tuple[str, ...]] = {
    "cboe_chain": ("spx_chain", "vix_chain"),
    "index": ("cboe_index",),
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
    for name in _resolve(sources, BOOT_WRITERS):
        paths.extend(BOOT_WRITERS[name](m, first_day, out_dir, years))
    return paths


__all__ = ["SOURCES", "write_bootstrap", "write_drop"]
