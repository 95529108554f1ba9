-- The match model each full de-duplication run estimated (dedup.Model as JSON:
-- m and u by field and level, and the prior), so that a contact written between
-- runs is scored as the run would score it. The newest version is in force.
CREATE TABLE match_models (
    version    bigserial   PRIMARY KEY,
    trained_at timestamptz NOT NULL DEFAULT now(),
    records    integer     NOT NULL,
    model      jsonb       NOT NULL
);

-- How many of a run's records held each first (kind 'f') and last (kind 'l')
-- name, by the 64-bit hash of the folded name: the term-frequency counts, not a
-- list of names.
CREATE TABLE match_name_counts (
    version   bigint   NOT NULL REFERENCES match_models (version) ON DELETE CASCADE,
    kind      "char"   NOT NULL CHECK (kind IN ('f', 'l')),
    name_hash bigint   NOT NULL,
    n         integer  NOT NULL,
    PRIMARY KEY (version, kind, name_hash)
);


-- The links and review pairs the parts of a partitioned de-duplication run
-- found (contact pairs, a < b), until the run's last step joins them. A part
-- retried writes its pairs again: the key makes that a no-op.
CREATE TABLE dedup_links (
    run_id      text             NOT NULL,
    a_id        uuid             NOT NULL,
    b_id        uuid             NOT NULL,
    probability double precision NOT NULL,
    accepted    boolean          NOT NULL,
    reason      text,
    PRIMARY KEY (run_id, a_id, b_id),
    CHECK (a_id < b_id)
);
