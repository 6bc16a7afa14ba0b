-- Perpetual positioning beside funding (readers: sources/binance_metrics.py, sources/liquidations.py;
-- conventions in docs/market-tables.md "Perp open interest and liquidations"). Lineage as raw.*.
CREATE SCHEMA IF NOT EXISTS raw;

-- grain: venue x symbol x ts. Partition: (venue, symbol, ts) - a newer file for the same instants replaces them.
CREATE TABLE IF NOT EXISTS raw.perp_open_interest (
    venue          VARCHAR NOT NULL,       -- binance, bybit, okx, hyperliquid ...
    symbol         VARCHAR NOT NULL,       -- base asset (BTC, ETH)
    ts             TIMESTAMP NOT NULL,     -- UTC instant of the observation
    open_interest  DOUBLE,                 -- base units (BTC), the venue's sum_open_interest / openInterestAmount
    open_interest_usd DOUBLE,              -- USD (quote) value, sum_open_interest_value / openInterestValue
    top_trader_long_short_ratio DOUBLE,    -- Binance top traders' long/short position ratio (count_toptrader_long_short_ratio)
    account_long_short_ratio DOUBLE,       -- all accounts' long/short ratio (count_long_short_ratio)
    taker_long_short_vol_ratio DOUBLE,     -- taker buy / sell volume ratio
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: venue x symbol x liq_ts x side x price (identical records of one file are summed).
-- side = the LIQUIDATED position: long (a forced sell) | short (a forced buy).
CREATE TABLE IF NOT EXISTS raw.perp_liquidations (
    venue          VARCHAR NOT NULL,
    symbol         VARCHAR NOT NULL,       -- base asset
    liq_ts         TIMESTAMP NOT NULL,     -- UTC
    side           VARCHAR NOT NULL,       -- long | short (position liquidated)
    price          DOUBLE NOT NULL,        -- USD
    base_amount    DOUBLE NOT NULL,        -- base units liquidated
    quote_usd      DOUBLE NOT NULL,        -- USD notional (quoteValue, else price x base_amount)
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);
