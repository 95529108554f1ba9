package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

const selectDelivery = `d.id, d.contact_id::text, d.rule, d.template, d.purpose, d.occurrence, d.status, COALESCE(d.reason, ''),
	d.events::text, d.due_at, COALESCE(d.provider_message_id, ''), COALESCE(d.last_error, ''), d.created_at, d.segments`

func scanDelivery(row scanner) (kith.DeliveryRecord, error) {
	var r kith.DeliveryRecord
	var events string
	err := row.Scan(&r.ID, &r.ContactID, &r.Rule, &r.Template, &r.Purpose, &r.Occurrence, &r.Status, &r.Reason,
		&events, &r.DueAt, &r.ProviderMessageID, &r.LastError, &r.CreatedAt, pq.Array(&r.Segments))
	if err == nil {
		err = json.Unmarshal([]byte(events), &r.Events)
	}
	return r, err
}

// BeginDelivery implements kith.DeliveryStore.
func (s *Store) BeginDelivery(ctx context.Context, d kith.Delivery) (kith.DeliveryRecord, error) {
	var out kith.DeliveryRecord
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The contact's row is locked, so a consent withdrawal or an archive
		// committing now is either seen here or comes after the send; what the
		// send-time check needs is read with it (the consent under the stored
		// delivery's purpose: a replay names only the id).
		var st sendState
		c, err := scanContact(tx.QueryRowContext(ctx, `SELECT c.status, c.rfm_segment,
				(SELECT reason FROM suppressions WHERE email = lower(c.email)),
				(SELECT status FROM consents WHERE contact_id = c.id AND purpose = COALESCE((SELECT purpose FROM deliveries WHERE id = $3), $2)
					ORDER BY recorded_at DESC, id DESC LIMIT 1),
				`+selectContact+` FROM contacts c WHERE c.id = $1 FOR UPDATE`, d.ContactID, d.Purpose, d.ID),
			&st.status, &st.segment, &st.suppressed, &st.consent)
		if errors.Is(err, sql.ErrNoRows) {
			return kith.Errorf(kith.CodeNotFound, "no contact %q", d.ContactID)
		}
		if err != nil {
			return fmt.Errorf("check delivery: %w", err)
		}
		stored, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+selectDelivery+` FROM deliveries d WHERE d.id = $1`, d.ID))
		isNew := errors.Is(err, sql.ErrNoRows)
		switch {
		case err == nil:
			out = stored
		case isNew:
			out = kith.DeliveryRecord{Delivery: d, CreatedAt: s.now()}
		default:
			return err
		}
		// Checked on every attempt to send (a retry, a replay from the dead
		// letter): consent at the moment of use.
		if out.Status == kith.DeliverySending {
			if reason := st.unsendable(c, out.Purpose, out.Segments); reason != "" {
				out.Status, out.Reason = kith.DeliverySuppressed, reason
			}
		}
		if isNew {
			events, err := json.Marshal(d.Events)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, contact_id, rule, template, purpose, occurrence, status, reason, events, due_at, segments)
				VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9::jsonb, $10, COALESCE($11::text[], '{}'))`,
				d.ID, d.ContactID, d.Rule, d.Template, d.Purpose, d.Occurrence, out.Status, out.Reason, string(events), d.DueAt, pq.Array(d.Segments)); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
		} else if out.Status != stored.Status {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $2, reason = $3 WHERE id = $1`, d.ID, out.Status, out.Reason); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
		}
		if out.Status == kith.DeliverySending {
			out.To, out.Profile, out.Segment = c.Fields[kith.FieldEmail].Value, c.Fields, st.segment.String
		}
		return nil
	})
	return out, err
}

// sendState is what decides at send time whether a message may go: the
// contact's status and RFM segment, its address's suppression and its latest
// consent decision for the delivery's purpose.
type sendState struct {
	status                       string
	segment, suppressed, consent sql.NullString
}

// unsendable is why a message under purpose may not go to c now ("" when it
// may): the contact is not active, the purpose is not granted, the contact is
// not in one of segments (when given), there is no address, or the address is
// suppressed.
func (st sendState) unsendable(c kith.Contact, purpose string, segments []string) string {
	switch {
	case st.status != "active":
		return "contact " + st.status
	case st.consent.String != string(kith.ConsentGranted):
		return "consent " + purpose + " " + cmp.Or(st.consent.String, "not given")
	case len(segments) > 0 && !slices.Contains(segments, st.segment.String):
		return "segment " + cmp.Or(st.segment.String, "none") + " not targeted"
	case c.Fields[kith.FieldEmail].Value == "":
		return "no email address"
	case st.suppressed.Valid:
		return "address suppressed (" + st.suppressed.String + ")"
	}
	return ""
}

// CompleteDelivery implements kith.DeliveryStore.
func (s *Store) CompleteDelivery(ctx context.Context, id, providerMessageID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'accepted', provider_message_id = NULLIF($2, ''), sent_at = now(),
		attempts = attempts + 1, last_error = NULL WHERE id = $1 AND status = 'sending'`, id, providerMessageID)
	return err
}

// FailDelivery implements kith.DeliveryStore.
func (s *Store) FailDelivery(ctx context.Context, id, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', last_error = $2, attempts = attempts + 1
		WHERE id = $1 AND status = 'sending'`, id, reason)
	return err
}

// RetryDelivery implements kith.DeliveryStore.
func (s *Store) RetryDelivery(ctx context.Context, id, actor string) (kith.Delivery, error) {
	r, err := scanDelivery(s.db.QueryRowContext(ctx, `WITH d AS (UPDATE deliveries SET status = 'sending', reason = NULL
			WHERE id = $1 AND status = 'failed' RETURNING *),
		audit AS (INSERT INTO audit_log (actor, action, entity, entity_id, detail)
			SELECT $2, 'delivery_replayed', 'contact', contact_id::text, jsonb_build_object('delivery', id) FROM d)
		SELECT `+selectDelivery+` FROM d`, id, actor))
	if errors.Is(err, sql.ErrNoRows) {
		return kith.Delivery{}, kith.Errorf(kith.CodeNotFound, "no failed delivery %q (see `starter deliveries list -status failed`)", id)
	}
	return r.Delivery, err
}

// ListDeliveries implements kith.DeliveryStore.
func (s *Store) ListDeliveries(ctx context.Context, status kith.DeliveryStatus, limit int) ([]kith.DeliveryRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+selectDelivery+` FROM deliveries d
		WHERE $1 = '' OR d.status = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`, string(status), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.DeliveryRecord
	for rows.Next() {
		r, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Suppress implements kith.SuppressionStore.
func (s *Store) Suppress(ctx context.Context, email, reason string, src kith.Source, ref string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO suppressions (email, reason, source, ref) VALUES (lower($1), $2, $3, NULLIF($4, ''))
		ON CONFLICT (email) DO NOTHING`, email, reason, string(src), ref)
	return err
}
