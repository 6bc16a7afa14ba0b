-- Crowded-unwind signal and ALVH recommendations (transforms/signals.py, transforms/alvh.py; method,
-- weights and parameters in docs/alvh.md). Every row for night D is built from rows dated <= D
-- (point in time). Sub-scores are 0-1; score points (_score_pts) and the score are 0-100. Decimals
-- unless the name says _pct (percent), _pts (index points), _vol_pts (vol points), _usd, or
-- _usd_per_pct (GEX: USD per 1 % move). Returns are fractions named _ret.
CREATE SCHEMA IF NOT EXISTS core;

-- grain: date (each session with an SPX close or a gamma row). Partition: (date).
CREATE TABLE IF NOT EXISTS core.signals_daily (
    date                  DATE NOT NULL,
    spx_close             DOUBLE,           -- core.vol_daily SPX close (gamma spot when missing), index points
    spx_ret               DOUBLE,           -- close / previous row's close - 1 (fraction)
    spx_ret5              DOUBLE,           -- close / close 5 rows back - 1 (fraction)
    -- dealer gamma (core.gamma_daily, preset in params_json)
    net_gex_usd_per_pct          DOUBLE,           -- net spot GEX, USD per 1 % move
    gex_z                 DOUBLE,           -- (GEX - mean) / max(std, floor) over the 60 rows strictly before (>= 20)
    gex_negative          BOOLEAN,          -- net_gex_usd_per_pct < 0
    zero_gamma            DOUBLE,           -- the flip, index points
    spot_below_flip       BOOLEAN,          -- spot < zero_gamma (negative-gamma side)
    gex_macd_hist_usd     DOUBLE,           -- GEX MACD histogram
    gex_macd_bearish      BOOLEAN,          -- histogram < 0 (MACD below its signal)
    gex_macd_cross_down   BOOLEAN,          -- histogram turned negative today
    gamma_sharp           BOOLEAN,          -- gex_negative and gex_z <= gamma_sharp_z (-1)
    gamma_score           DOUBLE,           -- 0.4 clip(-z/2) + 0.2 negative + 0.2 below flip + 0.2 MACD bearish (0-1)
    -- funding (core.funding_daily composite ALL)
    funding_apr           DOUBLE,           -- decimal APR
    funding_apr_z         DOUBLE,           -- vs the 90 prior sessions
    funding_apr_pctile    DOUBLE,           -- 0-100
    funding_spike         BOOLEAN,          -- z > 2
    funding_elevated      BOOLEAN,          -- z >= funding_elevated_z (1): above its history
    funding_normal        BOOLEAN,          -- z < funding_normal_z (0.5)
    funding_score         DOUBLE,           -- 0.5 clip(z/2) + 0.5 clip((pctile-50)/50) (0-1)
    -- breadth (core.breadth_daily)
    breadth_exchange      VARCHAR,
    ad_divergence_bearish BOOLEAN,
    ad_divergence_recent  BIGINT,           -- bearish divergences in the last 10 rows (today included)
    mcclellan_osc         DOUBLE,
    breadth_score         DOUBLE,           -- 0.5 (any recent divergence) + 0.5 clip(-osc/50) (0-1)
    -- volatility (core.vol_daily)
    vix                   DOUBLE,           -- VIX close, vol points
    vix_vix3m_ratio       DOUBLE,
    vix_vix3m_inverted    BOOLEAN,
    vx1_roll_yield        DOUBLE,           -- (VX1 - VIX) / VIX, decimal
    volatility_score      DOUBLE,           -- 0.5 clip((ratio-0.90)/0.15) + 0.5 clip(-roll/0.05) (0-1)
    -- events (core.macro_daily)
    next_event            VARCHAR,          -- CPI | PPI | FOMC with the fewest sessions to go
    days_to_event_td      BIGINT,           -- sessions to it (0 = today)
    cpi_soon              BOOLEAN,          -- release within event_days (1) sessions
    ppi_soon              BOOLEAN,
    fomc_soon             BOOLEAN,
    events_score          DOUBLE,           -- 1 if any release soon, else 0
    -- score (coverage-aware, docs/alvh.md): points = 100 x weight x sub-score / total weight; a
    -- missing component is neutral (0 points); they add up to unwind_score
    gamma_score_pts             DOUBLE,
    funding_score_pts           DOUBLE,
    breadth_score_pts           DOUBLE,
    volatility_score_pts        DOUBLE,
    events_score_pts            DOUBLE,
    weight_available      DOUBLE,           -- sum of the weights of the components present (1 = all)
    components_available  BIGINT,
    components_missing    VARCHAR,          -- comma list of absent components ('' when none)
    unwind_score          DOUBLE,           -- 0-100 = unwind_score_raw x coverage; null when no component is present
    coverage              DOUBLE,           -- share of the total weight present (0-1)
    unwind_score_raw      DOUBLE,           -- weighted mean of the components present (before the coverage shrink)
    convergence           BOOLEAN,          -- gamma_sharp and funding_elevated
    shock                 BOOLEAN,          -- spx_ret <= -0.02 or spx_ret5 <= -0.04
    regime                VARCHAR,          -- calm | crowded | unwinding | recovery (state machine, docs/alvh.md)
    regime_prev           VARCHAR,          -- the regime before the current one
    regime_sessions       BIGINT,           -- sessions in the current regime, today included
    regime_reason         VARCHAR,          -- why the state machine moved today ('held' otherwise)
    params_json           VARCHAR           -- SignalParams used (JSON)
);

-- grain: as_of x regime x horizon_sessions (regime also 'all'). Partition: (as_of).
-- Entries are earlier sessions in that regime whose horizon ended on or before as_of.
CREATE TABLE IF NOT EXISTS core.signal_evidence (
    as_of                 DATE NOT NULL,
    regime                VARCHAR NOT NULL,
    horizon_sessions      BIGINT NOT NULL,
    n_obs                 BIGINT NOT NULL,  -- entries with a fully known outcome
    first_entry           DATE,
    last_entry            DATE,
    fwd_ret_pct_mean      DOUBLE,           -- SPX close-to-close over the horizon, percent
    fwd_rv_pct_mean       DOUBLE,           -- realized vol of the horizon's daily log returns, annualised, vol points
    max_drawdown_pct_mean DOUBLE,           -- worst close vs running peak from the entry close, percent (<= 0)
    max_drawdown_pct_worst DOUBLE,
    ic_hit_rate           DOUBLE,           -- share of entries whose closes stayed inside entry x (1 +- sigma x VIX x sqrt(h/252))
    ic_be_sigma           DOUBLE            -- sigma of those break-evens
);

-- grain: as_of (one row per night). Partition: (as_of). status: ok | untrusted | no_chain | no_condor.
-- Strikes and prices in index points (VIX points for the calendar); _usd totals for the night.
CREATE TABLE IF NOT EXISTS core.recommendations (
    as_of                 DATE NOT NULL,
    status                VARCHAR NOT NULL,
    skip_reason           VARCHAR,
    structure             VARCHAR,          -- iron_condor[+vix_call_calendar][+vx_futures]
    regime                VARCHAR,          -- core.signals_daily.regime
    unwind_score          DOUBLE,           -- core.signals_daily.unwind_score
    convergence           BOOLEAN,
    spot                  DOUBLE,           -- SPX chain `Last:`
    vix                   DOUBLE,           -- VIX close (signals) or VIX chain `Last:`
    root                  VARCHAR,          -- SPXW | SPX
    expiry                DATE,
    dte_days              BIGINT,
    short_put             DOUBLE,
    long_put              DOUBLE,
    short_call            DOUBLE,
    long_call             DOUBLE,
    put_width_pts         DOUBLE,
    call_width_pts        DOUBLE,
    credit_pts            DOUBLE,           -- per condor: sells at bid - buys at ask
    max_loss_pts          DOUBLE,           -- per condor: widest wing - credit
    be_low                DOUBLE,           -- short put - credit
    be_high               DOUBLE,           -- short call + credit
    be_low_dist_pct       DOUBLE,           -- (be_low / spot - 1) x 100
    be_high_dist_pct      DOUBLE,
    pop                   DOUBLE,           -- P(be_low < S_T < be_high), lognormal with the short strikes' IV, decimal
    expected_move_pts     DOUBLE,           -- ATM straddle mid, same expiry
    expected_move_pct     DOUBLE,
    widen_pct             DOUBLE,           -- applied widening, % of the spot-to-break-even distance (0 = none)
    base_short_put        DOUBLE,           -- delta-target strikes before widening
    base_short_call       DOUBLE,
    contracts             BIGINT,           -- condors tonight
    size_mult             DOUBLE,           -- regime share of the risk budget
    size_capped           BOOLEAN,          -- cut to last night's size (unwinding: never size up)
    credit_usd            DOUBLE,           -- contracts x credit x 100
    max_loss_usd          DOUBLE,           -- contracts x max loss x 100
    risk_budget_usd       DOUBLE,           -- capital x max_risk_pct x size_mult
    risk_used_usd         DOUBLE,           -- risk tonight: worst loss of all layers on the stress grid (= min of core.recommendation_payoff.total_pnl_usd, as a positive figure)
    risk_used_pct         DOUBLE,           -- of capital
    risk_condor_usd       DOUBLE,           -- condor max loss + calendar debit (the former risk_used_usd)
    stress_worst_spx      DOUBLE,           -- SPX level of the worst point of the stress grid
    stress_range_pct      DOUBLE,           -- the stress grid: SPX spot +- this % (VIX and VX under the scenario)
    calendar_strike       DOUBLE,           -- VIX call calendar (null when not elevated)
    calendar_near_expiry  DATE,
    calendar_far_expiry   DATE,
    calendar_forward      DOUBLE,           -- VX forward of the near expiry
    calendar_forward_source VARCHAR,        -- vx_futures | parity
    calendar_debit_pts    DOUBLE,           -- far ask - near bid, per calendar
    calendar_contracts    BIGINT,
    calendar_cost_usd     DOUBLE,
    vx_expiry             DATE,             -- second engine: long front VX (rolled before vx_roll_dte)
    vx_price              DOUBLE,           -- settle
    vx_contracts          BIGINT,
    vx_budget_usd         DOUBLE,
    vx_risk_per_contract_usd DOUBLE,        -- max(VX - VIX, floor) x 1000
    widened_root          VARCHAR,          -- the widened condor still open (carried night to night)
    widened_expiry        DATE,
    widened_short_put     DOUBLE,
    widened_long_put      DOUBLE,
    widened_short_call    DOUBLE,
    widened_long_call     DOUBLE,
    widened_contracts     BIGINT,           -- condors opened on the widened night
    roll                  BOOLEAN,          -- roll guidance tonight (funding normalised after a widened period)
    roll_expiry           DATE,
    roll_from_short_put   DOUBLE,
    roll_to_short_put     DOUBLE,
    roll_from_short_call  DOUBLE,
    roll_to_short_call    DOUBLE,
    rationale             VARCHAR,          -- JSON list of {choice, metric, value, rule}
    params_json           VARCHAR           -- AlvhParams used (JSON)
);

-- grain: as_of x layer x leg_no. Partition: (as_of). Every option leg is a row of that night's
-- raw.option_quotes (root, expiry, strike, right); a future leg a row of raw.vx_futures.
CREATE TABLE IF NOT EXISTS core.recommendation_legs (
    as_of                 DATE NOT NULL,
    layer                 VARCHAR NOT NULL, -- condor | calendar | vx_hedge | roll
    leg_no                BIGINT NOT NULL,
    instrument            VARCHAR NOT NULL, -- option | future
    underlying            VARCHAR NOT NULL, -- SPX | VIX | VX
    root                  VARCHAR,
    expiry                DATE,
    strike                DOUBLE,
    "right"               VARCHAR,          -- C | P (null for futures)
    side                  VARCHAR NOT NULL, -- sell | buy
    ratio                 BIGINT,           -- per structure unit
    quantity              BIGINT,           -- contracts tonight
    bid                   DOUBLE,
    ask                   DOUBLE,
    mid                   DOUBLE,
    price                 DOUBLE,           -- sell at bid, buy at ask; futures at settle
    iv                    DOUBLE,
    delta                 DOUBLE,
    delta_source          VARCHAR,          -- vendor | model (Black-Scholes from IV)
    dte_days              BIGINT,
    t_years               DOUBLE,
    multiplier            DOUBLE,           -- USD per point per contract (100 options, 1000 VX)
    note                  VARCHAR
);

-- grain: as_of x spx_level. Partition: (as_of). P&L at the condor's expiry (exact, piecewise linear
-- in the stored legs); hedges under the scenario VIX = VIX0 x (S / S0)^-elasticity (docs/alvh.md).
CREATE TABLE IF NOT EXISTS core.recommendation_payoff (
    as_of                 DATE NOT NULL,
    spx_level             DOUBLE NOT NULL,
    level_pct             DOUBLE,
    vix_level             DOUBLE,
    condor_pnl_usd        DOUBLE,
    calendar_pnl_usd      DOUBLE,
    vx_pnl_usd            DOUBLE,
    total_pnl_usd         DOUBLE
);
