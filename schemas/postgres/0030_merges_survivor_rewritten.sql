-- Whether a merge rewrote its survivor's profile (its golden record was not
-- the profile as it was). A later round of a partitioned de-duplication
-- scores the new profiles of the round before's survivors only: a survivor
-- whose merges kept its profile has nothing new to score, and at 10M contacts
-- the round read and keyed 286,206 survivors' profiles for 14,795 that were
-- new (55 s before its parts could start). NULL for merges recorded before
-- this column, read as "maybe".
ALTER TABLE merges ADD COLUMN survivor_rewritten boolean;
