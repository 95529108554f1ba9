-- Triggered messages (personalization triggers). A delivery is written before
-- the ESP call (status sending) and completed after (accepted), so a retried
-- activity never sends twice what the ESP accepted; one the workflow or the
-- consent check at send time held back is kept as capped or suppressed with
-- its reason; failed is the dead letter ops replay (`starter deliveries`).
CREATE TABLE deliveries (
    id                  text        PRIMARY KEY, -- kith.DeliveryID(contact, rule, occurrence)
    contact_id          uuid        NOT NULL REFERENCES contacts (id),
    rule                text        NOT NULL,
    template            text        NOT NULL,
    purpose             text        NOT NULL,
    occurrence          text        NOT NULL, -- the event that started the rule
    status              text        NOT NULL CHECK (status IN ('sending', 'accepted', 'suppressed', 'capped', 'failed')),
    reason              text,
    events              jsonb       NOT NULL DEFAULT '[]',
    segments            text[]      NOT NULL DEFAULT '{}', -- the rule's RFM segments, checked on every attempt
    due_at              timestamptz NOT NULL,
    provider_message_id text,
    last_error          text,
    attempts            integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    changed_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX deliveries_contact ON deliveries (contact_id, created_at);
CREATE INDEX deliveries_status ON deliveries (status, created_at);
CREATE INDEX deliveries_changed_at ON deliveries (changed_at);
CREATE TRIGGER deliveries_changed_at BEFORE INSERT OR UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION kith_touch_changed_at();

-- Addresses no message may go to: a hard bounce or a spam report (from the
-- ESP's event webhook), or an operator's decision. Keyed by the stored
-- (standardized) email address.
CREATE TABLE suppressions (
    email      text        PRIMARY KEY,
    reason     text        NOT NULL, -- bounce, spamreport, manual
    source     text        NOT NULL,
    ref        text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The star schema's fact_delivery: one row per triggered message decision.
CREATE VIEW warehouse.fact_delivery AS
SELECT d.id AS delivery_id,
       d.contact_id::text AS contact_id,
       d.rule,
       d.template,
       d.purpose,
       d.status AS outcome,
       d.reason AS suppression_reason,
       d.occurrence,
       d.due_at,
       d.created_at,
       d.sent_at,
       d.changed_at
FROM deliveries d;
