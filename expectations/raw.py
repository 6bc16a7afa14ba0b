"""Row contracts of the raw tables (warehouse/ddl/10_raw.sql): what a vendor row must satisfy to
be loaded. Checked at the parse boundary (flows/ingest.py); failing rows go to audit.quarantine.

Lineage columns are optional: readers emit `line`; ingest adds `file_id` and `batch_id`.
"""

from __future__ import annotations

from datetime import date
from typing import Optional  # noqa: UP035 - pandera reads Optional[...] as "column may be absent"

import pandera.polars as pa
import polars as pl

from expectations.registry import contract
from expectations.rules import finite, no_jump, row_rule, whole_hour


class Lineage(pa.DataFrameModel):
    """Every raw row knows its file (sha256), batch and 1-based source line."""

    batch_id: Optional[str] = pa.Field(nullable=True)  # noqa: UP045
    file_id: Optional[str] = pa.Field(nullable=True)  # noqa: UP045
    line: Optional[pl.Int64] = pa.Field(nullable=True, ge=1)  # noqa: UP045

    class Config:
        coerce = True
        strict = True


# grain: quote_date x root x expiry x strike x right
@contract("raw.option_quotes", date_col="quote_date", required=True, drift=("iv", "open_interest"),
          jump=(("underlying",), "spot"), session_cols=("quote_date",))
class OptionQuotes(Lineage):
    quote_date: pl.Date
    root: str = pa.Field(str_matches=r"^[A-Z]{1,6}$")
    expiry: pl.Date
    strike: pl.Float64 = pa.Field(gt=0)
    right: str = pa.Field(isin=["C", "P"])
    underlying: str = pa.Field(str_matches=r"^[A-Z0-9]{1,8}$")
    option_symbol: str = pa.Field(nullable=True)
    quote_ts: pl.Datetime
    spot: pl.Float64 = pa.Field(gt=0)
    bid: pl.Float64 = pa.Field(ge=0, nullable=True)
    ask: pl.Float64 = pa.Field(ge=0, nullable=True)
    last: pl.Float64 = pa.Field(ge=0, nullable=True)
    volume: pl.Int64 = pa.Field(ge=0, nullable=True)
    open_interest: pl.Int64 = pa.Field(ge=0, nullable=True)
    iv: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 10}, nullable=True)
    delta: pl.Float64 = pa.Field(in_range={"min_value": -1, "max_value": 1}, nullable=True)
    gamma: pl.Float64 = pa.Field(ge=0, nullable=True)
    expired: bool

    _finite = finite("strike", "spot", "bid", "ask", "last", "iv", "delta", "gamma")
    # A quote with no offer prints ask 0: only a positive ask below the bid is crossed.
    ask_ge_bid = row_rule("ask_ge_bid", "ask below bid (crossed quote)",
                          (pl.col("ask") >= pl.col("bid")) | (pl.col("ask") == 0), ["ask", "bid"])
    expiry_on_or_after_quote_date = row_rule(
        "expiry_on_or_after_quote_date", "expiry before the quote date on a row not flagged expired",
        pl.col("expired") | (pl.col("expiry") >= pl.col("quote_date")), ["expired", "expiry", "quote_date"])
    expired_flag_consistent = row_rule(
        "expired_flag_consistent", "flagged expired but the expiry is after the quote date",
        ~pl.col("expired") | (pl.col("expiry") <= pl.col("quote_date")), ["expired", "expiry", "quote_date"])
    # Strikes live within a few x of spot; a spot 100x off the strikes is another underlying's price.
    strike_near_spot = row_rule(
        "strike_near_spot", "strike / spot outside [0.01, 50]: the spot belongs to another underlying",
        (pl.col("strike") / pl.col("spot")).is_between(0.01, 50), ["strike", "spot"])
    call_delta_sign = row_rule(
        "delta_sign_matches_right", "call with negative delta or put with positive delta",
        pl.when(pl.col("right") == "C").then(pl.col("delta") >= 0).otherwise(pl.col("delta") <= 0),
        ["right", "delta"])

    class Config:
        unique = ["quote_date", "root", "expiry", "strike", "right"]


# grain: symbol x date
# No XNYS-session rule: Cboe computes VIX on some NYSE holidays (32 rows since 2022 in the real
# VIX_History.csv). Such a row is valid vendor data: it stays in raw, core reads sessions only.
@contract("raw.index_bars", date_col="date", required=True, jump=(("symbol",), "close"))
class IndexBars(Lineage):
    symbol: str = pa.Field(str_matches=r"^[A-Z0-9^.$]{1,12}$")
    date: pl.Date
    open: pl.Float64 = pa.Field(gt=0, nullable=True)
    high: pl.Float64 = pa.Field(gt=0, nullable=True)
    low: pl.Float64 = pa.Field(gt=0, nullable=True)
    close: pl.Float64 = pa.Field(gt=0)
    volume: pl.Float64 = pa.Field(ge=0, nullable=True)
    ohlc_flag: str = pa.Field(nullable=True)

    _finite = finite("open", "high", "low", "close", "volume")
    # Suspect bars are flagged by the reader (ohlc_flag) and kept; unflagged ones must be coherent.
    high_ge_low = row_rule("high_ge_low", "high below low on a bar not flagged by the reader",
                           pl.col("ohlc_flag").is_not_null() | (pl.col("high") >= pl.col("low")),
                           ["high", "low", "ohlc_flag"])
    close_jump = no_jump("close_no_10x_jump", ["symbol"], "date", "close", factor=4.0)
    # ... but no index is computed on a weekend: a Saturday close is wrong data - except before
    # June 1952, when the NYSE still held Saturday sessions (Stooq's SPX history has them).
    weekday = row_rule("date_weekday", "index close dated on a weekend",
                       (pl.col("date").dt.weekday() <= 5) | (pl.col("date") < date(1952, 6, 1)),
                       ["date"])

    class Config:
        unique = ["symbol", "date"]


# grain: trade_date x expiry
@contract("raw.vx_futures", date_col="trade_date", drift=("settle",), jump=(("expiry",), "settle"))
class VxFutures(Lineage):
    trade_date: pl.Date
    expiry: pl.Date
    contract: str = pa.Field(nullable=True)
    weekly: bool
    open: pl.Float64 = pa.Field(ge=0, nullable=True)
    high: pl.Float64 = pa.Field(ge=0, nullable=True)
    low: pl.Float64 = pa.Field(ge=0, nullable=True)
    close: pl.Float64 = pa.Field(ge=0, nullable=True)
    settle: pl.Float64 = pa.Field(ge=0, nullable=True)
    volume: pl.Int64 = pa.Field(ge=0, nullable=True)
    open_interest: pl.Int64 = pa.Field(ge=0, nullable=True)
    price_flag: str = pa.Field(nullable=True)

    _finite = finite("open", "high", "low", "close", "settle")
    trades_until_expiry = row_rule("trade_date_on_or_before_expiry", "traded after its final settlement",
                                   pl.col("trade_date") <= pl.col("expiry"), ["trade_date", "expiry"])
    high_ge_low = row_rule("high_ge_low", "high below low on a bar not flagged by the reader",
                           pl.col("price_flag").is_not_null() | (pl.col("high") >= pl.col("low")),
                           ["high", "low", "price_flag"])
    weekday = row_rule("trade_date_weekday", "trade date on a weekend",
                       pl.col("trade_date").dt.weekday() <= 5, ["trade_date"])

    class Config:
        unique = ["trade_date", "expiry"]


# Largest |rate| per funding interval a venue can print (exchange caps, with headroom):
# Binance caps most USD-M perps at 0.3-3 % per interval, Bybit alike; Hyperliquid caps at 4 % per hour.
FUNDING_RATE_CAP = {"binance": 0.03, "bybit": 0.03, "okx": 0.03, "hyperliquid": 0.04, "dydx": 0.04}
FUNDING_RATE_CAP_DEFAULT = 0.05


def _rate_cap() -> pl.Expr:
    cap = pl.col("venue").replace_strict(FUNDING_RATE_CAP, default=FUNDING_RATE_CAP_DEFAULT,
                                         return_dtype=pl.Float64)
    return pl.col("rate").abs() <= cap


# grain: venue x symbol x funding_ts
@contract("raw.funding_rates", date_col="funding_ts", drift=("rate",))
class FundingRates(Lineage):
    venue: str = pa.Field(str_matches=r"^[a-z0-9_]+$")
    symbol: str = pa.Field(str_matches=r"^[A-Z0-9]{1,20}$")
    funding_ts: pl.Datetime
    interval_h: pl.Int32 = pa.Field(isin=[1, 2, 4, 8])
    rate: pl.Float64
    mark_price: pl.Float64 = pa.Field(gt=0, nullable=True)
    index_price: pl.Float64 = pa.Field(gt=0, nullable=True)
    premium: pl.Float64 = pa.Field(nullable=True)
    open_interest_usd: pl.Float64 = pa.Field(ge=0, nullable=True)

    _finite = finite("rate", "mark_price", "index_price", "premium", "open_interest_usd")
    _hour = whole_hour("funding_ts")
    rate_within_cap = row_rule("rate_within_venue_cap",
                               "|rate| above the venue's per-interval funding cap", _rate_cap(),
                               ["venue", "rate"])

    class Config:
        unique = ["venue", "symbol", "funding_ts"]


# grain: exchange x date
@contract("raw.breadth", date_col="date", session_cols=("date",))
class Breadth(Lineage):
    exchange: str = pa.Field(str_matches=r"^[A-Z0-9_]+$")
    date: pl.Date
    advances: pl.Int64 = pa.Field(ge=0, nullable=True)
    declines: pl.Int64 = pa.Field(ge=0, nullable=True)
    unchanged: pl.Int64 = pa.Field(ge=0, nullable=True)
    up_volume: pl.Float64 = pa.Field(ge=0, nullable=True)
    down_volume: pl.Float64 = pa.Field(ge=0, nullable=True)
    unchanged_volume: pl.Float64 = pa.Field(ge=0, nullable=True)
    new_highs: pl.Int64 = pa.Field(ge=0, nullable=True)
    new_lows: pl.Int64 = pa.Field(ge=0, nullable=True)

    _finite = finite("up_volume", "down_volume", "unchanged_volume")
    issues_traded = row_rule(
        "issues_traded", "advances + declines + unchanged is 0: no issue traded",
        (pl.sum_horizontal("advances", "declines", "unchanged") > 0)
        | pl.any_horizontal(pl.col("advances", "declines", "unchanged").is_null()),
        ["advances", "declines", "unchanged"])

    class Config:
        unique = ["exchange", "date"]


# grain: date x event (a calendar: validated whole, not by night)
@contract("raw.macro_events", date_col="date", cadence="static", scheduled=True)
class MacroEvents(Lineage):
    date: pl.Date
    event: str = pa.Field(str_matches=r"^[A-Z0-9_ ]{2,32}$")
    time_et: str = pa.Field(nullable=True, str_matches=r"^(?:[01]\d|2[0-3]):[0-5]\d$")

    class Config:
        unique = ["date", "event"]


# grain: series_id x date (FRED CSV; "." for a missing observation reads as null)
@contract("raw.macro_series", date_col="date", cadence="static")
class MacroSeries(Lineage):
    series_id: str = pa.Field(str_matches=r"^[A-Z0-9_]{2,32}$")
    date: pl.Date
    value: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("value")

    class Config:
        unique = ["series_id", "date"]


# grain: venue x symbol x ts (15_raw_perp.sql)
@contract("raw.perp_open_interest", date_col="ts")
class PerpOpenInterest(Lineage):
    venue: str = pa.Field(str_matches=r"^[a-z0-9_]+$")
    symbol: str = pa.Field(str_matches=r"^[A-Z0-9]{1,20}$")
    ts: pl.Datetime
    open_interest: pl.Float64 = pa.Field(ge=0, nullable=True)
    open_interest_usd: pl.Float64 = pa.Field(ge=0, nullable=True)
    top_trader_long_short_ratio: pl.Float64 = pa.Field(ge=0, nullable=True)
    account_long_short_ratio: pl.Float64 = pa.Field(ge=0, nullable=True)
    taker_long_short_vol_ratio: pl.Float64 = pa.Field(ge=0, nullable=True)

    _finite = finite("open_interest", "open_interest_usd", "top_trader_long_short_ratio",
                     "account_long_short_ratio", "taker_long_short_vol_ratio")
    some_open_interest = row_rule(
        "open_interest_in_base_or_usd", "neither open_interest nor open_interest_usd",
        pl.col("open_interest").is_not_null() | pl.col("open_interest_usd").is_not_null(),
        ["open_interest", "open_interest_usd"])

    class Config:
        unique = ["venue", "symbol", "ts"]


# grain: venue x symbol x liq_ts x side x price (15_raw_perp.sql)
@contract("raw.perp_liquidations", date_col="liq_ts")
class PerpLiquidations(Lineage):
    venue: str = pa.Field(str_matches=r"^[a-z0-9_]+$")
    symbol: str = pa.Field(str_matches=r"^[A-Z0-9]{1,20}$")
    liq_ts: pl.Datetime
    side: str = pa.Field(isin=["long", "short"])
    price: pl.Float64 = pa.Field(gt=0)
    base_amount: pl.Float64 = pa.Field(gt=0)
    quote_usd: pl.Float64 = pa.Field(ge=0)

    _finite = finite("price", "base_amount", "quote_usd")
    # quoteValue is the fill's notional: within 5 % of price x amount (venues round each field)
    notional_matches = row_rule(
        "liquidation_notional_is_price_x_amount", "quote_usd is not price x base_amount (within 5 %)",
        (pl.col("quote_usd") - pl.col("price") * pl.col("base_amount")).abs()
        <= 0.05 * pl.col("price") * pl.col("base_amount"),
        ["quote_usd", "price", "base_amount"])

    class Config:
        unique = ["venue", "symbol", "liq_ts", "side", "price"]


# grain: date x ticker (36_core_fundamentals.sql)
@contract("raw.constituent_fundamentals", date_col="date", session_cols=("date",))
class ConstituentFundamentals(Lineage):
    date: pl.Date
    ticker: str = pa.Field(str_matches=r"^[A-Z0-9.\-^/]{1,20}$")
    index_weight: pl.Float64 = pa.Field(ge=0, le=1)
    price: pl.Float64 = pa.Field(gt=0)
    ocf_per_share_ttm: pl.Float64

    _finite = finite("index_weight", "price", "ocf_per_share_ttm")

    class Config:
        unique = ["date", "ticker"]


# grain: date (SqueezeMetrics DIX.csv; warehouse/ddl/15_raw_history.sql)
@contract("raw.dix_gex", date_col="date", cadence="static", session_cols=("date",))
class DixGex(Lineage):
    date: pl.Date
    price: pl.Float64 = pa.Field(gt=0)
    dix: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 1}, nullable=True)
    gex_usd: pl.Float64 = pa.Field(nullable=True)

    _finite = finite("price", "dix", "gex_usd")

    class Config:
        unique = ["date"]
