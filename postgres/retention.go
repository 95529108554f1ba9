package postgres

import (
	"context"
	"time"
)

// DeleteEventsBefore implements kith.RetentionStore: one batch, oldest first.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM events WHERE event_id IN (
		SELECT event_id FROM events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)`, t, limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteQuarantineBudgetsBefore implements kith.RetentionStore.
func (s *Store) DeleteQuarantineBudgetsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM quarantine_budgets WHERE hour < $1`, t)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
