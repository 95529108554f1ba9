-- Double opt-in: a consent that was never confirmed expires.
ALTER TABLE consents DROP CONSTRAINT consents_status_check;
ALTER TABLE consents ADD CONSTRAINT consents_status_check
    CHECK (status IN ('granted', 'withdrawn', 'pending', 'expired'));

-- Messages for people (double opt-in confirmations), written once per id by the
-- contact workflow and delivered by the mail integration.
CREATE TABLE outbox (
    id           text PRIMARY KEY,
    kind         text        NOT NULL,
    contact_id   uuid        NOT NULL REFERENCES contacts (id),
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);

CREATE INDEX form_submissions_anonymous ON form_submissions (anonymous_id);
