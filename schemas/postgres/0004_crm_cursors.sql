-- Where each CRM backfill has got: the query (since), the position in it (after)
-- and the latest modification stored (the next query's since). Committed in the
-- same transaction as the page it follows.
CREATE TABLE crm_cursors (
    provider    text PRIMARY KEY,
    since       timestamptz NOT NULL,
    after       text        NOT NULL DEFAULT '',
    max_seen    timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
