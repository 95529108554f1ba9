-- Behavioural tracking (the Segment-compatible events API): each message keeps what
-- its sender said. event_id is "<source>/<messageId>", so a message is stored once per
-- write-key source forever (not for a time window).
ALTER TABLE events
    ADD COLUMN call         text        NOT NULL DEFAULT 'track', -- track, page, screen, identify, group, alias
    ADD COLUMN write_source text,                                 -- the write key's source, e.g. web, backend
    ADD COLUMN message_id   text,
    ADD COLUMN user_id      text,
    ADD COLUMN context      jsonb       NOT NULL DEFAULT '{}',    -- page, userAgent, ip, campaign, library
    ADD COLUMN traits       jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN sent_at      timestamptz,
    ADD COLUMN machine      boolean     NOT NULL DEFAULT false;   -- a privacy proxy's open, a scanner's click

-- Events for contacts' workflows, written in the same transaction as the events and
-- drained by the EventRelay workflow (Signal-With-Start); a row is deleted once its
-- signal is sent, and the workflow ignores an event id it has seen.
CREATE TABLE event_outbox (
    id           bigserial PRIMARY KEY,
    event_id     text        NOT NULL,
    contact_id   uuid,
    anonymous_id text,
    type         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The star schema's fact_event gains what analysts ask of behaviour: the call,
-- the page and campaign (UTM) it came with, and the machine flag (keep machine
-- events out of engagement). New columns go at the end (BigQuery appends them).
CREATE OR REPLACE VIEW warehouse.fact_event AS
SELECT e.event_id,
       e.contact_id::text AS contact_id,
       e.type,
       e.source,
       e.occurred_at,
       e.received_at,
       e.properties::text AS properties,
       e.changed_at,
       e.call,
       e.anonymous_id,
       COALESCE(e.context #>> '{page,path}', e.properties ->> 'path') AS page_path,
       COALESCE(e.context #>> '{page,url}', e.properties ->> 'url') AS page_url,
       e.context #>> '{campaign,source}' AS utm_source,
       e.context #>> '{campaign,medium}' AS utm_medium,
       e.context #>> '{campaign,name}' AS utm_campaign,
       e.machine
FROM events e;

-- A site's own user id (the events API's userId) is an identity too, linked by a
-- trusted source's identify or alias.
ALTER TABLE identities DROP CONSTRAINT identities_kind_check;
ALTER TABLE identities ADD CONSTRAINT identities_kind_check CHECK (kind IN ('email', 'phone', 'crm', 'anonymous', 'user'));
