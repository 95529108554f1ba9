-- What de-duplication compares of every active contact, narrow and in one
-- place: a row for its profile (source '') and a row for each source record
-- it holds, those of contacts merged into it included (holder_id is the
-- active contact at the top of the record's merge tree). vals are the values
-- of dedup.MatchFields in that order ('' for none): changing that list needs
-- a migration that fills this table again, as this one does below.
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

-- Filled here for the contacts already stored, in two statements (a batched
-- backfill in Go took 9 minutes at 800,000 contacts): the profiles of active
-- contacts, then every source record by the active contact at the top of its
-- merge tree. The fields are dedup.MatchFields as they are today. The email's
-- source is its own or, in rows written since field_provenance names a shared
-- origin under "_" (postgres/provenance.go), that one.
INSERT INTO match_values (holder_id, source, ref, created_at, email_source, at, vals)
SELECT c.id, '', c.id::text, c.created_at,
    coalesce(CASE WHEN c.field_provenance ? 'email'
        THEN coalesce(c.field_provenance->'email'->>'source', c.field_provenance->'_'->>'source') END, ''), c.updated_at,
    ARRAY[coalesce(c.email::text, ''), coalesce(c.phone::text, ''), coalesce(c.first_name::text, ''), coalesce(c.last_name::text, ''),
          coalesce(c.birth_date::text, ''), coalesce(c.postal_code::text, ''), coalesce(c.city::text, ''), coalesce(c.address::text, '')]
FROM contacts c WHERE c.status = 'active';

WITH RECURSIVE tree (id, root) AS (
    SELECT id, id FROM contacts WHERE status = 'active'
    UNION ALL
    SELECT c.id, t.root FROM contacts c JOIN tree t ON c.merged_into = t.id AND c.status = 'merged')
INSERT INTO match_values (holder_id, source, ref, created_at, email_source, at, vals)
SELECT t.root, s.source, s.ref, NULL, '', s.observed_at,
    ARRAY[coalesce(s.fields->>'email', ''), coalesce(s.fields->>'phone', ''), coalesce(s.fields->>'first_name', ''), coalesce(s.fields->>'last_name', ''),
          coalesce(s.fields->>'birth_date', ''), coalesce(s.fields->>'postal_code', ''), coalesce(s.fields->>'city', ''), coalesce(s.fields->>'address', '')]
FROM tree t JOIN source_records s ON s.contact_id = t.id;
