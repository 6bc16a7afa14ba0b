"""ccxt unified JSON of perp liquidations and open-interest history -> raw.perp_liquidations and
raw.perp_open_interest. Reader only: never touches the warehouse.

Shapes (as `fetch_liquidations` / `fetch_open_interest_history` return them, saved with json.dump):
    [{"info":{..},"symbol":"BTC/USDT:USDT","timestamp":1704067200000,"datetime":"2024-01-01T00:00:00.000Z",
      "price":42000.5,"baseValue":0.5,"quoteValue":21000.25,"contracts":0.5,"contractSize":1,"side":"sell"}]
    [{"symbol":"BTC/USDT:USDT","openInterestAmount":81000.5,"openInterestValue":3.4e9,
      "timestamp":1704067200000,"datetime":"...","info":{..}}]
`side` is the liquidation ORDER's side: a sell closes a liquidated long, a buy a liquidated short
(ccxt passes the venue's order side: Binance forceOrder `S`). Stored as the position: long | short.
The venue comes from `info` keys or the file name (binance_BTC_liquidations.json).
"""

from __future__ import annotations

import bisect
import json
import re

import polars as pl

from sources.base import Format, Parsed, SourceError
from sources.binance_metrics import COLUMNS as OI_COLUMNS
from sources.funding import base_asset, epoch_ms, venue_from_name
from sources.funding_json import _json_head, _key, record_offsets
from sources.rows import finish, not_a_number, number, text_of

LIQ_TABLE = "raw.perp_liquidations"
LIQ_COLUMNS: dict[str, pl.DataType] = {
    "venue": pl.String(), "symbol": pl.String(), "liq_ts": pl.Datetime("us"), "side": pl.String(),
    "price": pl.Float64(), "base_amount": pl.Float64(), "quote_usd": pl.Float64(), "line": pl.Int64(),
}
OI_TABLE = "raw.perp_open_interest"
POSITION = {"sell": "long", "buy": "short"}  # order side -> the position that was liquidated
_INFO_VENUE = (("S", "binance"), ("o", "binance"), ("execPrice", "bybit"), ("instId", "okx"),
               ("coin", "hyperliquid"))


def _s(v: object) -> str | None:
    return None if v is None else (v if isinstance(v, str) else json.dumps(v))


def sniff_liquidations(head: str) -> bool:
    h = _json_head(head)
    return h is not None and h.startswith("[") and all(
        _key(h, k) for k in ("side", "timestamp")) and (_key(h, "baseValue") or _key(h, "quoteValue")
                                                        or _key(h, "contracts"))


def sniff_oi_history(head: str) -> bool:
    h = _json_head(head)
    return h is not None and h.startswith("[") and _key(h, "timestamp") and (
        _key(h, "openInterestAmount") or _key(h, "openInterestValue"))


def _records(data: bytes, file: str, what: str) -> tuple[str, list, list[int]]:
    text = text_of(data, file)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        cut = not text.rstrip().endswith(("]", "}"))
        raise SourceError(file, e.lineno, ("truncated JSON: " if cut else "invalid JSON: ") + e.msg) from None
    except RecursionError:
        raise SourceError(file, None, "JSON nested too deeply") from None
    if not isinstance(doc, list):
        raise SourceError(file, 1, f"no list of {what} records at the top level")
    offsets = record_offsets(text, ())
    if len(offsets) != len(doc):
        offsets = [0] * len(doc)
    newlines = [m.start() for m in re.finditer("\n", text)]
    return text, doc, [bisect.bisect_right(newlines, off) + 1 for off in offsets]


def _venue(records: list, file: str) -> str:
    for r in records:
        info = r.get("info") if isinstance(r, dict) else None
        if isinstance(info, dict):
            inner = info.get("o") if isinstance(info.get("o"), dict) else info
            for key, venue in _INFO_VENUE:
                if key in info or key in inner:
                    return venue
    venue = venue_from_name(file)
    if venue is None:
        raise SourceError(file, None, "ccxt records do not say their exchange (no telling `info`): "
                          "put the exchange id in the file name, e.g. binance_BTC_liquidations.json")
    return venue


def _frame(doc: list, lines: list[int], fields: dict[str, str]) -> pl.DataFrame:
    cols: dict[str, list] = {"line": lines, "raw": [], "reason": [], **{k: [] for k in fields}}
    for rec in doc:
        cols["raw"].append(json.dumps(rec, separators=(",", ":"))[:500])
        ok = isinstance(rec, dict)
        cols["reason"].append(None if ok else "record is not a JSON object")
        for k, src in fields.items():
            cols[k].append(_s(rec.get(src)) if ok else None)
    return pl.DataFrame(cols, schema={"line": pl.Int64, **{k: pl.String for k in cols if k != "line"}})


def _symbol() -> pl.Expr:
    return pl.col("symbol").map_elements(base_asset, return_dtype=pl.String)


def parse_liquidations(data: bytes, file: str = "<bytes>") -> Parsed:
    _, doc, lines = _records(data, file, "liquidation")
    venue = _venue(doc, file)
    f = _frame(doc, lines, {"symbol": "symbol", "time": "timestamp", "side_raw": "side", "price_t": "price",
                            "base_t": "baseValue", "contracts_t": "contracts", "size_t": "contractSize",
                            "quote_t": "quoteValue"})
    ts = epoch_ms("time")
    price, quote = number("price_t"), number("quote_t")
    base = pl.coalesce(number("base_t"), number("contracts_t") * number("size_t").fill_null(1.0))
    side = pl.col("side_raw").str.strip_chars('"').str.to_lowercase().replace_strict(POSITION, default=None)
    reason = pl.coalesce(
        pl.col("reason"),
        pl.when(pl.col("symbol").fill_null("") == "").then(pl.lit("no symbol")),
        pl.when(ts.is_null()).then(pl.format("bad timestamp {}", pl.col("time").fill_null("(empty)"))),
        pl.when(side.is_null()).then(pl.format("side {} is not buy or sell", pl.col("side_raw").fill_null("(empty)"))),
        not_a_number("price_t", "price"), not_a_number("quote_t", "quoteValue"), not_a_number("base_t", "baseValue"),
        pl.when(price.is_null() | (price <= 0)).then(pl.format("price {} is not positive", pl.col("price_t").fill_null("(empty)"))),
        pl.when(base.is_null() | (base <= 0)).then(pl.lit("no positive baseValue or contracts")),
        pl.when(quote < 0).then(pl.format("quoteValue {} is negative", pl.col("quote_t"))),
    )
    checked = f.with_columns(reason=reason, nfields=pl.lit(1, dtype=pl.Int64))
    good = checked.filter(pl.col("reason").is_null()).with_columns(
        venue=pl.lit(venue), symbol=_symbol(), liq_ts=ts, side=side, price=price, base_amount=base,
        quote_usd=pl.coalesce(quote, price * base))
    # a venue prints one fill of a liquidation order per record: identical keys are one liquidation
    # split in fills, summed (the first line kept for lineage)
    keys = ["venue", "symbol", "liq_ts", "side", "price"]
    rows = good.group_by(keys, maintain_order=True).agg(
        pl.col("base_amount").sum(), pl.col("quote_usd").sum(), pl.col("line").min())
    return finish(format="ccxt_liquidations", table=LIQ_TABLE, file=file, checked=checked, rows=rows,
                  keys=tuple(keys), partition_by=tuple(keys), columns=LIQ_COLUMNS, meta={"venue": venue})


def parse_oi_history(data: bytes, file: str = "<bytes>") -> Parsed:
    _, doc, lines = _records(data, file, "open interest")
    venue = _venue(doc, file)
    f = _frame(doc, lines, {"symbol": "symbol", "time": "timestamp", "amount_t": "openInterestAmount",
                            "value_t": "openInterestValue"})
    ts, amount, value = epoch_ms("time"), number("amount_t"), number("value_t")
    reason = pl.coalesce(
        pl.col("reason"),
        pl.when(pl.col("symbol").fill_null("") == "").then(pl.lit("no symbol")),
        pl.when(ts.is_null()).then(pl.format("bad timestamp {}", pl.col("time").fill_null("(empty)"))),
        not_a_number("amount_t", "openInterestAmount"), not_a_number("value_t", "openInterestValue"),
        pl.when(amount.is_null() & value.is_null()).then(pl.lit("no openInterestAmount or openInterestValue")),
        pl.when((amount < 0) | (value < 0)).then(pl.lit("negative open interest")),
    )
    checked = f.with_columns(reason=reason, nfields=pl.lit(1, dtype=pl.Int64))
    rows = checked.filter(pl.col("reason").is_null()).select(
        venue=pl.lit(venue), symbol=_symbol(), ts=ts, open_interest=amount, open_interest_usd=value,
        top_trader_long_short_ratio=pl.lit(None, dtype=pl.Float64),
        account_long_short_ratio=pl.lit(None, dtype=pl.Float64),
        taker_long_short_vol_ratio=pl.lit(None, dtype=pl.Float64), line="line")
    return finish(format="ccxt_open_interest_history", table=OI_TABLE, file=file, checked=checked, rows=rows,
                  keys=("venue", "symbol", "ts"), partition_by=("venue", "symbol", "ts"),
                  columns=OI_COLUMNS, meta={"venue": venue})


FORMATS = [
    Format(name="ccxt_liquidations", source="perp_liquidations", table=LIQ_TABLE,
           sniff=sniff_liquidations, parse=parse_liquidations,
           description="ccxt fetch_liquidations records (saved JSON)"),
    Format(name="ccxt_open_interest_history", source="perp_metrics", table=OI_TABLE,
           sniff=sniff_oi_history, parse=parse_oi_history,
           description="ccxt fetch_open_interest_history records (saved JSON)"),
]
