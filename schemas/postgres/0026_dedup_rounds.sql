-- A later round of a partitioned de-duplication scores, in each part, the
-- blocks of the keys that the round before's survivors hold. Each part found
-- those survivors in merges, reading every merge row of the round (its
-- snapshot makes a row a kilobyte or more): parts times merges, 85 s of the
-- database's time at 3M records and quadratic in the list's size. The first
-- part of a round writes them here once (postgres.roundSurvivors); the others
-- read one row. Rows older than a day are deleted by the next round that
-- writes one.
CREATE TABLE dedup_rounds (
    from_merge bigint PRIMARY KEY,         -- the first merge of the round before
    survivors  uuid[]      NOT NULL,       -- the survivors of its merges still in force
    written_at timestamptz NOT NULL DEFAULT now()
);
