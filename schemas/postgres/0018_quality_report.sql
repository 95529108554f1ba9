-- What the data-quality report and the metrics read that no other table keeps.

-- Repairs and warnings found while standardizing incoming records (an email's
-- display name removed, a phone read in a region the record did not state, an
-- ambiguous date), counted per day: the values were kept, so quarantine does
-- not hold them. Counted in the transaction that writes the contact, only when
-- the record changed it, so a retried batch or a redelivered webhook counts once.
CREATE TABLE quality_findings (
    day    date   NOT NULL,
    source text   NOT NULL,
    field  text   NOT NULL,
    code   text   NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (day, source, field, code)
);

-- The completeness distribution of active contacts, by band of ten points
-- (0 = 0-9 … 10 = 100), taken by each full Cleaning pass: the report compares
-- today's with the one 30 days before.
CREATE TABLE completeness_snapshots (
    day      date    NOT NULL,
    band     smallint NOT NULL CHECK (band BETWEEN 0 AND 10),
    contacts integer NOT NULL,
    PRIMARY KEY (day, band)
);

-- Each de-duplication run's figures (the Cleaning's Resolve activity), keyed by
-- the workflow run: a retried activity rewrites its own row.
CREATE TABLE dedup_runs (
    run_id      text        PRIMARY KEY,
    finished_at timestamptz NOT NULL,
    contacts    integer     NOT NULL,
    comparisons integer     NOT NULL,
    links       integer     NOT NULL,
    merged      integer     NOT NULL,
    review      integer     NOT NULL,
    rounds      integer     NOT NULL
);
CREATE INDEX dedup_runs_finished ON dedup_runs (finished_at DESC);
