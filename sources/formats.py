"""Every vendor format the pipeline reads, and detection by content (never by file name).

Add a reader by appending its `FORMAT` to `_modules()`; order matters only when two sniffers
could both claim a file (put the stricter one first).
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import Path

from sources.base import Format, Parsed, SourceError, head_text

# Reader modules, each exposing FORMAT (or FORMATS, a list) - stricter sniffers first.
READERS = (
    "sources.cboe_chain",
    "sources.cboe_json",  # Cboe delayed-quotes JSON (the live fetch saves it as received)
    "sources.cboe_index",  # before index_ohlc/macro: same headers, told apart by US dates
    "sources.datashop_chain",  # DataShop EOD chains (underlying,underlying_last, exchange,...)
    "sources.dix",  # SqueezeMetrics DIX.csv (date,price,dix,gex)
    "sources.cfe_vx",
    "sources.liquidations",  # ccxt liquidations / open-interest history (before funding_json)
    "sources.binance_metrics",
    "sources.funding_json",  # ccxt first within: its `info` repeats the venue's own keys
    "sources.funding",
    "sources.pcf_csv",
    "sources.breadth",
    "sources.index_ohlc",
    "sources.macro",
)


@lru_cache(maxsize=1)
def formats() -> tuple[Format, ...]:
    out: list[Format] = []
    for name in READERS:
        mod = importlib.import_module(name)
        out.extend(getattr(mod, "FORMATS", None) or [mod.FORMAT])
    return tuple(out)


def by_name(name: str) -> Format:
    for f in formats():
        if f.name == name:
            return f
    raise KeyError(f"unknown format {name!r}; known: {', '.join(f.name for f in formats())}")


def detect(data: bytes, file: str = "<bytes>") -> Format:
    """The format whose sniffer recognises the first bytes, or SourceError naming the file."""
    if not data.strip():
        raise SourceError(file, None, "empty file")
    if b"\x00" in data[:4096]:
        raise SourceError(file, None, "binary content (NUL bytes), not a vendor text file")
    head = head_text(data)
    for fmt in formats():
        try:
            if fmt.sniff(head):
                return fmt
        except Exception:  # a sniffer must never take the ingest down  # noqa: S112
            continue
    first = next((ln for ln in head.splitlines() if ln.strip()), "")[:60]
    if re.match(r"\s*<(?:!doctype\s+html|html|head|body)", head, re.I):
        raise SourceError(file, 1, f"an HTML page, not vendor data (an error page saved as the "
                          f"file?): {first!r}")
    # One short line: the formats are listed in docs/formats.md, not in every error.
    raise SourceError(file, 1, f"unrecognised format (first line {first!r}); none of the "
                      f"{len(formats())} known formats (docs/formats.md) matches")


def parse_bytes(data: bytes, file: str) -> Parsed:
    """Detect and read. Raises SourceError (never anything else) for a file it cannot read."""
    fmt = detect(data, file)
    try:
        return fmt.parse(data, file)
    except SourceError:
        raise
    except Exception as e:  # a reader bug must still name the file, not crash the night
        line = _stray_quote_line(data)
        if line is not None:  # the CSV parser's own message runs to the rest of the file
            raise SourceError(file, line, 'unbalanced double quote (") in this row: a stray quote '
                              "makes the rest of the file one field") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise SourceError(file, None, f"{fmt.name} reader failed: {type(e).__name__}: "
                          f"{first[:160]}") from e


def _stray_quote_line(data: bytes) -> int | None:
    """1-based line of the first row with an odd number of double quotes (None if none)."""
    for i, ln in enumerate(data.split(b"\n"), 1):
        if ln.count(b'"') % 2:
            return i
    return None


def parse_file(path: str | Path) -> Parsed:
    path = Path(path)
    return parse_bytes(path.read_bytes(), str(path))
