-- Every record a list or a CRM gave for a contact, as standardized (its fields),
-- kept beside the golden profile. The profile keeps one value per field; these
-- keep the rest: the phone an older row had, the spelling another row used. The
-- de-duplication compares them too, so evidence that the profile's survivorship
-- overwrote still links people. One row per source record: importing a file
-- again, or a CRM re-sending a contact, updates it in place. Merges move them to
-- the survivor; erasure deletes them; the export lists them.
CREATE TABLE source_records (
    source      text        NOT NULL,
    ref         text        NOT NULL, -- import row (file hash:row:n), CRM object (provider:contact:id)
    contact_id  uuid        NOT NULL REFERENCES contacts (id),
    fields      jsonb       NOT NULL,
    observed_at timestamptz NOT NULL,
    PRIMARY KEY (source, ref)
);
CREATE INDEX source_records_contact ON source_records (contact_id);
