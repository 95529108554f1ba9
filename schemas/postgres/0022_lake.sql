-- The raw lake's spool: every inbound payload as it arrived, kept here (on the
-- request path, durable before the sender is answered) until the LakeArchive
-- workflow has written it to the bucket. Lines are never updated: an object is
-- a range of one partition's (source, UTC hour) spool ids, sealed under an
-- exclusive advisory lock that every spool insert holds shared, so no line can
-- commit into a range after it was sealed. keys are keyed hashes of the
-- identifiers in the payload, so an erasure finds the person's lines without
-- reading payloads (it scans the spool, which holds about a day).
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
    dedup_key   text
);
CREATE INDEX lake_spool_partition ON lake_spool (source, hour, id);
CREATE UNIQUE INDEX lake_spool_dedup ON lake_spool (dedup_key) WHERE dedup_key IS NOT NULL;

-- The partitions with lines in the spool and how far each is sealed, and how
-- far the sealer has looked for new partitions (every spool id up to scanned
-- has its partition here).
CREATE TABLE lake_partitions (
    source    text        NOT NULL,
    hour      timestamptz NOT NULL,
    sealed_to bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (source, hour)
);
CREATE TABLE lake_cursor (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    scanned bigint  NOT NULL
);
INSERT INTO lake_cursor (scanned) VALUES (0);

-- The objects written, and the identifier hashes each holds: erasure rewrites
-- only the objects that name the person, retention deletes by day.
CREATE TABLE lake_objects (
    name        text PRIMARY KEY,
    source      text        NOT NULL,
    hour        timestamptz NOT NULL,
    first_id    bigint      NOT NULL, -- the spool ids of its partition it holds
    last_id     bigint      NOT NULL,
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
