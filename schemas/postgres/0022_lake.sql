-- The raw lake's spool: every inbound payload as it arrived, kept here (on the
-- request path, durable before the sender is answered) until the LakeArchive
-- workflow has written it to the bucket. A line belongs to one object once
-- sealed (object), and is archived once that object is uploaded (archived_at);
-- archived lines are trimmed. keys are keyed hashes of the identifiers in the
-- payload, so an erasure finds the person's lines without reading payloads.
CREATE TABLE lake_spool (
    id          bigserial PRIMARY KEY,
    source      text        NOT NULL,
    received_at timestamptz NOT NULL,
    hour        timestamptz NOT NULL, -- received_at truncated to the UTC hour: the object's partition
    request_id  text        NOT NULL,
    ref         text        NOT NULL DEFAULT '',
    verdict     text        NOT NULL,
    codes       text[]      NOT NULL DEFAULT '{}',
    counts      jsonb,
    payload     text        NOT NULL, -- the JSON as sent (text, not jsonb: key order and every key kept)
    keys        text[]      NOT NULL DEFAULT '{}',
    -- A line written again by a retried batch (an import batch, a CRM page) is
    -- the same line: its writer names it, and the second write is a no-op.
    dedup_key   text UNIQUE,
    object      text,
    archived_at timestamptz
);
CREATE INDEX lake_spool_waiting ON lake_spool (source, hour, id) WHERE object IS NULL;
CREATE INDEX lake_spool_object ON lake_spool (object, id) WHERE object IS NOT NULL;
CREATE INDEX lake_spool_archived ON lake_spool (archived_at) WHERE archived_at IS NOT NULL;
CREATE INDEX lake_spool_keys ON lake_spool USING gin (keys);

-- The objects written, and the identifier hashes each holds: erasure rewrites
-- only the objects that name the person, retention deletes by day.
CREATE TABLE lake_objects (
    name        text PRIMARY KEY,
    source      text        NOT NULL,
    hour        timestamptz NOT NULL,
    lines       int         NOT NULL,
    bytes       bigint,
    sealed_at   timestamptz NOT NULL DEFAULT now(),
    uploaded_at timestamptz
);
CREATE INDEX lake_objects_pending ON lake_objects (sealed_at) WHERE uploaded_at IS NULL;
CREATE TABLE lake_object_keys (
    key    text NOT NULL,
    object text NOT NULL REFERENCES lake_objects (name) ON DELETE CASCADE,
    PRIMARY KEY (key, object)
);
CREATE INDEX lake_object_keys_object ON lake_object_keys (object);

-- What an erasure must remove from the lake: the hashes of the person's
-- identifiers (under every identity key), recorded with the PostgreSQL step,
-- and which objects it rewrote (the receipt counts them).
CREATE TABLE lake_erasures (
    contact_id uuid NOT NULL,
    key        text NOT NULL,
    PRIMARY KEY (contact_id, key)
);
CREATE INDEX lake_erasures_key ON lake_erasures (key);
CREATE TABLE lake_erasure_objects (
    contact_id uuid NOT NULL,
    object     text NOT NULL,
    lines_left int  NOT NULL,
    PRIMARY KEY (contact_id, object)
);
