-- Contacts the cleaning archived (inactive, hard-bounced, unsubscribed), with the
-- reason; restoring one sets it active again and stamps restored_at.
CREATE TABLE contacts_archive (
    contact_id   uuid PRIMARY KEY REFERENCES contacts (id),
    reason       text        NOT NULL CHECK (reason IN ('inactive', 'hard_bounce', 'unsubscribed')),
    archived_at  timestamptz NOT NULL DEFAULT now(),
    restored_at  timestamptz
);
