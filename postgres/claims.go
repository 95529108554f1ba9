package postgres

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

// HoldClaim implements kith.ClaimStore.
func (s *Store) HoldClaim(ctx context.Context, c kith.Claim, tokenHash string, expires time.Time, limit int, msg kith.OutboxMessage) (bool, error) {
	req, err := json.Marshal(c.Request)
	if err != nil {
		return false, err
	}
	held := false
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		// One claimant at a time per contact: the count below and the insert agree.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE`, c.ContactID); err != nil {
			return err
		}
		var recent int
		if err := tx.GetContext(ctx, &recent, `SELECT count(*) FROM claims WHERE contact_id = $1 AND created_at > $2`,
			c.ContactID, c.At.Add(-24*time.Hour)); err != nil {
			return err
		}
		if recent >= limit {
			return nil // the person gets no more than limit messages a day
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO claims (token_hash, submission_id, contact_id, browser, request, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (submission_id) DO NOTHING`,
			tokenHash, c.Request.Submission.SubmissionID, c.ContactID, c.Browser, string(req), c.At, expires)
		if err != nil {
			return fmt.Errorf("hold claim: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a retry of a submission already held
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, contact_id, payload) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`, msg.ID, msg.Kind, msg.ContactID, string(rawJSON(msg.Payload))); err != nil {
			return fmt.Errorf("enqueue %s: %w", msg.Kind, err)
		}
		held = true
		return nil
	})
	return held, err
}

// TakeClaim implements kith.ClaimStore.
func (s *Store) TakeClaim(ctx context.Context, tokenHash, browser string, now time.Time) (kith.Claim, error) {
	var c kith.Claim
	notFound := kith.Errorf(kith.CodeNotFound, "this link is not valid")
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			ContactID string       `db:"contact_id"`
			Browser   string       `db:"browser"`
			Request   []byte       `db:"request"`
			CreatedAt time.Time    `db:"created_at"`
			ExpiresAt time.Time    `db:"expires_at"`
			AppliedAt sql.NullTime `db:"applied_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT contact_id::text, browser, request, created_at, expires_at, applied_at
			FROM claims WHERE token_hash = $1 FOR UPDATE`, tokenHash)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(row.Browser), []byte(browser)) != 1 || (!row.AppliedAt.Valid && !now.Before(row.ExpiresAt)) {
			return notFound
		}
		if err := json.Unmarshal(row.Request, &c.Request); err != nil {
			return err
		}
		c.ContactID, c.Browser, c.At = row.ContactID, row.Browser, row.CreatedAt
		if !row.AppliedAt.Valid {
			_, err = tx.ExecContext(ctx, `UPDATE claims SET applied_at = $2 WHERE token_hash = $1`, tokenHash, now)
		}
		return err
	})
	return c, err
}
