package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

// StoreCRMObject implements kith.CRMStore.
func (s *Store) StoreCRMObject(ctx context.Context, obj kith.CRMObject, contact kith.ContactInput) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		switch obj.Type {
		case kith.CRMContact:
			id, err := s.upsertCRMContact(ctx, tx, obj.Provider, obj.ID, contact)
			if id != "" {
				ids = append(ids, id)
			}
			return err
		case kith.CRMDeal, kith.CRMTicket:
			var contactID *string
			for _, crmID := range obj.Contacts {
				id, err := identityOwner(ctx, tx, kith.Identity{Kind: kith.IdentityCRM, Namespace: obj.Provider, Value: crmID})
				if err != nil {
					return err
				}
				if id != "" {
					ids = append(ids, id)
					if contactID == nil {
						contactID = &id
					}
				}
			}
			if obj.Type == kith.CRMDeal {
				return upsertOrder(ctx, tx, obj, contactID)
			}
			return upsertTicket(ctx, tx, obj, contactID)
		}
		return fmt.Errorf("unknown CRM object type %q", obj.Type)
	})
	return ids, err
}

// upsertCRMContact finds the contact by its CRM identity, then its email, else
// creates it; merges the fields (Contact.Merge) and links both identities.
//
// A contact of an erased person is not stored: it returns "" (counted).
func (s *Store) upsertCRMContact(ctx context.Context, tx *sqlx.Tx, provider, crmID string, in kith.ContactInput) (string, error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
		return "", err
	}
	crmIdent := kith.Identity{Kind: kith.IdentityCRM, Namespace: provider, Value: crmID}
	if gone, err := erased(ctx, tx, s.hasher, "crm", append(kith.IdentitiesOf(in.Fields), crmIdent)); err != nil || gone {
		return "", err
	}
	id, err := identityOwner(ctx, tx, crmIdent)
	if err != nil {
		return "", err
	}
	email := in.Fields[kith.FieldEmail].Value
	if id == "" && email != "" {
		if id, err = identityOwner(ctx, tx, kith.Identity{Kind: kith.IdentityEmail, Value: email}); err != nil {
			return "", err
		}
	}
	var c kith.Contact
	if id == "" {
		now := s.now().UTC()
		c = kith.Contact{ID: s.newID(), CreatedAt: now, UpdatedAt: now}
		c.Merge(in.Fields)
		if err := writeContacts(ctx, tx, []*kith.Contact{&c}); err != nil {
			return "", err
		}
	} else {
		if c, err = contactForUpdate(ctx, tx, id); err != nil {
			return "", err
		}
		before := maps.Clone(c.Fields)
		c.Merge(in.Fields)
		if !maps.EqualFunc(before, c.Fields, func(a, b kith.Value) bool { return a.Value == b.Value }) {
			c.UpdatedAt = s.now().UTC()
			if err := writeContacts(ctx, tx, []*kith.Contact{&c}); err != nil {
				return "", err
			}
		}
	}
	for _, ident := range []kith.Identity{crmIdent, {Kind: kith.IdentityEmail, Value: c.Get(kith.FieldEmail)}} {
		if ident.Value == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities (kind, namespace, value, contact_id, source)
			VALUES ($1, $2, $3, $4, 'crm') ON CONFLICT DO NOTHING`, ident.Kind, ident.Namespace, ident.Value, c.ID); err != nil {
			return "", fmt.Errorf("link identity: %w", err)
		}
	}
	return c.ID, refreshKeys(ctx, tx, []string{c.ID})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// upsertOrder writes a deal; an older version arriving late changes nothing.
func upsertOrder(ctx context.Context, tx *sqlx.Tx, obj kith.CRMObject, contactID *string) error {
	o := obj.Order
	_, err := tx.ExecContext(ctx, `INSERT INTO orders (id, contact_id, provider, external_id, amount_cents, currency, status, ordered_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8, $9)
		ON CONFLICT (provider, external_id) DO UPDATE SET contact_id = COALESCE(EXCLUDED.contact_id, orders.contact_id),
			amount_cents = EXCLUDED.amount_cents, currency = EXCLUDED.currency, status = EXCLUDED.status,
			ordered_at = EXCLUDED.ordered_at, updated_at = EXCLUDED.updated_at
		WHERE orders.updated_at <= EXCLUDED.updated_at`,
		uuid.NewString(), contactID, obj.Provider, obj.ID, o.AmountCents, o.Currency, o.Status, nullTime(o.OrderedAt), obj.UpdatedAt)
	if err != nil {
		return fmt.Errorf("upsert order: %w", err)
	}
	return nil
}

// upsertTicket writes a ticket; an older version arriving late changes nothing.
func upsertTicket(ctx context.Context, tx *sqlx.Tx, obj kith.CRMObject, contactID *string) error {
	t := obj.Ticket
	_, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, contact_id, provider, external_id, subject, status, opened_at, closed_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (provider, external_id) DO UPDATE SET contact_id = COALESCE(EXCLUDED.contact_id, tickets.contact_id),
			subject = EXCLUDED.subject, status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
			closed_at = EXCLUDED.closed_at, updated_at = EXCLUDED.updated_at
		WHERE tickets.updated_at <= EXCLUDED.updated_at`,
		uuid.NewString(), contactID, obj.Provider, obj.ID, t.Subject, t.Status, nullTime(t.OpenedAt), nullTime(t.ClosedAt), obj.UpdatedAt)
	if err != nil {
		return fmt.Errorf("upsert ticket: %w", err)
	}
	return nil
}

// CRMCursor implements kith.CRMStore.
func (s *Store) CRMCursor(ctx context.Context, provider string) (kith.CRMCursor, error) {
	return crmCursor(ctx, s.db, provider, false)
}

func crmCursor(ctx context.Context, q sqlx.QueryerContext, provider string, lock bool) (kith.CRMCursor, error) {
	var c kith.CRMCursor
	query := `SELECT since, after, max_seen, pages, contacts, quarantined FROM crm_cursors WHERE provider = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := q.QueryRowxContext(ctx, query, provider).Scan(&c.Since, &c.After, &c.MaxSeen, &c.Totals.Pages, &c.Totals.Contacts, &c.Totals.Quarantined)
	if errors.Is(err, sql.ErrNoRows) {
		return kith.CRMCursor{}, nil
	}
	c.Since, c.MaxSeen = c.Since.UTC(), c.MaxSeen.UTC()
	return c, err
}

// CommitCRMPage implements kith.CRMStore.
func (s *Store) CommitCRMPage(ctx context.Context, provider string, from, to kith.CRMCursor, contacts []kith.ContactInput, crmIDs []string, q []kith.Quarantined) error {
	if len(contacts) != len(crmIDs) {
		return fmt.Errorf("%d contacts but %d CRM ids", len(contacts), len(crmIDs))
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_cursors (provider, since, max_seen) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING`,
			provider, from.Since); err != nil {
			return err
		}
		cur, err := crmCursor(ctx, tx, provider, true)
		if err != nil {
			return err
		}
		if !cur.Since.Equal(from.Since) || cur.After != from.After {
			return kith.Errorf(kith.CodeConflict, "the %s cursor moved (another run stored this page)", provider)
		}
		for i, c := range contacts {
			if _, err := s.upsertCRMContact(ctx, tx, provider, crmIDs[i], c); err != nil {
				return err
			}
		}
		if _, err := s.quarantine(ctx, tx, q); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE crm_cursors SET since = $2, after = $3, max_seen = $4,
				pages = pages + 1, contacts = contacts + $5, quarantined = quarantined + $6, updated_at = now() WHERE provider = $1`,
			provider, to.Since, to.After, to.MaxSeen, len(contacts), len(q))
		return err
	})
}
