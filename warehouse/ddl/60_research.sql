-- Research books on real history (flows/research.py, `alvh research`): replicas of Cboe strategy
-- indexes and this project's rules, priced on the VIX/SKEW surface. Not part of the nightly.
CREATE SCHEMA IF NOT EXISTS research;

-- grain: run_id x strategy x date. A run replaces its strategies' rows.
CREATE TABLE IF NOT EXISTS research.backtest_daily (
    strategy       VARCHAR NOT NULL,       -- cndr_replica | alvh | plain_ic | spx
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
    rate_source    VARCHAR,                -- the T-bill series used, or the built-in approximation
    history_from   DATE,                   -- the run's --start / --end (the period asked for)
    history_to     DATE
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

-- grain: run_id x date. The unwind score from real inputs (transforms/research/alvh_book.py) and
-- which components it rests on that day (coverage = share of the score's weight present).
CREATE TABLE IF NOT EXISTS research.signals (
    run_id               VARCHAR NOT NULL,
    date                 DATE NOT NULL,
    unwind_score         DOUBLE,
    unwind_score_raw     DOUBLE,             -- the components present, without coverage shrinkage
    coverage             DOUBLE,
    components_available BIGINT,
    components_missing   VARCHAR,            -- e.g. 'funding,breadth,events'
    regime               VARCHAR,
    gamma_score          DOUBLE,
    funding_score        DOUBLE,
    breadth_score        DOUBLE,
    volatility_score     DOUBLE,
    events_score         DOUBLE,
    net_gex_usd_per_pct  DOUBLE,             -- SqueezeMetrics GEX (USD per 1 % move)
    vix_vix3m_ratio      DOUBLE,
    shock                BOOLEAN
);

-- grain: run_id x onset. Every SPX drawdown of more than 5 % within 10 sessions, and the score
-- in the 10 sessions ending at its onset.
CREATE TABLE IF NOT EXISTS research.drawdown_episodes (
    run_id               VARCHAR NOT NULL,
    onset                DATE NOT NULL,      -- the last close before the fall
    trough               DATE,
    drawdown_pct         DOUBLE,             -- trough / onset close - 1, percent
    sessions_to_trough   BIGINT,
    score_mean_before    DOUBLE,
    score_max_before     DOUBLE,
    coverage_mean_before DOUBLE,
    sessions_with_score  BIGINT
);

-- grain: run_id x score x group ('before_drawdown' | 'other').
CREATE TABLE IF NOT EXISTS research.drawdown_evidence (
    run_id               VARCHAR NOT NULL,
    score                VARCHAR NOT NULL,   -- unwind_score | unwind_score_raw (no coverage shrinkage)
    "group"              VARCHAR NOT NULL,
    episodes             BIGINT,
    sessions             BIGINT,
    sessions_with_score  BIGINT,
    score_mean           DOUBLE,
    score_median         DOUBLE,
    score_p90            DOUBLE,
    share_elevated       DOUBLE,             -- share of sessions with the score >= 50
    coverage_mean        DOUBLE,
    auc                  DOUBLE              -- P(score before a drawdown > score elsewhere)
);

-- grain: run_id x benchmark: the tracking figures printed by `alvh research`.
CREATE TABLE IF NOT EXISTS research.tracking_summary (
    run_id             VARCHAR NOT NULL,
    benchmark          VARCHAR NOT NULL,     -- CNDR
    months             BIGINT,
    monthly_corr       DOUBLE,               -- correlation of monthly returns, replica vs index
    years              BIGINT,
    annual_mad_pts     DOUBLE,               -- mean |annual return difference|, points
    years_within_2pts  BIGINT
);

-- grain: run_id x component: the share of the run's sessions on which each score component
-- had an input (research.signals summarised by the run, for the page).
CREATE TABLE IF NOT EXISTS research.coverage (
    run_id             VARCHAR NOT NULL,
    component          VARCHAR NOT NULL,     -- gamma | funding | breadth | volatility | events
    sessions           BIGINT,
    present_share      DOUBLE,
    "first"            DATE                  -- first session with the component present
);
