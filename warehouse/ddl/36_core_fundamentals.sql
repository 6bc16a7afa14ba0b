-- Constituent fundamentals: the price-to-cash-flow ratio of the major index constituents
-- (reader sources/pcf_csv.py, transform transforms/pcf.py; formulas in docs/fundamentals.md).
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;

-- grain: date x ticker. Partition: (date, ticker). The user's export from any fundamentals source.
CREATE TABLE IF NOT EXISTS raw.constituent_fundamentals (
    date               DATE NOT NULL,          -- as-of date of the row (XNYS session)
    ticker             VARCHAR NOT NULL,
    index_weight       DOUBLE NOT NULL,        -- weight in the index, decimal (0.07 = 7 %)
    price              DOUBLE NOT NULL,        -- close, USD
    ocf_per_share_ttm  DOUBLE NOT NULL,        -- operating cash flow per share, trailing 12 months, USD (may be < 0)
    batch_id           VARCHAR,
    file_id            VARCHAR,
    line               BIGINT
);

-- grain: date. Partition: (date). Changes compare with the row 20 / 60 stored sessions earlier.
CREATE TABLE IF NOT EXISTS core.pcf_daily (
    date               DATE NOT NULL,
    constituents       BIGINT NOT NULL,        -- rows that day
    weight_covered_pct DOUBLE NOT NULL,        -- sum of index_weight x 100
    pcf_index          DOUBLE,                 -- sum(w) / sum(w x OCF / price): cap-weighted P/CF (market cap / cash flow); null when the cash-flow yield <= 0
    pcf_median         DOUBLE,                 -- median price / OCF over constituents with OCF > 0
    cf_yield_pct       DOUBLE,                 -- 100 / pcf_index: weighted operating cash-flow yield, %
    pcf_chg_20d_pct    DOUBLE,                 -- pcf_index / its value 20 stored sessions earlier - 1, %
    pcf_chg_60d_pct    DOUBLE                  -- same, 60 sessions
);
