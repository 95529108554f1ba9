-- The merges in force that rewrote their survivor's profile (or may have:
-- NULL, from before 0030), by id. A later round of a partitioned
-- de-duplication keys the new profiles of the round before's survivors, which
-- are these merges from the round's first merge on: at 10M contacts 14,795 of
-- 1,647,432. Without the index that read was a scan of every merge of the
-- round, snapshots and all: 11.5 s, while the round's parts waited for it.
CREATE INDEX merges_rewritten ON merges (id) WHERE survivor_rewritten IS NOT FALSE AND undone_at IS NULL;
