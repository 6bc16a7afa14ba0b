-- Raw layer: vendor rows in canonical form, one table per kind of data. Every row carries its
-- lineage: batch_id, file_id (audit.files) and the 1-based line of the source file.
CREATE SCHEMA IF NOT EXISTS raw;

-- grain: quote_date x root x expiry x strike x right. Partition: (quote_date, root).
-- quote_date is the XNYS session the snapshot belongs to; quote_ts the snapshot instant (UTC).
CREATE TABLE IF NOT EXISTS raw.option_quotes (
    quote_date     DATE NOT NULL,
    root           VARCHAR NOT NULL,       -- SPX, SPXW, VIX, VIXW, SPY ... (from the option symbol)
    expiry         DATE NOT NULL,
    strike         DOUBLE NOT NULL,
    "right"        VARCHAR NOT NULL,       -- C | P
    underlying     VARCHAR NOT NULL,       -- SPX for SPX and SPXW, VIX for VIX and VIXW
    option_symbol  VARCHAR,
    quote_ts       TIMESTAMP NOT NULL,     -- UTC
    spot           DOUBLE NOT NULL,        -- the file's `Last:` price
    bid            DOUBLE,
    ask            DOUBLE,
    "last"         DOUBLE,
    volume         BIGINT,
    open_interest  BIGINT,
    iv             DOUBLE,                 -- vendor implied vol, annualised decimal (0.20 = 20 %)
    delta          DOUBLE,                 -- vendor
    gamma          DOUBLE,                 -- vendor, per 1 point of the underlying, often rounded to 4 dp
    expired        BOOLEAN NOT NULL,       -- expiry before the snapshot's New York date
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: symbol x date. Partition: (symbol, date) - a newer file for the same days replaces them.
CREATE TABLE IF NOT EXISTS raw.index_bars (
    symbol         VARCHAR NOT NULL,       -- SPX, VIX, VIX3M, VIX9D, VVIX, SKEW ...
    date           DATE NOT NULL,
    open           DOUBLE,
    high           DOUBLE,
    low            DOUBLE,
    close          DOUBLE NOT NULL,
    volume         DOUBLE,
    ohlc_flag      VARCHAR,                -- why the bar is suspect (open/close outside [low, high] ...), kept not dropped
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: trade_date x expiry. Partition: (trade_date, expiry).
CREATE TABLE IF NOT EXISTS raw.vx_futures (
    trade_date     DATE NOT NULL,
    expiry         DATE NOT NULL,          -- final settlement date of the contract
    contract       VARCHAR,                -- vendor label: 'F (Jan 2024)', 'VX/F4', 'VX03/F4'
    weekly         BOOLEAN NOT NULL,
    open           DOUBLE,
    high           DOUBLE,
    low            DOUBLE,
    close          DOUBLE,
    settle         DOUBLE,
    volume         BIGINT,
    open_interest  BIGINT,
    price_flag     VARCHAR,                -- placeholder row, high < low, rescaled x10 ...
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: venue x symbol x funding_ts (hour-floored UTC). Partition: the same.
CREATE TABLE IF NOT EXISTS raw.funding_rates (
    venue          VARCHAR NOT NULL,       -- binance, bybit, hyperliquid, dydx, okx
    symbol         VARCHAR NOT NULL,       -- venue symbol normalised to BASE (BTC, ETH)
    funding_ts     TIMESTAMP NOT NULL,     -- UTC, floored to the hour
    interval_h     INTEGER NOT NULL,       -- hours this rate covers (1, 2, 4, 8); never assumed
    rate           DOUBLE NOT NULL,        -- per interval, decimal (0.0001 = 1 bp per interval)
    mark_price     DOUBLE,
    index_price    DOUBLE,
    premium        DOUBLE,
    open_interest_usd DOUBLE,
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: exchange x date. Unicorn per-field files merge their one column into the row.
CREATE TABLE IF NOT EXISTS raw.breadth (
    exchange       VARCHAR NOT NULL,       -- NYSE, NASDAQ, SAMPLE500 ...
    date           DATE NOT NULL,
    advances       BIGINT,
    declines       BIGINT,
    unchanged      BIGINT,
    up_volume      DOUBLE,                 -- shares
    down_volume    DOUBLE,                 -- shares
    unchanged_volume DOUBLE,               -- shares (Unicorn NYSE_unchv.csv)
    new_highs      BIGINT,
    new_lows       BIGINT,
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: date x event.
CREATE TABLE IF NOT EXISTS raw.macro_events (
    date           DATE NOT NULL,
    event          VARCHAR NOT NULL,       -- CPI, PPI, FOMC, NFP ...
    time_et        VARCHAR,                -- release time, New York, when known ('08:30')
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);

-- grain: series_id x date (FRED CSV).
CREATE TABLE IF NOT EXISTS raw.macro_series (
    series_id      VARCHAR NOT NULL,
    date           DATE NOT NULL,
    value          DOUBLE,
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);
