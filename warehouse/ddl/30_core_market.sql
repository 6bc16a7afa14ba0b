-- Market internals: breadth, perpetual funding, volatility, macro calendar (transforms/breadth.py,
-- funding.py, vol.py, macro.py; formulas in docs/market-tables.md). Every row for date D is built
-- from raw rows up to D only (point in time). Rates and ratios are decimals unless the name says
-- _pct (percent points), _bps (basis points), _pts (index points), _vol_pts (vol points) or
-- _dte_days (calendar days to expiry). Returns are fractions named _ret.
CREATE SCHEMA IF NOT EXISTS core;

-- grain: exchange x date (one row per raw.breadth row). Partition: (exchange, date).
-- EMAs: alpha = 2/(n+1), seeded with the simple mean of their first n values (StockCharts), so
-- rana_ema_slow and both oscillators are null for the first 38 rows of an exchange's history.
CREATE TABLE IF NOT EXISTS core.breadth_daily (
    exchange              VARCHAR NOT NULL,   -- NYSE, NASDAQ, SAMPLE500 ...
    date                  DATE NOT NULL,      -- XNYS session
    advances              BIGINT,             -- issues up
    declines              BIGINT,             -- issues down
    unchanged             BIGINT,
    net_advances          BIGINT,             -- advances - declines (issues)
    ad_line               BIGINT,             -- cumulative net advances since the first input row (issues)
    ad_pct                DOUBLE,             -- (A - D) / (A + D + U) x 100, percent of issues traded (U null -> 0)
    rana                  DOUBLE,             -- ratio-adjusted net advances: (A - D) / (A + D) x 1000
    rana_ema_fast         DOUBLE,             -- EMA19(rana)
    rana_ema_slow         DOUBLE,             -- EMA39(rana)
    mcclellan_osc         DOUBLE,             -- EMA19(rana) - EMA39(rana), ratio-adjusted (NYMO-style)
    mcclellan_sum         DOUBLE,             -- running sum of mcclellan_osc (ratio-adjusted summation, from 0)
    mcclellan_osc_classic DOUBLE,             -- EMA19(A - D) - EMA39(A - D), issues (not ratio-adjusted)
    new_highs             BIGINT,
    new_lows              BIGINT,
    net_new_highs         BIGINT,             -- new_highs - new_lows
    spx_close             DOUBLE,             -- SPX close that session (index points)
    spx_ret               DOUBLE,             -- SPX close / previous SPX close - 1 (decimal)
    spx_at_high           BOOLEAN,            -- SPX close >= its max over the last N sessions (N = 20, incl. today)
    spx_at_low            BOOLEAN,            -- SPX close <= its min over the last N sessions
    ad_divergence_bearish BOOLEAN,            -- spx_at_high and ad_line < its own N-session high (not confirmed)
    ad_divergence_bullish BOOLEAN,            -- spx_at_low and ad_line > its own N-session low
    ad_spx_corr           DOUBLE              -- rolling corr (20 rows) of net_advances (A/D line change) and spx_ret
);

-- grain: venue x symbol x date. Partition: (venue, symbol, date).
-- A funding day is (previous session's 16:00 New York close, this session's close] in UTC event
-- time: Monday's row holds Friday-evening-to-Monday-close events. Composite rows: venue
-- 'composite' with symbol 'ALL' (every venue x symbol) and one per symbol (across venues),
-- open-interest weighted when every member has OI that day, else equal weight.
CREATE TABLE IF NOT EXISTS core.funding_daily (
    venue               VARCHAR NOT NULL,     -- binance, bybit, hyperliquid ... or 'composite'
    symbol              VARCHAR NOT NULL,     -- BTC, ETH ... or 'ALL' on the all-symbol composite
    date                DATE NOT NULL,        -- XNYS session whose close ends the funding day
    n_events            BIGINT NOT NULL,      -- funding events in the day (0 on a gap day)
    hours_covered       BIGINT,               -- sum of interval_h over the events (venue rows)
    window_h            DOUBLE,               -- hours from the previous close to this close (24, 72 over a weekend)
    interval_h          BIGINT,               -- interval of the day's last event (1, 4, 8 h)
    funding_paid_bps    DOUBLE,               -- sum of per-interval rates over the day, bps (what a long paid)
    funding_8h_bps      DOUBLE,               -- 8 x sum(rate) / sum(interval_h), bps per 8 h
    funding_apr         DOUBLE,               -- 8760 x sum(rate) / sum(interval_h), decimal APR (0.1095 = 10.95 %)
    funding_apr_z       DOUBLE,               -- (apr - mean) / max(std, 0.01) over the 90 prior sessions (>= 20 valid)
    funding_apr_pctile  DOUBLE,               -- mid-rank percentile of apr in the same window, 0-100
    funding_spike       BOOLEAN,              -- funding_apr_z > 2
    basis_bps           DOUBLE,               -- (mark / index - 1) x 1e4 at the day's last event with both; premium when only that exists
    basis_source        VARCHAR,              -- mark_index | premium | composite
    mark_price          DOUBLE,               -- last mark price in the day (USD)
    index_price         DOUBLE,               -- last index price in the day (USD)
    open_interest_usd   DOUBLE,               -- last OI in the day (composite: sum when all members have it)
    members             BIGINT,               -- composite rows: venue x symbol series averaged
    weighting           VARCHAR,              -- composite rows: oi | equal
    -- perp positioning (transforms/perp_positioning.py): open interest is the day's last
    -- raw.perp_open_interest observation when there is one; composites sum their members
    open_interest_chg_usd DOUBLE,             -- open_interest_usd - the previous session's, USD
    open_interest_chg_pct DOUBLE,             -- that change / the previous session's OI x 100, %
    funding_apr_oi_weighted DOUBLE,           -- composite: sum(apr x OI) / sum(OI) over members with OI; venue: funding_apr
    liquidations_long_usd DOUBLE,             -- USD notional of liquidated LONGS in the funding day (0 when the feed had none)
    liquidations_short_usd DOUBLE,            -- USD notional of liquidated SHORTS
    account_long_short_ratio DOUBLE,          -- last all-accounts long/short ratio of the day (Binance metrics)
    funding_spike_rising_oi BOOLEAN,          -- funding_spike and open_interest_chg_usd > 0
    liquidation_cascade BOOLEAN,              -- long liquidations >= 3 x their prior-20-session mean and >= 0.5 % of OI
    perp_rv20_pct       DOUBLE,               -- realised vol of the perp: stdev of 20 session log returns of the day-close mark x sqrt(252) x 100
    funding_vol_premium_perp DOUBLE           -- funding_apr / (perp_rv20_pct / 100): funding carry per unit of the perp's own realised vol
);

-- grain: date (each date with an SPX or VIX close). Partition: (date).
CREATE TABLE IF NOT EXISTS core.vol_daily (
    date                DATE NOT NULL,
    vix                 DOUBLE,               -- VIX close (vol points)
    vix9d               DOUBLE,
    vix3m               DOUBLE,
    vix9d_vix_ratio     DOUBLE,               -- VIX9D / VIX
    vix_vix3m_ratio     DOUBLE,               -- VIX / VIX3M
    vix9d_vix_inverted  BOOLEAN,              -- VIX9D / VIX > 1 (front-end stress)
    vix_vix3m_inverted  BOOLEAN,              -- VIX / VIX3M > 1 (term structure in backwardation)
    vx1                 DOUBLE,               -- settle of the monthly VX with the nearest expiry strictly after date
    vx1_expiry          DATE,
    vx1_dte_days             BIGINT,               -- calendar days
    vx2                 DOUBLE,               -- settle of the next monthly VX
    vx2_expiry          DATE,
    vx2_dte_days             BIGINT,
    vx_cm30             DOUBLE,               -- constant-maturity 30-calendar-day VX, linear in dte, VIX = day 0
    vx1_roll_yield      DOUBLE,               -- (VX1 - VIX) / VIX, decimal (> 0 contango)
    vx2_vx1_roll_yield  DOUBLE,               -- VX2 / VX1 - 1, decimal
    spx_close           DOUBLE,
    spx_rv10_vol_pts        DOUBLE,               -- stdev of 10 daily log returns x sqrt(252) x 100 (vol points)
    spx_rv20_vol_pts        DOUBLE,               -- same over 20 returns
    iv_rv_spread_vol_pts    DOUBLE,               -- VIX - spx_rv20_vol_pts (vol points)
    spx_rsi14           DOUBLE,               -- Wilder RSI(14) of SPX closes, 0-100
    funding_apr         DOUBLE,               -- core.funding_daily composite 'ALL' funding_apr (decimal)
    funding_vol_premium DOUBLE                -- funding_apr / (spx_rv20_vol_pts / 100): carry per unit of realized vol
);

-- grain: date (each session passed in, the calendar may run ahead). Partition: (date).
-- _td = XNYS trading days, _cd = calendar days. A release on a non-session day counts from the
-- next session. Windows: next release within 2 sessions or last one at most 1 session ago.
CREATE TABLE IF NOT EXISTS core.macro_daily (
    date                DATE NOT NULL,
    days_to_cpi_td      BIGINT,               -- 0 on the release day; null if none scheduled
    days_to_cpi_cd      BIGINT,
    days_since_cpi_td   BIGINT,               -- to the last release strictly before date
    days_to_ppi_td      BIGINT,
    days_to_ppi_cd      BIGINT,
    days_since_ppi_td   BIGINT,
    days_to_fomc_td     BIGINT,
    days_to_fomc_cd     BIGINT,
    days_since_fomc_td  BIGINT,
    cpi_window          BOOLEAN NOT NULL,
    ppi_window          BOOLEAN NOT NULL,
    fomc_window         BOOLEAN NOT NULL,
    event_window        BOOLEAN NOT NULL      -- any of the above
);

-- grain: event x event_date x rel_day (rel_day in -5..+5 sessions around the release session).
-- Partition: (event, event_date). Changes are from the anchor session (rel_day -6), never from a
-- later day, so a row uses data up to its own date only. REER value usable on a date = latest
-- observation with obs date + publication lag <= date (RBUSBIS 45 d, DTWEXBGS 7 d).
CREATE TABLE IF NOT EXISTS core.macro_event_study (
    event               VARCHAR NOT NULL,     -- CPI, PPI
    event_date          DATE NOT NULL,        -- release date (raw.macro_events)
    rel_day             BIGINT NOT NULL,      -- sessions from the release session (0)
    date                DATE NOT NULL,        -- the session at rel_day
    reer_series_id      VARCHAR NOT NULL,     -- RBUSBIS (monthly BIS REER) or DTWEXBGS (daily broad dollar)
    reer                DOUBLE,               -- index level usable on date
    reer_asof           DATE,                 -- observation date of that level
    reer_chg_pct        DOUBLE,               -- reer / reer at the anchor - 1, percent
    reer_day_chg_pct    DOUBLE,               -- reer / reer on the previous session - 1, percent
    basis_bps           DOUBLE,               -- composite basis (bps)
    basis_chg_bps       DOUBLE,               -- basis_bps - anchor basis_bps
    funding_apr         DOUBLE,               -- composite funding APR (decimal)
    funding_apr_chg     DOUBLE,               -- funding_apr - anchor funding_apr (decimal APR)
    funding_measure     VARCHAR,              -- basis_bps when basis exists on the row and anchor, else funding_apr
    funding_chg         DOUBLE                -- basis_chg_bps or funding_apr_chg, per funding_measure
);
