-- Plausibility findings (expectations/plausibility.py): what a new partition did that the
-- warehouse's own history says it cannot (scale, units, open interest vs volume, spot vs index).
-- grain: one row per finding; a file loaded again replaces its findings. Critical = untrusted night.
CREATE TABLE IF NOT EXISTS audit.findings (
    as_of        DATE,                               -- the night (partition date) the finding is about
    table_name   VARCHAR NOT NULL,
    check_name   VARCHAR NOT NULL,
    severity     VARCHAR NOT NULL,                   -- critical | warning
    file_id      VARCHAR,                            -- null when found by the nightly audit
    file         VARCHAR,                            -- the file as the user named it
    line         BIGINT,                             -- first offending line, when rows are named
    reason       VARCHAR NOT NULL,
    rows         VARCHAR,                            -- JSON list of offending lines (first 50)
    row_count    BIGINT,
    found_at     TIMESTAMP NOT NULL,
    stage        VARCHAR NOT NULL                    -- ingest | audit
);
