-- The spool keeps compressed segments of lines (kith.LakeSegment) instead of
-- a row per line as text: a request's payload is compressed on its own
-- goroutine, a batch's lines together, and the archive joins a range of
-- segments into an object without reading a line (it read, decoded and
-- compressed each line before: 7% of a bare upload's speed). A segment holds
-- lines of one source and hour (at most 64 or 1 MiB of text), in spool order;
-- keys index the identifier hashes of its lines by their first 64 bits
-- (postgres.indexKeys; the SQL below does the same for older rows); an erasure
-- rewrites a segment without the person's lines.
CREATE TABLE lake_spool_segments (
    id     bigint PRIMARY KEY DEFAULT nextval('lake_spool_id_seq'),
    source text        NOT NULL,
    hour   timestamptz NOT NULL,
    lines  int         NOT NULL,
    bytes  bigint      NOT NULL, -- the text's length (uncompressed)
    crc    bigint,               -- the text's CRC-32; NULL: data is the text itself
    data   bytea       NOT NULL,
    keys   bigint[]    NOT NULL DEFAULT '{}'
);
ALTER TABLE lake_spool_segments ALTER COLUMN data SET STORAGE EXTERNAL; -- compressed already
-- A segment of a few KB stays in its row (no TOAST chunks to write and to
-- look up when it is read): only rows past 8 KB are moved out.
ALTER TABLE lake_spool_segments SET (toast_tuple_target = 8160);

-- Lines spooled before this migration become segments of one line each,
-- under their own ids (so objects sealed and partitions registered still
-- name them), kept as their text: the archive compresses them.
INSERT INTO lake_spool_segments (id, source, hour, lines, bytes, crc, data, keys)
SELECT id, source, hour, 1, octet_length(line), NULL, convert_to(line, 'UTF8'),
    ARRAY(SELECT DISTINCT ('x' || left(k, 16))::bit(64)::bigint FROM unnest(keys) k)
FROM (SELECT id, source, hour, keys,
        '{"received_at":' || to_json(to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
        || ',"source":' || to_json(source)::text
        || ',"request_id":' || to_json(request_id)::text
        || CASE WHEN ref <> '' THEN ',"ref":' || to_json(ref)::text ELSE '' END
        || ',"verdict":' || to_json(verdict)::text
        || CASE WHEN cardinality(codes) > 0 THEN ',"codes":' || to_json(codes)::text ELSE '' END
        || CASE WHEN counts IS NOT NULL THEN ',"counts":' || counts::text ELSE '' END
        || ',"payload":' || payload || E'}\n' AS line
    FROM lake_spool) l;

-- A line its writer may write again (a retried import batch, a CRM object
-- fetched twice) is named here; the second write is a no-op. A name goes
-- when its partition's last segment is trimmed.
CREATE TABLE lake_spool_keys (
    dedup_key text PRIMARY KEY,
    source    text        NOT NULL,
    hour      timestamptz NOT NULL
);
CREATE INDEX lake_spool_keys_partition ON lake_spool_keys (source, hour);
INSERT INTO lake_spool_keys (dedup_key, source, hour)
SELECT dedup_key, source, hour FROM lake_spool WHERE dedup_key IS NOT NULL;

ALTER SEQUENCE lake_spool_id_seq OWNED BY lake_spool_segments.id;
DROP TABLE lake_spool;
ALTER TABLE lake_spool_segments RENAME TO lake_spool;
ALTER INDEX lake_spool_segments_pkey RENAME TO lake_spool_pkey;
CREATE INDEX lake_spool_partition ON lake_spool (source, hour, id);

-- An object's index of the identifiers its lines hold is one array (the first
-- 64 bits of each hash, as the segments') under a GIN index, instead of a row
-- per identifier and object: sealing an object of 5,000 tracking lines wrote
-- 5,000 index rows, half the archive's time. It is written when the object's
-- segments leave the spool, or when an erasure rewrites one of them (until
-- then the segments in its range are its index), not in the archive's path;
-- and it is a table of its own, so that marking an object uploaded (an
-- update of lake_objects) does not index its identifiers again.
CREATE TABLE lake_object_index (
    object text     PRIMARY KEY REFERENCES lake_objects (name) ON DELETE CASCADE,
    keys   bigint[] NOT NULL
);
INSERT INTO lake_object_index (object, keys)
SELECT object, array_agg(('x' || left(key, 16))::bit(64)::bigint) FROM lake_object_keys GROUP BY object;
CREATE INDEX lake_object_index_keys ON lake_object_index USING gin (keys);
-- The objects of a partition (an erasure indexes those holding the segments it rewrites).
CREATE INDEX lake_objects_partition ON lake_objects (source, hour);
DROP TABLE lake_object_keys;
