-- Audit layer: what arrived, what ran, what was checked, what was refused.
-- Timestamps are UTC. Nothing here is ever deleted by a run.
CREATE SCHEMA IF NOT EXISTS audit;

-- One row per landed file (grain: file_id = sha256 of the bytes). Re-landing known bytes is a no-op.
CREATE TABLE IF NOT EXISTS audit.files (
    file_id          VARCHAR NOT NULL PRIMARY KEY,  -- sha256 hex of the file's bytes
    bytes            BIGINT NOT NULL,
    original_path    VARCHAR NOT NULL,              -- where it was picked up
    landing_path     VARCHAR NOT NULL,              -- relative to $ALVH_HOME, never modified
    source           VARCHAR NOT NULL,              -- landing sub-folder (cboe_chain, cboe_index, ...)
    format           VARCHAR,                       -- detected vendor format, null when unrecognised
    table_name       VARCHAR,                       -- canonical table it loads into
    batch_id         VARCHAR NOT NULL,
    landed_at        TIMESTAMP NOT NULL,
    status           VARCHAR NOT NULL,              -- loaded | loaded_with_rejects | rejected | unrecognised | superseded
    rows_read        BIGINT,
    rows_written     BIGINT,
    rows_quarantined BIGINT,
    partitions       VARCHAR,                       -- JSON list of the partition keys this file wrote
    error            VARCHAR,                       -- `file:line: reason` when rejected
    provenance       VARCHAR                        -- JSON: {source, url, fetched_at} for fetched files
);

-- One row per flow run.
CREATE TABLE IF NOT EXISTS audit.runs (
    run_id        VARCHAR NOT NULL PRIMARY KEY,
    flow          VARCHAR NOT NULL,
    as_of         DATE,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,                 -- running | ok | warning | failed
    flow_run_id   VARCHAR,                          -- Prefect flow run id
    code_version  VARCHAR,
    params        VARCHAR,                          -- JSON
    summary       VARCHAR                           -- JSON
);

-- One row per input row refused, at parse time or by a contract (grain: file_id, table, line, check).
CREATE TABLE IF NOT EXISTS audit.quarantine (
    file_id      VARCHAR,                           -- null for rows refused by a transform contract
    source_path  VARCHAR,                           -- landing path of the file
    table_name   VARCHAR NOT NULL,                  -- table the row was meant for
    line         BIGINT,                            -- 1-based line in the source file
    raw          VARCHAR,                           -- the input text (or the row as JSON)
    reason       VARCHAR NOT NULL,
    check_name   VARCHAR NOT NULL,                  -- 'parse' or the contract check that failed
    batch_id     VARCHAR,
    as_of        DATE                               -- partition date, when known
);

-- One row per expectation result (grain: run_id, suite, expectation).
CREATE TABLE IF NOT EXISTS audit.validations (
    run_id           VARCHAR NOT NULL,
    as_of            DATE,
    table_name       VARCHAR NOT NULL,
    suite            VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    column_name      VARCHAR,
    severity         VARCHAR NOT NULL,               -- critical | warning
    success          BOOLEAN NOT NULL,
    element_count    BIGINT,
    unexpected_count BIGINT,
    observed         VARCHAR,                        -- JSON of the observed value / details
    validated_at     TIMESTAMP NOT NULL,
    kind             VARCHAR,                        -- schema | freshness | volume | key | contract | drift | jump | idle
    data_docs        VARCHAR                         -- Data Docs page of the result, relative to $ALVH_HOME
);
