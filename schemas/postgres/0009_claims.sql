-- Claims: a submission that names an existing contact from a browser the contact
-- has not verified is held here, changing nothing, until the person opens the
-- link sent to the address on file in the same browser (kith.ClaimStore).
CREATE TABLE claims (
    token_hash    text PRIMARY KEY,            -- sha256 of the link's token; the token itself is only in the message
    submission_id text        NOT NULL UNIQUE, -- a retried submission holds one claim
    contact_id    uuid        NOT NULL REFERENCES contacts (id),
    browser       text        NOT NULL,        -- keyed hash of the claiming browser's cookie
    request       jsonb       NOT NULL,        -- the kith.SubmitRequest to apply
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    applied_at    timestamptz
);
CREATE INDEX claims_by_contact ON claims (contact_id, created_at);
