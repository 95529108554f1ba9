-- What de-duplication compares of every active contact, narrow and in one
-- place: a row for its profile (source '') and a row for each source record
-- it holds, those of contacts merged into it included (holder_id is the
-- active contact at the top of the record's merge tree). vals are the values
-- of dedup.MatchFields in that order ('' for none): changing that list needs
-- a migration that empties this table and resets the backfill below.
--
-- Maintained in the transaction of every write that changes them, beside
-- contact_keys: a part of a de-duplication run reads its contacts here by
-- index, where it read the whole contacts table (1,346 bytes a row, 87% of it
-- provenance), walked the merge tree and pulled the values out of each source
-- record's JSON: two thirds of the database's time in a run of 3M records.
-- Merged and archived contacts hold nothing here.
CREATE TABLE match_values (
    holder_id    uuid        NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    source       text        NOT NULL,
    ref          text        NOT NULL,
    -- the profile's: the contact's created_at, and the email's source
    created_at   timestamptz,
    email_source text        NOT NULL DEFAULT '',
    -- the profile's updated_at; a source record's observed_at
    at           timestamptz NOT NULL,
    vals         text[]      NOT NULL,
    PRIMARY KEY (source, ref)
);
CREATE INDEX match_values_holder ON match_values (holder_id);

-- Filled for the contacts already stored by the contact keys' backfill,
-- which writes both: it runs again from the start.
UPDATE backfills SET cursor = '', done_at = NULL WHERE name = 'contact_keys';
