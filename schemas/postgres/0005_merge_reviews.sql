-- Pairs of contacts de-duplication was unsure about, for a person to decide; a
-- decision is remembered and applied by later runs.
CREATE TABLE merge_reviews (
    a_id         uuid             NOT NULL REFERENCES contacts (id),
    b_id         uuid             NOT NULL REFERENCES contacts (id),
    probability  double precision NOT NULL,
    status       text             NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'merge', 'keep_apart')),
    decided_by   text,
    decided_at   timestamptz,
    created_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (a_id, b_id),
    CHECK (a_id < b_id)
);
CREATE INDEX merge_reviews_pending ON merge_reviews (probability DESC) WHERE status = 'pending';
CREATE INDEX merges_survivor ON merges (survivor_id) WHERE undone_at IS NULL;
