package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

// exportSections are the parts of a contact's export (the right of access),
// each a query over the person's contacts (person: see personCTE; the
// profile is the contact asked for) and their anonymous ids (anon), oldest first. Secrets that
// are Kith's, not the person's (a claim's token hash), are left out.
var exportSections = []struct{ name, sql string }{
	{"profile", `SELECT ` + exportedContact + ` FROM contacts c WHERE c.id = $1`},
	{"merged_contacts", `SELECT coalesce(jsonb_agg(` + exportedContact + ` ORDER BY c.created_at), '[]') FROM contacts c WHERE c.id IN (SELECT id FROM person) AND c.id <> $1`},
	{"identities", `SELECT coalesce(jsonb_agg(to_jsonb(i) ORDER BY i.created_at), '[]') FROM identities i WHERE i.contact_id IN (SELECT id FROM person)`},
	{"source_records", `SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.observed_at, r.ref), '[]') FROM source_records r WHERE r.contact_id IN (SELECT id FROM person)`},
	{"consents", `SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.recorded_at, x.id), '[]') FROM consents x WHERE x.contact_id IN (SELECT id FROM person)`},
	{"events", `SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.occurred_at, e.event_id), '[]') FROM events e WHERE e.contact_id IN (SELECT id FROM person) OR e.anonymous_id IN (SELECT value FROM anon)`},
	{"form_submissions", `SELECT coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.received_at), '[]') FROM form_submissions f WHERE f.contact_id IN (SELECT id FROM person) OR f.anonymous_id IN (SELECT value FROM anon)`},
	{"orders", `SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY o.ordered_at, o.id), '[]') FROM orders o WHERE o.contact_id IN (SELECT id FROM person)`},
	{"tickets", `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.opened_at, t.id), '[]') FROM tickets t WHERE t.contact_id IN (SELECT id FROM person)`},
	{"merges", `SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.merged_at, m.id), '[]') FROM merges m WHERE m.survivor_id IN (SELECT id FROM person) OR m.merged_id IN (SELECT id FROM person)`},
	{"merge_reviews", `SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM merge_reviews r WHERE r.a_id IN (SELECT id FROM person) OR r.b_id IN (SELECT id FROM person)`},
	{"deliveries", `SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.created_at, d.id), '[]') FROM deliveries d WHERE d.contact_id IN (SELECT id FROM person)`},
	{"suppressions", `SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.created_at), '[]') FROM suppressions s WHERE s.email IN (SELECT lower(email) FROM contacts WHERE id IN (SELECT id FROM person))`},
	{"claims", `SELECT coalesce(jsonb_agg(to_jsonb(c) - 'token_hash' - 'browser' ORDER BY c.created_at), '[]') FROM claims c WHERE c.contact_id IN (SELECT id FROM person)`},
	{"archive", `SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.archived_at), '[]') FROM contacts_archive a WHERE a.contact_id IN (SELECT id FROM person)`},
	{"audit_log", `SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.at, l.id), '[]') FROM audit_log l WHERE l.entity_id IN (SELECT id::text FROM person)`},
}

// exportedContact is contacts c's row as exported: each field's provenance
// whole, the origin it shares with other fields written into it.
var exportedContact = `to_jsonb(c) || jsonb_build_object('field_provenance', ` + fieldProvenanceSQL + `)`

// exportQuery builds the export as one JSON object in one statement, so every
// section is read from the same snapshot.
var exportQuery = func() string {
	q := personCTE + `,
	anon AS (SELECT value FROM identities WHERE kind = 'anonymous' AND contact_id IN (SELECT id FROM person))
	SELECT jsonb_build_object('contact_id', $1::text, 'exported_at', now()`
	for _, s := range exportSections {
		q += `, '` + s.name + `', (` + s.sql + `)`
	}
	return q + `)::text WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $1)`
}()

// ExportContact implements kith.Exporter: everything PostgreSQL holds on the
// contact, as one JSON document, and an audit row naming who asked.
func (s *Store) ExportContact(ctx context.Context, contactID, requestedBy string) (json.RawMessage, error) {
	if _, err := uuid.Parse(contactID); err != nil {
		return nil, kith.Errorf(kith.CodeNotFound, "no contact %s", contactID)
	}
	var doc string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.QueryRowContext(ctx, exportQuery, contactID).Scan(&doc); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor, action, entity, entity_id) VALUES ($1, 'export_requested', 'contact', $2)`, requestedBy, contactID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kith.Errorf(kith.CodeNotFound, "no contact %s (an erased contact has nothing left to export)", contactID)
	}
	return json.RawMessage(doc), err
}
