-- "steve" stood for stephen in some processes and steven in others: dedup's
-- nicknames were built by ranging over a map, so a contact's blocking keys for
-- the name depended on the process that wrote them. Now it stands for stephen,
-- the first listed; the migrator recomputes the keys of the contacts with the
-- name in their profile or a record they hold (postgres.keyBackfills).
INSERT INTO backfills (name) VALUES ('contact_keys_steve') ON CONFLICT DO NOTHING;
