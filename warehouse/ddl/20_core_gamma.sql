-- Dealer gamma (built by transforms/gamma.py; conventions in docs/gamma.md), one set of rows per
-- underlying (SPX = SPX + SPXW roots, SPY, QQQ, NDX, IWM, RUT ...: transforms/conventions.py
-- OPTION_ROOTS holds each root's multiplier and AM/PM settlement; other roots are a build note).
-- Sign (default): dealers long calls, short puts (preset parameter `dealer`). Every *_gex_usd is
-- USD per 1 % move of the underlying = gamma x open interest x multiplier (100) x spot^2 x 0.01.
-- Vanna and charm exposure carry the same dealer sign: the change of the dealers' option delta, in
-- USD of the underlying (OI x multiplier x spot x greek), per +1 vol point of IV
-- (*_vanna_usd_per_vol_pt, dDelta/dsigma x 0.01) and per day passing (*_charm_usd_per_day,
-- -dDelta/dT / 365; per business day / 262 under business-day presets). Black-Scholes at spot from
-- the quote's IV (European, also for American ETF options: the GEX convention). Their hedge trades
-- the opposite amount. NULL on rows built before these columns existed (rebuild to fill).
-- `preset` names the GammaConventions used (perfiliev | default | custom); it is part of every
-- grain so two conventions can sit side by side. Partition for writes: (date, underlying, preset).
-- Expired rows (per the preset) are excluded from every sum unless the preset keeps them.
CREATE SCHEMA IF NOT EXISTS core;

-- grain: date x underlying x preset. One row per snapshot day: spot GEX, flip, walls, MACD.
CREATE TABLE IF NOT EXISTS core.gamma_daily (
    date           DATE NOT NULL,
    underlying     VARCHAR NOT NULL,
    spot           DOUBLE NOT NULL,        -- the file's `Last:` price, points of the underlying (index or ETF USD)
    net_gex_usd_per_pct   DOUBLE NOT NULL,        -- net, USD per 1 % move
    call_gex_usd_per_pct   DOUBLE NOT NULL,
    put_gex_usd_per_pct    DOUBLE NOT NULL,
    contracts      BIGINT NOT NULL,        -- option rows used (not expired)
    expired_rows   BIGINT NOT NULL,        -- rows expired under the preset (excluded unless kept)
    preset         VARCHAR NOT NULL,       -- gamma convention preset used
    quote_ts       TIMESTAMP,              -- snapshot instant, UTC
    snapshot_date  DATE,                   -- the snapshot's New York date (a Saturday file: Saturday)
    gross_gex_usd_per_pct  DOUBLE,                 -- sum of |GEX| over used rows, USD per 1 % move
    zero_gamma     DOUBLE,                 -- the chosen flip (preset: first | nearest spot), index points; NULL if none in range
    zero_gamma_flips DOUBLE[],             -- every real sign change of the profile in range, nearest to spot first, index points (|net| <= 1e-6 x the profile's peak is noise, not a flip)
    flip_count     BIGINT,
    zero_gamma_distance_pct DOUBLE,        -- (zero_gamma / spot - 1) x 100
    flip_search_low  DOUBLE,               -- range searched for flips, index points
    flip_search_high DOUBLE,
    call_wall      DOUBLE,                 -- strike with the largest |summed call GEX| (all roots/expiries)
    put_wall       DOUBLE,                 -- strike with the largest |summed put GEX|
    abs_gamma_strike DOUBLE,               -- strike with the largest |call GEX| + |put GEX|
    top_oi_strikes DOUBLE[],               -- strikes with the most open interest (calls + puts), largest first
    zero_dte_share_pct DOUBLE,             -- share of gross GEX in options expiring on `date`, %
    gex_macd_usd   DOUBLE,                 -- EMA12 - EMA26 of net_gex_usd_per_pct over stored days <= date
    gex_macd_signal_usd DOUBLE,            -- EMA9 of gex_macd_usd
    gex_macd_hist_usd DOUBLE,              -- gex_macd_usd - gex_macd_signal_usd
    net_vanna_usd_per_vol_pt DOUBLE,       -- dealers' delta change per +1 vol point, USD of underlying (used rows)
    net_charm_usd_per_day DOUBLE           -- dealers' delta change per day passing, USD of underlying
);

-- grain: date x underlying x preset x strike. Summed over the underlying's roots (SPX + SPXW) and expiries.
CREATE TABLE IF NOT EXISTS core.gamma_by_strike (
    date           DATE NOT NULL,
    underlying     VARCHAR NOT NULL,
    preset         VARCHAR NOT NULL,
    strike         DOUBLE NOT NULL,        -- index points
    call_gex_usd_per_pct   DOUBLE NOT NULL,        -- USD per 1 % move
    put_gex_usd_per_pct    DOUBLE NOT NULL,
    net_gex_usd_per_pct    DOUBLE NOT NULL,
    call_oi        BIGINT NOT NULL,        -- contracts
    put_oi         BIGINT NOT NULL,
    contracts      BIGINT NOT NULL,        -- option rows summed
    net_vanna_usd_per_vol_pt DOUBLE,       -- dealers' delta change per +1 vol point, USD of underlying
    net_charm_usd_per_day DOUBLE           -- dealers' delta change per day passing, USD of underlying
);

-- grain: date x underlying x preset x root x expiry (SPX AM and SPXW PM on one date stay apart).
CREATE TABLE IF NOT EXISTS core.gamma_by_expiry (
    date           DATE NOT NULL,
    underlying     VARCHAR NOT NULL,
    preset         VARCHAR NOT NULL,
    root           VARCHAR NOT NULL,
    expiry         DATE NOT NULL,
    dte_days       BIGINT NOT NULL,        -- calendar days from date to expiry
    t_years        DOUBLE NOT NULL,        -- time to expiry under the preset, years
    bucket         VARCHAR NOT NULL,       -- 0DTE | <=7d | <=30d | >30d (by dte_days)
    call_gex_usd_per_pct   DOUBLE NOT NULL,        -- USD per 1 % move
    put_gex_usd_per_pct    DOUBLE NOT NULL,
    net_gex_usd_per_pct    DOUBLE NOT NULL,
    call_oi        BIGINT NOT NULL,        -- contracts
    put_oi         BIGINT NOT NULL,
    contracts      BIGINT NOT NULL,
    net_vanna_usd_per_vol_pt DOUBLE,       -- dealers' delta change per +1 vol point, USD of underlying
    net_charm_usd_per_day DOUBLE           -- dealers' delta change per day passing, USD of underlying
);

-- grain: date x underlying x preset x spot_level. Net GEX if spot were spot_level (Black-Scholes
-- gamma repriced from the vendor IV; grid_points levels over [grid_low, grid_high] x spot).
CREATE TABLE IF NOT EXISTS core.gamma_profile (
    date           DATE NOT NULL,
    underlying     VARCHAR NOT NULL,
    preset         VARCHAR NOT NULL,
    spot_level     DOUBLE NOT NULL,        -- hypothetical spot, index points
    level_pct      DOUBLE NOT NULL,        -- (spot_level / spot - 1) x 100
    call_gex_usd_per_pct   DOUBLE NOT NULL,        -- USD per 1 % move, at spot_level
    put_gex_usd_per_pct    DOUBLE NOT NULL,
    net_gex_usd_per_pct    DOUBLE NOT NULL
);
