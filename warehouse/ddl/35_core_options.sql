-- Options term structure from put-call parity (built by transforms/parity.py; formulas in
-- docs/options.md). Prices in index points (_pts), rates and yields as continuously compounded
-- decimals a year (0.04 = 4 %), vol equivalents in vol points (_pct).
CREATE SCHEMA IF NOT EXISTS core;

-- grain: quote_date x root x expiry (SPX AM monthlies and SPXW PM on one date stay apart).
-- Partition: (quote_date). Expiries with no time left (at or past settlement) have no row.
CREATE TABLE IF NOT EXISTS core.parity_daily (
    quote_date            DATE NOT NULL,
    root                  VARCHAR NOT NULL,     -- SPX | SPXW
    expiry                DATE NOT NULL,
    underlying            VARCHAR NOT NULL,     -- SPX
    spot                  DOUBLE NOT NULL,      -- the chain's `Last:` price, index points
    dte_days              BIGINT NOT NULL,      -- calendar days quote_date -> expiry
    t_years               DOUBLE NOT NULL,      -- ACT/365 from the 16:00 close to settlement (AM roots 09:30)
    pairs_quoted          BIGINT NOT NULL,      -- strikes with a two-sided call AND put quote
    pairs_fit             BIGINT NOT NULL,      -- pairs the parity line was fitted on
    fit_method            VARCHAR,              -- wls (D fitted) | unit_discount (D = 1: short tenor or bad slope)
    forward_implied       DOUBLE,               -- F from C - P = D (F - K), index points
    forward_basis_pts     DOUBLE,               -- F - spot, index points
    discount_factor_implied DOUBLE,             -- D = e^{-rT}
    rate_implied          DOUBLE,               -- -ln(D) / T (null under unit_discount)
    carry_implied         DOUBLE,               -- ln(F / spot) / T = r - q
    dividend_yield_implied DOUBLE,              -- rate_implied - carry_implied
    parity_fit_rmse_pts   DOUBLE,               -- RMS of (C_mid - P_mid) - D (F - K) over the fit pairs
    cost_per_pair_pts     DOUBLE NOT NULL,      -- costs charged to one conversion / reversal
    parity_residual_conversion_max_pts DOUBLE,  -- max over pairs of C_bid - P_ask - D (F - K) - cost (> 0: arbitrage)
    parity_residual_reversal_max_pts   DOUBLE,  -- max over pairs of P_bid - C_ask + D (F - K) - cost
    parity_arb_conversions BIGINT NOT NULL,     -- pairs with a conversion residual > 0
    parity_arb_reversals  BIGINT NOT NULL,      -- pairs with a reversal residual > 0
    atm_strike            DOUBLE,               -- quoted strike nearest F
    extrinsic_atm_pts     DOUBLE,               -- mean of call and put mid minus intrinsic (vs spot) at atm_strike
    extrinsic_atm_vol_pct DOUBLE,               -- extrinsic_atm_pts / (spot sqrt(T) / sqrt(2 pi)) x 100: its vol equivalent
    short_put_strike      DOUBLE,               -- OTM put with |delta| nearest the condor's short delta (0.16)
    short_call_strike     DOUBLE,
    extrinsic_short_put_pts  DOUBLE,            -- its mid (all extrinsic: OTM), index points
    extrinsic_short_call_pts DOUBLE
);
