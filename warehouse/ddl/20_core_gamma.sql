-- Dealer gamma. Convention (default): dealers long calls, short puts; GEX in USD per 1 % move of
-- the underlying = gamma x open interest x 100 x spot^2 x 0.01.
CREATE SCHEMA IF NOT EXISTS core;

-- grain: date x underlying.
CREATE TABLE IF NOT EXISTS core.gamma_daily (
    date           DATE NOT NULL,
    underlying     VARCHAR NOT NULL,
    spot           DOUBLE NOT NULL,
    spot_gex_usd   DOUBLE NOT NULL,        -- net, USD per 1 % move
    call_gex_usd   DOUBLE NOT NULL,
    put_gex_usd    DOUBLE NOT NULL,
    contracts      BIGINT NOT NULL,        -- option rows used (not expired)
    expired_rows   BIGINT NOT NULL,        -- rows excluded because already expired
    preset         VARCHAR NOT NULL        -- gamma convention preset used
);
