-- Research books on real history (flows/research.py, `alvh research`): replicas of Cboe strategy
-- indexes and this project's rules, priced on the VIX/SKEW surface. Not part of the nightly.
CREATE SCHEMA IF NOT EXISTS research;

-- grain: run_id x strategy x date. A run replaces its strategies' rows.
CREATE TABLE IF NOT EXISTS research.backtest_daily (
    strategy       VARCHAR NOT NULL,       -- cndr_replica | plain_ic | spx
    date           DATE NOT NULL,
    pnl            DOUBLE,                 -- account currency (capital of the strategy's account)
    equity         DOUBLE NOT NULL,        -- fixed account: capital + cumulative P&L
    daily_return   DOUBLE,                 -- pnl / prior equity
    drawdown       DOUBLE,                 -- equity / running max - 1
    open_trades    BIGINT,
    run_id         VARCHAR NOT NULL
);

-- grain: run_id x strategy.
CREATE TABLE IF NOT EXISTS research.metrics (
    run_id         VARCHAR NOT NULL,
    strategy       VARCHAR NOT NULL,
    start_date     DATE,
    end_date       DATE,
    sessions       BIGINT,
    total_return   DOUBLE,
    cagr           DOUBLE,
    vol            DOUBLE,
    sharpe         DOUBLE,
    sortino        DOUBLE,
    max_drawdown   DOUBLE,
    calmar         DOUBLE,
    notes          VARCHAR,                -- why a figure is missing (fewer than 60 sessions ...)
    rate_source    VARCHAR                 -- the T-bill series used, or the built-in approximation
);

-- grain: run_id x year: the replica's calendar-year return against the Cboe index's.
CREATE TABLE IF NOT EXISTS research.tracking (
    run_id         VARCHAR NOT NULL,
    benchmark      VARCHAR NOT NULL,       -- CNDR
    year           INTEGER NOT NULL,
    replica        DOUBLE,
    "index"        DOUBLE,
    diff_pts       DOUBLE
);
