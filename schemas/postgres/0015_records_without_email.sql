-- A contact may come without an email (an imported row with only a phone): it is
-- known by its source record, an identity of kind 'record' whose value is a
-- hash of the row's standardized values, so importing the same file again finds
-- it instead of making another. De-duplication, not the import, links it to the
-- person's other records: households share phones, so a phone alone never merges.
ALTER TABLE identities DROP CONSTRAINT identities_kind_check;
ALTER TABLE identities ADD CONSTRAINT identities_kind_check CHECK (kind IN ('email', 'phone', 'crm', 'anonymous', 'user', 'record'));

-- An address with a non-ASCII local part (RFC 6531) needs a sender that speaks
-- SMTPUTF8; the flag is derived from the value, so it can never disagree with it.
ALTER TABLE contacts ADD COLUMN email_smtputf8 boolean
    GENERATED ALWAYS AS (split_part(email, '@', 1) ~ '[^\x01-\x7f]') STORED;

-- A row with a refused value is quarantined with its reasons and still imports
-- its other values; skipped counts the rows that made no contact at all.
ALTER TABLE import_checkpoints ADD COLUMN skipped integer NOT NULL DEFAULT 0;

-- Why a pair whose probability passes the accept threshold still waits for a
-- person (a rule held it back); empty for pairs below the threshold.
ALTER TABLE merge_reviews ADD COLUMN reason text;
