-- What each anonymous caller (a client IP) put in quarantine per hour, and what
-- was dropped over its budget (KITH_QUARANTINE_BYTES_PER_HOUR): a refused
-- request is still answered with its violations, but a caller cannot fill the
-- database with refusals. The Retention workflow deletes rows after 7 days
-- (an IP address is personal data).
CREATE TABLE quarantine_budgets (
    client        text        NOT NULL, -- ip:<address>
    hour          timestamptz NOT NULL,
    kept          integer     NOT NULL DEFAULT 0,
    kept_bytes    bigint      NOT NULL DEFAULT 0,
    dropped       integer     NOT NULL DEFAULT 0,
    dropped_bytes bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (client, hour)
);

-- Retention: the Retention workflow deletes events older than
-- KITH_EVENT_RETENTION_DAYS in batches, oldest first.
CREATE INDEX events_occurred_at ON events (occurred_at);
