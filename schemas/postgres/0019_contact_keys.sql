-- Every active contact's blocking keys (dedup.BlockingKeys of its profile and of
-- the source records it holds, those of contacts merged into it included),
-- maintained in the transaction of every write that changes them: a new record
-- finds its candidates by index, and a full de-duplication can be split by key.
-- Merged and archived contacts have none: they are no candidates.
CREATE TABLE contact_keys (
    key        bigint NOT NULL,
    contact_id uuid   NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (key, contact_id)
);
CREATE INDEX contact_keys_contact ON contact_keys (contact_id);

-- Data filled by Go after a migration (keys need Go's rules), in batches that
-- resume at their cursor: the migrator runs every one not done.
CREATE TABLE backfills (
    name    text        PRIMARY KEY,
    cursor  text        NOT NULL DEFAULT '',
    done_at timestamptz
);
INSERT INTO backfills (name) VALUES ('contact_keys');
