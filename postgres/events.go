package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// InsertEvents implements kith.EventStore with the events API's rules
// (prepareEvents, appendEvents): events whose event_id is stored already are
// ignored, so a redelivery never duplicates a row.
func (s *Store) InsertEvents(ctx context.Context, events []kith.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	if err := checkEvents(events); err != nil {
		return 0, err
	}
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		prepared, err := prepareEvents(ctx, tx, events)
		if err != nil {
			return err
		}
		stored, err := appendEvents(ctx, tx, prepared)
		n = len(stored)
		return err
	})
	return n, err
}

// Quarantine implements kith.EventStore.
func (s *Store) Quarantine(ctx context.Context, q []kith.Quarantined) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := s.quarantine(ctx, tx, q)
		return err
	})
}

// withinBudget charges r to its client's hourly quarantine budget and says
// whether it fits; what does not is counted as dropped. The budget row is
// locked until the transaction ends, so concurrent refusals add up.
func withinBudget(ctx context.Context, tx *sqlx.Tx, r kith.Quarantined, capBytes int64) (bool, error) {
	n := int64(len(r.Payload))
	var kept bool
	err := tx.QueryRowContext(ctx, `INSERT INTO quarantine_budgets AS b (client, hour) VALUES ($1, date_trunc('hour', now()))
		ON CONFLICT (client, hour) DO UPDATE SET client = b.client
		RETURNING b.kept_bytes + $2 <= $3`, r.Client, n, capBytes).Scan(&kept)
	if err != nil {
		return false, fmt.Errorf("quarantine budget: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE quarantine_budgets SET
			kept = kept + CASE WHEN $3 THEN 1 ELSE 0 END, kept_bytes = kept_bytes + CASE WHEN $3 THEN $2 ELSE 0 END,
			dropped = dropped + CASE WHEN $3 THEN 0 ELSE 1 END, dropped_bytes = dropped_bytes + CASE WHEN $3 THEN 0 ELSE $2 END
		WHERE client = $1 AND hour = date_trunc('hour', now())`, r.Client, n, kept)
	return kept, err
}

// quarantine stores rejected input once per (source, ref) and returns how many rows
// were new; an anonymous client's input only within its hourly budget.
func (s *Store) quarantine(ctx context.Context, tx *sqlx.Tx, q []kith.Quarantined) (int, error) {
	if len(q) == 0 {
		return 0, nil
	}
	var sources, refs, violations []string
	var payloads [][]byte
	for _, r := range q {
		if r.Client != "" {
			kept, err := withinBudget(ctx, tx, r, cmp.Or(s.quarantineCap, DefaultQuarantineCap))
			if err != nil {
				return 0, err
			}
			if !kept {
				continue
			}
		}
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
