package postgres

import (
	"context"
	"encoding/json"

	"github.com/kithhq/kith"
)

// QuarantinedSince returns what was quarantined after the entry with id after,
// oldest first, with the id to pass next time: what an operator reviews.
func (s *Store) QuarantinedSince(ctx context.Context, after int64, limit int) ([]kith.Quarantined, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, source, source_ref, payload, violations FROM quarantine
		WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	var out []kith.Quarantined
	for rows.Next() {
		var q kith.Quarantined
		var vs []byte
		if err := rows.Scan(&after, &q.Source, &q.Ref, &q.Payload, &vs); err != nil {
			return nil, after, err
		}
		if err := json.Unmarshal(vs, &q.Violations); err != nil {
			return nil, after, err
		}
		out = append(out, q)
	}
	return out, after, rows.Err()
}

// Outbox returns the messages of one kind queued for a contact, oldest first:
// what the mail integration delivers.
func (s *Store) Outbox(ctx context.Context, contactID, kind string) ([]kith.OutboxMessage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, contact_id::text, payload FROM outbox
		WHERE contact_id = $1 AND kind = $2 ORDER BY created_at, id`, contactID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.OutboxMessage
	for rows.Next() {
		var m kith.OutboxMessage
		var payload []byte
		if err := rows.Scan(&m.ID, &m.Kind, &m.ContactID, &payload); err != nil {
			return nil, err
		}
		m.Payload = payload
		out = append(out, m)
	}
	return out, rows.Err()
}

// OrderCount is how many orders are stored.
func (s *Store) OrderCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM orders`)
	return n, err
}

// EventCount is how many events of one type (people's or machines') are stored.
type EventCount struct {
	Type    string
	Machine bool
	N       int
}

// EventCounts counts the stored events by type and machine flag.
func (s *Store) EventCounts(ctx context.Context) ([]EventCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, machine, count(*) FROM events GROUP BY type, machine ORDER BY type, machine`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EventCount
	for rows.Next() {
		var c EventCount
		if err := rows.Scan(&c.Type, &c.Machine, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
