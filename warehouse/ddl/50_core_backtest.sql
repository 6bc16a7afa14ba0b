-- Backtest of the ALVH rules and a plain iron-condor baseline (transforms/backtest.py; rules,
-- fills, marks and settlement in docs/report.md). Books: 'alvh' (condor per the ALVH rules plus
-- its VIX hedge layers), 'plain_ic' (the same condor construction, no regime rules, no hedges),
-- 'spx' (benchmark: SPX close-to-close, buy and hold). Money in USD; returns are decimals.
-- Point in time: the simulation runs forward one session at a time and a session reads only its
-- own quotes and bars on or before it, so a core.backtest_daily row for D never changes when
-- later data arrives. Returns are account-based (ORATS / optopsy / Cboe strategy-index convention):
-- each book trades from a fixed account (BacktestParams.capital_usd, default $1,000,000);
-- daily_return = (pnl + idle interest) / account value before the session; idle cash earns the
-- T-bill rate when a rate series is given, else 0 (no rate series is stored today: 0).
-- Until 2026-12 the book was "funded on demand"; the columns capital_called_usd / book_value_usd
-- keep their names and now hold the fixed account capital and the account value.
-- core.backtest_trades is the trade list as of the last session built:
-- a trade still open then has status 'open', exit_date NULL and its P&L marked at mid.
CREATE SCHEMA IF NOT EXISTS core;

-- grain: strategy x trade_id. Rewritten whole on each build (one transaction).
CREATE TABLE IF NOT EXISTS core.backtest_trades (
    strategy            VARCHAR NOT NULL,     -- alvh | plain_ic
    trade_id            VARCHAR NOT NULL,     -- <strategy>-<entry date>-<n>
    entry_date          DATE NOT NULL,        -- session the trade was filled (at its close)
    expiry              DATE NOT NULL,        -- condor expiry
    root                VARCHAR NOT NULL,     -- SPX (AM-settled monthly) | SPXW (PM-settled)
    contracts           BIGINT NOT NULL,      -- condors
    short_put           DOUBLE,               -- strikes, index points
    long_put            DOUBLE,
    short_call          DOUBLE,
    long_call           DOUBLE,
    credit_pts          DOUBLE,               -- condor credit per condor at the fills (sell bid, buy ask)
    credit_usd          DOUBLE,               -- credit_pts x 100 x contracts
    hedge_cost_usd      DOUBLE,               -- net premium paid for the hedge layers at entry (+ = debit), commissions included
    max_loss_usd        DOUBLE,               -- (wider wing - credit) x 100 x contracts
    capital_at_risk_usd DOUBLE,               -- max_loss_usd + hedge debit + VX margin
    regime              VARCHAR,              -- core.signals_daily regime at entry (alvh)
    score               DOUBLE,               -- unwind score at entry (alvh)
    status              VARCHAR NOT NULL,     -- closed | open
    exit_date           DATE,                 -- NULL while open
    exit_reason         VARCHAR,              -- the whole book's: take_profit | stop_loss | dte | expiry, or hedge_loss (condor took profit, the book lost) | hedge_gain (condor stopped, the book gained)
    settle_basis        VARCHAR,              -- 'SPX open' / 'SPX close' when a condor leg was cash-settled
    days_held           BIGINT,               -- calendar days entry -> exit (or -> last session)
    pnl_usd             DOUBLE,               -- realized (closed) or marked at mid (open), after commissions
    hedge_pnl_usd       DOUBLE,               -- the part of pnl_usd from the hedge layers
    commissions_usd     DOUBLE,
    return_on_risk      DOUBLE,               -- pnl_usd / capital_at_risk_usd (return on the risk the trade took)
    stale_marks         BIGINT,               -- leg-days marked at the previous mark (no quote that session)
    legs_json           VARCHAR,              -- every leg: layer, root, expiry, strike, right, qty (+long/-short), multiplier, entry/exit price
    note                VARCHAR,
    condor_exit_reason  VARCHAR               -- the condor's own trigger (take_profit | stop_loss | dte | expiry)
);

-- grain: strategy x date (every backtest session). Partition: (date).
CREATE TABLE IF NOT EXISTS core.backtest_daily (
    strategy            VARCHAR NOT NULL,     -- alvh | plain_ic | spx
    date                DATE NOT NULL,
    pnl_usd             DOUBLE,               -- change in book value that session (marks at mid, fills at bid/ask, commissions)
    hedge_pnl_usd       DOUBLE,               -- the hedge layers' part of pnl_usd
    cum_pnl_usd         DOUBLE,               -- running sum of pnl_usd from the first session
    capital_at_risk_usd DOUBLE,               -- sum of capital_at_risk_usd of trades held during the session
    daily_return        DOUBLE,               -- (pnl_usd + interest_usd) / account value before the session; spx: close / previous close - 1
    equity              DOUBLE,               -- account value / capital = cumulative product of (1 + daily_return), 1 before the first session
    drawdown            DOUBLE,               -- equity / running peak (at least 1) - 1, <= 0: dollar drawdown / account value at its peak
    open_trades         BIGINT,               -- trades open after the session
    entries             BIGINT,
    exits               BIGINT,
    commissions_usd     DOUBLE,
    capital_called_usd  DOUBLE,               -- the account's fixed capital (capital_usd); NULL for spx
    book_value_usd      DOUBLE,               -- account value after the session: capital + cum_pnl_usd + cumulative interest
    interest_usd        DOUBLE                -- idle cash interest that session (0 without a rate series)
);

-- grain: as_of x strategy. Partition: (as_of). Statistics of core.backtest_daily rows dated <= as_of
-- with quantstats' definitions (rf = 0, 252 periods): the report shows these, it computes none.
-- Every build recomputes the rows of every stored session, so the page, this table and the
-- tearsheet (which reads the same daily_return rows) always agree. Annualised figures (cagr,
-- volatility, sharpe, sortino, calmar, irr) are NULL under 60 sessions; note says why.
CREATE TABLE IF NOT EXISTS core.backtest_metrics (
    as_of               DATE NOT NULL,
    strategy            VARCHAR NOT NULL,
    first_date          DATE,
    sessions            BIGINT,
    total_return        DOUBLE,               -- prod(1 + daily_return) - 1
    cagr                DOUBLE,               -- (1 + total_return)^(252 / sessions) - 1
    volatility          DOUBLE,               -- std(daily_return, ddof 1) x sqrt(252)
    sharpe              DOUBLE,               -- mean / std x sqrt(252)
    sortino             DOUBLE,               -- mean / sqrt(sum(r<0 ^2) / n) x sqrt(252)
    max_drawdown        DOUBLE,               -- min drawdown, <= 0
    calmar              DOUBLE,               -- cagr / |max_drawdown|
    irr                 DOUBLE,               -- money-weighted annual return: XIRR of the capital calls and tonight's book value
    cum_pnl_usd         DOUBLE,
    avg_capital_at_risk_usd DOUBLE,
    trades_closed       BIGINT,               -- trades with exit_date <= as_of
    trades_open         BIGINT,
    win_rate            DOUBLE,               -- share of closed trades with pnl_usd > 0
    avg_trade_pnl_usd   DOUBLE,
    hedge_pnl_usd       DOUBLE,               -- cumulative hedge-layer P&L
    capital_usd         DOUBLE,               -- the fixed account the returns are on (NULL for spx)
    max_drawdown_usd    DOUBLE,               -- largest fall of the account value from a peak, USD, <= 0
    avg_return_on_risk  DOUBLE,               -- mean return_on_risk of the trades closed by as_of
    note                VARCHAR               -- why annualised figures are NULL (short history), else NULL
);
