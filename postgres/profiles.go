package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

// ResolveContact implements kith.ProfileStore.
func (s *Store) ResolveContact(ctx context.Context, ids []kith.Identity, newID string, src kith.Source) (string, error) {
	if len(ids) == 0 {
		return "", kith.Errorf(kith.CodeInvalid, "a contact needs at least one identity")
	}
	if _, err := uuid.Parse(newID); err != nil {
		return "", fmt.Errorf("new contact id %q is not a UUID", newID)
	}
	var id string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
			return err
		}
		for _, ident := range ids {
			found, err := identityOwner(ctx, tx, ident)
			if err != nil {
				return err
			}
			if found != "" {
				id = found
				break
			}
		}
		if id == "" {
			id = newID
			if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id) VALUES ($1)`, id); err != nil {
				return fmt.Errorf("create contact: %w", err)
			}
		}
		for _, ident := range ids {
			if err := linkIdentity(ctx, tx, id, ident, src); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

// LinkIdentity implements kith.ProfileStore.
func (s *Store) LinkIdentity(ctx context.Context, contactID string, ident kith.Identity, src kith.Source) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
			return err
		}
		return linkIdentity(ctx, tx, contactID, ident, src)
	})
}

// linkIdentity links one identity to a contact. An email or phone already owned
// by another contact stays there (merging two contacts is de-duplication's
// decision); an anonymous id follows the person who just identified themselves.
func linkIdentity(ctx context.Context, tx *sqlx.Tx, contactID string, ident kith.Identity, src kith.Source) error {
	onConflict := `DO NOTHING`
	if ident.Kind == kith.IdentityAnonymous {
		onConflict = `DO UPDATE SET contact_id = EXCLUDED.contact_id`
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities (kind, namespace, value, contact_id, source)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, namespace, value) `+onConflict,
		ident.Kind, ident.Namespace, ident.Value, contactID, src); err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	if ident.Kind == kith.IdentityAnonymous {
		return joinAnonymous(ctx, tx, ident.Value, contactID)
	}
	return nil
}

// joinAnonymous attributes an anonymous visitor's earlier events and answers to
// the contact they turned out to be.
func joinAnonymous(ctx context.Context, tx *sqlx.Tx, anonymousID, contactID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE events SET contact_id = $2 WHERE anonymous_id = $1 AND contact_id IS NULL`,
		anonymousID, contactID); err != nil {
		return fmt.Errorf("join anonymous events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE form_submissions SET contact_id = $2 WHERE anonymous_id = $1 AND contact_id IS NULL`,
		anonymousID, contactID); err != nil {
		return fmt.Errorf("join anonymous submissions: %w", err)
	}
	return nil
}

func identityOwner(ctx context.Context, q sqlx.QueryerContext, ident kith.Identity) (string, error) {
	var id string
	err := sqlx.GetContext(ctx, q, &id, `SELECT contact_id::text FROM identities WHERE kind = $1 AND namespace = $2 AND value = $3`,
		ident.Kind, ident.Namespace, ident.Value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// ContactIDFor implements kith.ProfileStore.
func (s *Store) ContactIDFor(ctx context.Context, ident kith.Identity) (string, error) {
	id, err := identityOwner(ctx, s.db, ident)
	if err == nil && id == "" {
		err = kith.Errorf(kith.CodeNotFound, "no contact with that %s", ident.Kind)
	}
	return id, err
}

// RecordSubmission implements kith.ProfileStore.
func (s *Store) RecordSubmission(ctx context.Context, sub kith.Submission) (kith.Contact, error) {
	var out kith.Contact
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO form_submissions (submission_id, form, contact_id, anonymous_id, payload, received_at)
			VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6) ON CONFLICT (submission_id) DO NOTHING`,
			sub.SubmissionID, sub.Form, sub.ContactID, sub.AnonymousID, string(rawJSON(sub.Raw)), sub.ReceivedAt)
		if err != nil {
			return fmt.Errorf("store submission: %w", err)
		}
		c, err := contactForUpdate(ctx, tx, sub.ContactID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 { // a repeat: nothing changes
			out = c
			return nil
		}
		before := maps.Clone(c.Fields)
		c.Merge(sub.Fields)
		if !maps.EqualFunc(before, c.Fields, func(a, b kith.Value) bool { return a.Value == b.Value }) {
			c.UpdatedAt = s.now().UTC()
			if err := writeContacts(ctx, tx, []*kith.Contact{&c}); err != nil {
				return err
			}
			if err := refreshKeys(ctx, tx, []string{c.ID}); err != nil {
				return err
			}
		}
		if e := c.Get(kith.FieldEmail); e != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (kind, value, contact_id, source)
				VALUES ('email', $1, $2, 'form') ON CONFLICT DO NOTHING`, e, c.ID); err != nil {
				return fmt.Errorf("link email: %w", err)
			}
		}
		for _, cr := range sub.Consents {
			if err := insertConsent(ctx, tx, c.ID, cr); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	return out, err
}

// rawJSON is b when it is a JSON document, else b quoted as a JSON string.
func rawJSON(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

func contactForUpdate(ctx context.Context, tx *sqlx.Tx, id string) (kith.Contact, error) {
	c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+selectContact+` FROM contacts c WHERE c.id = $1 FOR UPDATE`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, kith.Errorf(kith.CodeNotFound, "no contact %q", id)
	}
	return c, err
}

func insertConsent(ctx context.Context, tx *sqlx.Tx, contactID string, c kith.ConsentRecord) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO consents (contact_id, purpose, status, text_version, source, source_ref, ip, user_agent, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::inet, NULLIF($8, ''), $9)
		ON CONFLICT (contact_id, purpose, source_ref) DO NOTHING`,
		contactID, c.Purpose, c.Status, c.TextVersion, c.Source, c.SourceRef, c.IP, c.UserAgent, c.At)
	if err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}

// RecordConsent implements kith.ProfileStore.
func (s *Store) RecordConsent(ctx context.Context, contactID string, c kith.ConsentRecord) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return insertConsent(ctx, tx, contactID, c) })
}

// Consents implements kith.ProfileStore.
func (s *Store) Consents(ctx context.Context, contactID string) (map[string]kith.ConsentRecord, error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT DISTINCT ON (purpose) purpose, status, text_version, source, source_ref,
			COALESCE(host(ip), '') AS ip, COALESCE(user_agent, '') AS user_agent, recorded_at
		FROM consents WHERE contact_id = $1 ORDER BY purpose, recorded_at DESC, id DESC`, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]kith.ConsentRecord{}
	for rows.Next() {
		var c kith.ConsentRecord
		if err := rows.Scan(&c.Purpose, &c.Status, &c.TextVersion, &c.Source, &c.SourceRef, &c.IP, &c.UserAgent, &c.At); err != nil {
			return nil, err
		}
		out[c.Purpose] = c
	}
	return out, rows.Err()
}

// Enqueue implements kith.ProfileStore.
func (s *Store) Enqueue(ctx context.Context, m kith.OutboxMessage) (kith.OutboxMessage, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO outbox (id, kind, contact_id, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, m.ID, m.Kind, m.ContactID, string(rawJSON(m.Payload))); err != nil {
		return m, fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	var stored kith.OutboxMessage
	var payload []byte
	err := s.db.QueryRowContext(ctx, `SELECT id, kind, contact_id::text, payload FROM outbox WHERE id = $1`, m.ID).
		Scan(&stored.ID, &stored.Kind, &stored.ContactID, &payload)
	stored.Payload = payload
	return stored, err
}
