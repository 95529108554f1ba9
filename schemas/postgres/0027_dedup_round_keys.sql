-- A later round of a partitioned de-duplication (since the workflow's
-- dedup-new-profiles version) scores only the round before's survivors' new
-- golden profiles: a source record's blocking keys and values do not change
-- when its contact is merged, so its pairs were scored already. The first part
-- of a round writes the round's row in dedup_rounds (survivors left empty) and,
-- in the same transaction, the blocking keys of each survivor's profile whose
-- values are none of its held records' (postgres.roundProfiles); each part
-- reads its range of keys. Rows go with their round's.
CREATE TABLE dedup_round_keys (
    from_merge  bigint NOT NULL REFERENCES dedup_rounds ON DELETE CASCADE,
    key         bigint NOT NULL,
    survivor_id uuid   NOT NULL,
    PRIMARY KEY (from_merge, key, survivor_id)
);
