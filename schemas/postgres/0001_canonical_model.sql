-- Kith canonical customer model. See schemas/README.md for every column.

CREATE TABLE contacts (
    id               uuid PRIMARY KEY,
    email            text,
    phone            text,
    first_name       text,
    last_name        text,
    birth_date       date,
    country          char(2),
    city             text,
    postal_code      text,
    -- {"<field>": {"source": "...", "ref": "...", "at": "...", "imputed": true, "method": "...", "confidence": 0.8}}
    field_provenance jsonb       NOT NULL DEFAULT '{}',
    completeness     smallint,
    status           text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'merged', 'erased')),
    merged_into      uuid REFERENCES contacts (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_updated_at ON contacts (updated_at);

-- Every way a person is recognised. (kind, value) is unique: one email, phone,
-- CRM id or anonymous cookie id belongs to one contact.
CREATE TABLE identities (
    kind        text        NOT NULL CHECK (kind IN ('email', 'phone', 'crm', 'anonymous')),
    namespace   text        NOT NULL DEFAULT '', -- CRM provider for kind 'crm'
    value       text        NOT NULL,
    contact_id  uuid        NOT NULL REFERENCES contacts (id),
    source      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, namespace, value)
);
CREATE INDEX identities_contact ON identities (contact_id);

-- Consent ledger: append-only; the current state per purpose is the latest row.
CREATE TABLE consents (
    id            bigserial PRIMARY KEY,
    contact_id    uuid        NOT NULL REFERENCES contacts (id),
    purpose       text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('granted', 'withdrawn', 'pending')),
    text_version  text        NOT NULL,
    source        text        NOT NULL,
    source_ref    text        NOT NULL,
    ip            inet,
    user_agent    text,
    recorded_at   timestamptz NOT NULL,
    UNIQUE (contact_id, purpose, source_ref)
);
CREATE INDEX consents_current ON consents (contact_id, purpose, recorded_at DESC);

-- Behavioural events: append-only, idempotent by the sender's event id.
CREATE TABLE events (
    event_id      text PRIMARY KEY,
    contact_id    uuid REFERENCES contacts (id),
    anonymous_id  text,
    type          text        NOT NULL,
    source        text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    properties    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_contact ON events (contact_id, occurred_at);
CREATE INDEX events_anonymous ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;
CREATE INDEX events_received ON events (received_at);

-- Raw form submissions, idempotent by submission id.
CREATE TABLE form_submissions (
    submission_id text PRIMARY KEY,
    form          text        NOT NULL,
    contact_id    uuid REFERENCES contacts (id),
    anonymous_id  text,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- Purchases (CRM deals), one row per CRM object.
CREATE TABLE orders (
    id            uuid PRIMARY KEY,
    contact_id    uuid REFERENCES contacts (id),
    provider      text        NOT NULL,
    external_id   text        NOT NULL,
    amount_cents  bigint,
    currency      char(3),
    status        text,
    ordered_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX orders_updated_at ON orders (updated_at);

-- Support tickets, one row per CRM object.
CREATE TABLE tickets (
    id            uuid PRIMARY KEY,
    contact_id    uuid REFERENCES contacts (id),
    provider      text        NOT NULL,
    external_id   text        NOT NULL,
    subject       text,
    status        text,
    opened_at     timestamptz,
    closed_at     timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX tickets_updated_at ON tickets (updated_at);

-- Merges of duplicate contacts: who, when, why; reversible (snapshot of the loser).
CREATE TABLE merges (
    id             bigserial PRIMARY KEY,
    survivor_id    uuid        NOT NULL REFERENCES contacts (id),
    merged_id      uuid        NOT NULL REFERENCES contacts (id),
    score          double precision,
    reason         text        NOT NULL,
    actor          text        NOT NULL,
    snapshot       jsonb       NOT NULL,
    merged_at      timestamptz NOT NULL DEFAULT now(),
    undone_at      timestamptz
);

-- Input that could not be accepted, whole, with its violations. Stored once per
-- (source, source_ref) so a redelivery or re-import does not duplicate it.
CREATE TABLE quarantine (
    id            bigserial PRIMARY KEY,
    source        text        NOT NULL,
    source_ref    text        NOT NULL,
    payload       bytea       NOT NULL, -- byte for byte, even binary junk
    violations    jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    UNIQUE (source, source_ref)
);

-- Who did what to which record (never the values themselves).
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    entity      text        NOT NULL,
    entity_id   text        NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

-- How far each warehouse table has been loaded.
CREATE TABLE load_watermarks (
    target      text PRIMARY KEY,
    watermark   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Import progress, committed in the same transaction as the rows it covers.
CREATE TABLE import_checkpoints (
    import_id    text PRIMARY KEY,
    byte_offset  bigint      NOT NULL,
    row_count    integer     NOT NULL,
    created      integer     NOT NULL,
    updated      integer     NOT NULL,
    unchanged    integer     NOT NULL,
    quarantined  integer     NOT NULL,
    done         boolean     NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
