-- The pairs a reviewer decided. Each part of a partitioned de-duplication
-- reads the decisions among its contacts: with hundreds of thousands of
-- contacts a part, that was their ids sent as an array and a scan of every
-- review pair for each part (1,640 reads, 30 s at 10M contacts, none of them
-- finding a decision), where a list has few decided pairs and a part can read
-- them all (MatchCandidates' decisions, postgres.decisionsAmong).
CREATE INDEX merge_reviews_decided ON merge_reviews (a_id, b_id) WHERE status <> 'pending';
