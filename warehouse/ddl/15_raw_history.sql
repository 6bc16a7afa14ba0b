-- Raw history tables that only the research/history readers fill (sources/dix.py ...).
-- Same lineage columns as every raw table: batch_id, file_id (audit.files), 1-based line.
CREATE SCHEMA IF NOT EXISTS raw;

-- grain: date. Partition: (date) - SqueezeMetrics appends daily and does not revise.
CREATE TABLE IF NOT EXISTS raw.dix_gex (
    date           DATE NOT NULL,
    price          DOUBLE NOT NULL,        -- S&P 500 close as the vendor prints it
    dix            DOUBLE,                 -- dark index, a fraction (0.45 = 45 %)
    gex_usd        DOUBLE,                 -- vendor's dealer gamma exposure, dollars, signed
    batch_id       VARCHAR,
    file_id        VARCHAR,
    line           BIGINT
);
