-- Erasure (right to be forgotten). An erased person's identifiers are kept
-- only as keyed hashes (HMAC-SHA256 under the link key), so a later form,
-- import, CRM sync or identify call naming them is refused and counted, and
-- nothing in the table says who they were.
CREATE TABLE erased_identities (
    hash            text        PRIMARY KEY, -- hex HMAC of kind, namespace and value
    kind            text        NOT NULL,    -- email, phone, crm, user
    erased_at       timestamptz NOT NULL DEFAULT now(),
    refused         integer     NOT NULL DEFAULT 0,    -- re-ingestions refused since
    refused_by      jsonb       NOT NULL DEFAULT '{}', -- the same, by path: form, identify, import, crm
    last_refused_at timestamptz
);

ALTER TABLE import_checkpoints ADD COLUMN refused integer NOT NULL DEFAULT 0; -- rows of erased people, dropped

-- One row per erasure: who asked, when, and the receipt (what was removed
-- where and when, counts only: no personal data).
CREATE TABLE erasures (
    contact_id   uuid        PRIMARY KEY, -- the erased contact's opaque id (no row in contacts any more)
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    receipt      jsonb       NOT NULL DEFAULT '{}'
);

-- Rows an erasure deleted from PostgreSQL that BigQuery still holds until the
-- erasure's warehouse step deletes them there: the load's check counts them
-- as expected, not as extra rows.
CREATE TABLE warehouse_erasures (
    contact_id  uuid        NOT NULL,
    table_name  text        NOT NULL, -- the star-schema table
    key         text        NOT NULL, -- the row's key there
    removed_at  timestamptz,          -- deleted from BigQuery
    PRIMARY KEY (table_name, key)
);
CREATE INDEX warehouse_erasures_pending ON warehouse_erasures (table_name) WHERE removed_at IS NULL;
