-- Whether a merge rewrote its survivor's profile (its golden record was not
-- the profile as it was). A later round of a partitioned de-duplication
-- scores the new profiles of the round before's survivors only: a survivor
-- whose merges kept its profile has nothing new to score. At 10M contacts the
-- second round keyed 286,206 survivors' profiles, of which at most the 14,795
-- that merges rewrote were new, and its parts waited 55 s for them; with this
-- column the whole round took 36 s. NULL for merges recorded before this
-- column, read as "maybe".
ALTER TABLE merges ADD COLUMN survivor_rewritten boolean;
