package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// InsertEvents implements kith.EventStore: events whose event_id is stored already
// are ignored, so a redelivery never duplicates a row.
func (s *Store) InsertEvents(ctx context.Context, events []kith.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	var (
		ids, contacts, anon, types, sources, props []string
		at                                         []string
	)
	for _, e := range events {
		if e.EventID == "" || e.Type == "" {
			return 0, kith.Errorf(kith.CodeInvalid, "event needs an event_id and a type")
		}
		p := string(e.Properties)
		if p == "" {
			p = "{}"
		}
		ids = append(ids, e.EventID)
		contacts = append(contacts, e.ContactID)
		anon = append(anon, e.AnonymousID)
		types = append(types, e.Type)
		sources = append(sources, string(e.Source))
		at = append(at, e.OccurredAt.UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
		props = append(props, p)
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO events (event_id, contact_id, anonymous_id, type, source, occurred_at, properties)
		SELECT id, NULLIF(c, '')::uuid, NULLIF(a, ''), t, s, o::timestamptz, p::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		     AS x(id, c, a, t, s, o, p)
		ON CONFLICT (event_id) DO NOTHING`,
		pq.Array(ids), pq.Array(contacts), pq.Array(anon), pq.Array(types), pq.Array(sources), pq.Array(at), pq.Array(props))
	if err != nil {
		return 0, fmt.Errorf("insert events: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Quarantine implements kith.EventStore.
func (s *Store) Quarantine(ctx context.Context, q []kith.Quarantined) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := quarantine(ctx, tx, q)
		return err
	})
}

// quarantine stores rejected input once per (source, ref) and returns how many rows
// were new.
func quarantine(ctx context.Context, tx *sqlx.Tx, q []kith.Quarantined) (int, error) {
	if len(q) == 0 {
		return 0, nil
	}
	var sources, refs, violations []string
	var payloads [][]byte
	for _, r := range q {
		vj, err := json.Marshal(r.Violations)
		if err != nil {
			return 0, err
		}
		sources = append(sources, string(r.Source))
		refs = append(refs, r.Ref)
		payloads = append(payloads, r.Payload)
		violations = append(violations, string(vj))
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO quarantine (source, source_ref, payload, violations)
		SELECT s, r, p, v::jsonb FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) AS x(s, r, p, v)
		ON CONFLICT (source, source_ref) DO NOTHING`,
		pq.Array(sources), pq.Array(refs), pq.ByteaArray(payloads), pq.Array(violations))
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
