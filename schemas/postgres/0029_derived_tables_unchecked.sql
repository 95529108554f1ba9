-- contact_keys and match_values are derived from contacts and source_records:
-- their only writers are the store's (refreshKeys, foldKeys, the values
-- writers), each in the transaction of the contact write and each only for
-- active contacts, and an erasure deletes them with the person's contacts
-- (postgres.erasureDeletes). Their foreign keys checked every row written
-- against contacts, locking the contact's row: inserting 200,000 blocking keys
-- of a 10M list took 2.6 s with the check and 1.4 s without, and a
-- de-duplication run writes millions (2.5 million keys gained and 1.65 million
-- match values moved by the merges of 10M records; 80 million keys at import).
ALTER TABLE contact_keys DROP CONSTRAINT IF EXISTS contact_keys_contact_id_fkey;
ALTER TABLE match_values DROP CONSTRAINT IF EXISTS match_values_holder_id_fkey;
