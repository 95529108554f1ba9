package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// UseIdentityHasher sets the keys erased identities are hashed with (the link
// key and its predecessors). Every process that ingests or erases needs the
// same keys; without any, ErasePostgres refuses and nothing is checked.
func (s *Store) UseIdentityHasher(h kith.IdentityHasher) { s.hasher = h }

// BeginErasure implements kith.ErasureStore.
func (s *Store) BeginErasure(ctx context.Context, contactID, requestedBy string) (kith.ErasureReceipt, error) {
	if _, err := s.db.ExecContext(ctx, `WITH req AS (INSERT INTO erasures (contact_id, requested_by)
			SELECT id, $2 FROM contacts WHERE id = $1 ON CONFLICT (contact_id) DO NOTHING RETURNING contact_id)
		INSERT INTO audit_log (actor, action, entity, entity_id) SELECT $2, 'erasure_requested', 'contact', contact_id::text FROM req`,
		contactID, requestedBy); err != nil {
		return kith.ErasureReceipt{}, err
	}
	return s.Erasure(ctx, contactID)
}

// Erasure implements kith.ErasureStore.
func (s *Store) Erasure(ctx context.Context, contactID string) (kith.ErasureReceipt, error) {
	var r kith.ErasureReceipt
	var completed sql.NullTime
	var steps string
	err := s.db.QueryRowContext(ctx, `SELECT contact_id::text, requested_by, requested_at, completed_at, receipt::text
		FROM erasures WHERE contact_id = $1`, contactID).Scan(&r.ContactID, &r.RequestedBy, &r.RequestedAt, &completed, &steps)
	if errors.Is(err, sql.ErrNoRows) {
		return r, kith.Errorf(kith.CodeNotFound, "no contact and no erasure with id %q", contactID)
	}
	if err != nil {
		return r, err
	}
	r.CompletedAt = completed.Time
	r.Steps, err = receiptSteps(steps)
	return r, err
}

// receiptSteps reads the steps of a stored receipt.
func receiptSteps(receipt string) ([]kith.ErasureStep, error) {
	var body struct {
		Steps []kith.ErasureStep `json:"steps"`
	}
	err := json.Unmarshal([]byte(receipt), &body)
	return body.Steps, err
}

// ErasureDeliveries implements kith.ErasureStore.
func (s *Store) ErasureDeliveries(ctx context.Context, contactID string) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `SELECT d.id FROM deliveries d JOIN (`+erasedSet+`) e ON e.id = d.contact_id ORDER BY d.id`, contactID)
	return ids, err
}

// personCTE names person(id): a person's records, all erased (or exported)
// together: the contact $1's survivor (itself unless it was merged) and
// every contact merged into that survivor, directly or not.
const personCTE = `WITH RECURSIVE up(id, merged_into) AS (SELECT id, merged_into FROM contacts WHERE id = $1
		UNION SELECT c.id, c.merged_into FROM contacts c JOIN up ON c.id = up.merged_into),
	person(id) AS (SELECT id FROM up WHERE merged_into IS NULL
		UNION SELECT c.id FROM contacts c JOIN person ON c.merged_into = person.id)`

// erasedSet lists the person's contacts, survivor first.
const erasedSet = personCTE + ` SELECT p.id FROM person p JOIN contacts c ON c.id = p.id ORDER BY c.merged_into IS NOT NULL, p.id`

// ErasureContacts implements kith.ErasureStore.
func (s *Store) ErasureContacts(ctx context.Context, contactID string) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, erasedSet, contactID)
	return ids, err
}

// erasureParams names an erasure's parameters for the statements below:
// p.ids the erased contacts, p.anon their anonymous ids, p.emails their
// emails, p.phones their phone numbers' digits.
const erasureParams = `WITH p AS (SELECT $1::uuid[] AS ids, $2::text[] AS anon, $3::text[] AS emails, $4::text[] AS phones) `

// The star-schema tables whose rows an erasure deletes, and the keys of the
// erased set's rows there. fact_order rows stay, detached.
var warehouseErasures = []struct{ table, keys string }{
	{"dim_contact", `SELECT id::text FROM contacts, p WHERE id = ANY(p.ids)`},
	{"fact_event", `SELECT event_id FROM events, p WHERE contact_id = ANY(p.ids) OR anonymous_id = ANY(p.anon)`},
	{"fact_ticket", `SELECT id::text FROM tickets, p WHERE contact_id = ANY(p.ids)`},
	{"fact_delivery", `SELECT id FROM deliveries, p WHERE contact_id = ANY(p.ids)`},
}

// erasureDeletes remove, in an order the foreign keys allow, every row that
// names the erased set. Tickets are deleted (their subjects are free text
// about the person); orders are detached (the sale stays in revenue, without
// anyone); the audit log keeps the erasure request (an opaque id and who asked).
var erasureDeletes = []struct{ name, sql string }{
	{"quarantine", `DELETE FROM quarantine q USING p WHERE EXISTS (SELECT 1 FROM unnest(p.emails) e WHERE lower(encode(q.payload, 'escape')) LIKE '%' || e || '%')
		OR EXISTS (SELECT 1 FROM unnest(p.phones) d WHERE regexp_replace(encode(q.payload, 'escape'), '[^0-9]', '', 'g') LIKE '%' || d || '%')`},
	{"suppressions", `DELETE FROM suppressions USING p WHERE email = ANY(p.emails)`},
	{"event_outbox", `DELETE FROM event_outbox USING p WHERE contact_id = ANY(p.ids) OR anonymous_id = ANY(p.anon)`},
	{"events", `DELETE FROM events USING p WHERE contact_id = ANY(p.ids) OR anonymous_id = ANY(p.anon)`},
	{"form_submissions", `DELETE FROM form_submissions USING p WHERE contact_id = ANY(p.ids) OR anonymous_id = ANY(p.anon)`},
	{"consents", `DELETE FROM consents USING p WHERE contact_id = ANY(p.ids)`},
	{"outbox", `DELETE FROM outbox USING p WHERE contact_id = ANY(p.ids)`},
	{"claims", `DELETE FROM claims USING p WHERE contact_id = ANY(p.ids)`},
	{"deliveries", `DELETE FROM deliveries USING p WHERE contact_id = ANY(p.ids)`},
	{"merge_reviews", `DELETE FROM merge_reviews USING p WHERE a_id = ANY(p.ids) OR b_id = ANY(p.ids)`},
	{"merges", `DELETE FROM merges USING p WHERE survivor_id = ANY(p.ids) OR merged_id = ANY(p.ids)`},
	{"contacts_archive", `DELETE FROM contacts_archive USING p WHERE contact_id = ANY(p.ids)`},
	{"tickets", `DELETE FROM tickets USING p WHERE contact_id = ANY(p.ids)`},
	{"audit_log", `DELETE FROM audit_log USING p WHERE entity_id = ANY(p.ids::text[]) AND action <> 'erasure_requested'`},
	{"identities", `DELETE FROM identities USING p WHERE contact_id = ANY(p.ids)`},
	// Derived, without foreign keys (migration 0029): the whole tree's.
	{"contact_keys", `DELETE FROM contact_keys USING p WHERE contact_id = ANY(p.ids)`},
	{"match_values", `DELETE FROM match_values USING p WHERE holder_id = ANY(p.ids)`},
	{"source_records", `DELETE FROM source_records USING p WHERE contact_id = ANY(p.ids)`},
	{"contacts", `DELETE FROM contacts USING p WHERE id = ANY(p.ids)`}, // the whole merge tree at once: merged_into stays within it
}

var nonDigits = regexp.MustCompile(`[^0-9]`)

// ErasePostgres implements kith.ErasureStore, in one transaction.
func (s *Store) ErasePostgres(ctx context.Context, contactID string) (kith.ErasureStep, error) {
	if len(s.hasher.Keys) == 0 {
		return kith.ErasureStep{}, errors.New("erasure needs the identity hash key (the link key, KITH_LINK_KEY)")
	}
	var step kith.ErasureStep
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var receipt string
		if err := tx.QueryRowContext(ctx, `SELECT receipt::text FROM erasures WHERE contact_id = $1 FOR UPDATE`, contactID).Scan(&receipt); err != nil {
			return fmt.Errorf("erasure of %s not begun: %w", contactID, err)
		}
		done, err := receiptSteps(receipt)
		if err != nil {
			return err
		}
		if prev, ok := (kith.ErasureReceipt{Steps: done}).Step(kith.ErasureStorePostgres); ok {
			step = prev // done before a crash lost the activity's result
			return nil
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
			return err
		}
		var ids []string
		if err := tx.SelectContext(ctx, &ids, erasedSet, contactID); err != nil {
			return err
		}
		var idents []kith.Identity
		if err := tx.SelectContext(ctx, &idents, `SELECT kind, namespace, value FROM identities WHERE contact_id = ANY($1::uuid[])
			UNION SELECT 'email', '', lower(email) FROM contacts WHERE id = ANY($1::uuid[]) AND email IS NOT NULL
			UNION SELECT 'phone', '', phone FROM contacts WHERE id = ANY($1::uuid[]) AND phone IS NOT NULL`, pq.Array(ids)); err != nil {
			return err
		}
		var anon, emails, phones, hashes, kinds []string
		for _, id := range idents {
			switch id.Kind {
			case kith.IdentityAnonymous:
				anon = append(anon, id.Value)
				continue
			case kith.IdentityEmail:
				emails = append(emails, id.Value)
			case kith.IdentityPhone:
				if d := nonDigits.ReplaceAllString(id.Value, ""); len(d) >= 8 {
					phones = append(phones, d)
				}
			}
			hashes = append(hashes, s.hasher.Hashes(id)[0])
			kinds = append(kinds, string(id.Kind))
		}
		step = kith.ErasureStep{Store: kith.ErasureStorePostgres, Removed: map[string]int64{}, Detached: map[string]int64{}, At: s.now().UTC()}
		for _, w := range warehouseErasures {
			if _, err := tx.ExecContext(ctx, erasureParams+`INSERT INTO warehouse_erasures (contact_id, table_name, key)
				SELECT $5, $6, k FROM (`+w.keys+`) AS keys(k) ON CONFLICT DO NOTHING`,
				pq.Array(ids), pq.Array(anon), pq.Array(emails), pq.Array(phones), contactID, w.table); err != nil {
				return fmt.Errorf("erase %s: note warehouse rows of %s: %w", contactID, w.table, err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE orders SET contact_id = NULL WHERE contact_id = ANY($1::uuid[])`, pq.Array(ids))
		if err != nil {
			return fmt.Errorf("erase %s: detach orders: %w", contactID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			step.Detached["orders"] = n
		}
		for _, d := range erasureDeletes {
			res, err := tx.ExecContext(ctx, erasureParams+d.sql, pq.Array(ids), pq.Array(anon), pq.Array(emails), pq.Array(phones))
			if err != nil {
				return fmt.Errorf("erase %s: delete from %s: %w", contactID, d.name, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				step.Removed[d.name] = n
			}
		}
		if n, err := s.eraseLakeSpool(ctx, tx, contactID, idents); err != nil {
			return fmt.Errorf("erase %s: %w", contactID, err)
		} else if n > 0 {
			step.Removed["lake_spool"] = n
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO erased_identities (hash, kind) SELECT * FROM unnest($1::text[], $2::text[])
			ON CONFLICT (hash) DO NOTHING`, pq.Array(hashes), pq.Array(kinds)); err != nil {
			return err
		}
		return recordStep(ctx, tx, contactID, step)
	})
	return step, err
}

// recordStep adds (or replaces) a store's step in an erasure's receipt.
func recordStep(ctx context.Context, q sqlx.ExecerContext, contactID string, step kith.ErasureStep) error {
	b, err := json.Marshal(step)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE erasures SET receipt = jsonb_build_object('steps',
		COALESCE((SELECT jsonb_agg(s) FROM jsonb_array_elements(receipt->'steps') s WHERE s->>'store' <> $2), '[]'::jsonb) || jsonb_build_array($3::jsonb))
		WHERE contact_id = $1`, contactID, step.Store, string(b))
	return err
}

// RecordErasureStep implements kith.ErasureStore.
func (s *Store) RecordErasureStep(ctx context.Context, contactID string, step kith.ErasureStep) error {
	return recordStep(ctx, s.db, contactID, step)
}

// PendingWarehouseErasures implements kith.ErasureStore.
func (s *Store) PendingWarehouseErasures(ctx context.Context, contactID string) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, key FROM warehouse_erasures
		WHERE contact_id = $1 AND removed_at IS NULL ORDER BY table_name, key`, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, key string
		if err := rows.Scan(&table, &key); err != nil {
			return nil, err
		}
		out[table] = append(out[table], key)
	}
	return out, rows.Err()
}

// WarehouseErased implements kith.ErasureStore.
func (s *Store) WarehouseErased(ctx context.Context, contactID, table string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE warehouse_erasures SET removed_at = now()
		WHERE contact_id = $1 AND table_name = $2 AND removed_at IS NULL`, contactID, table)
	return err
}

// CompleteErasure implements kith.ErasureStore.
func (s *Store) CompleteErasure(ctx context.Context, contactID string) (kith.ErasureReceipt, error) {
	if _, err := s.db.ExecContext(ctx, `UPDATE erasures SET completed_at = COALESCE(completed_at, now()) WHERE contact_id = $1`, contactID); err != nil {
		return kith.ErasureReceipt{}, err
	}
	return s.Erasure(ctx, contactID)
}

// Erased implements kith.ErasedList: whether any of ids was erased; each
// refusal is counted on the erased identity.
func (s *Store) Erased(ctx context.Context, path string, ids []kith.Identity) (bool, error) {
	return erased(ctx, s.db, s.hasher, path, ids)
}

// erased is erasedAmong for one input.
func erased(ctx context.Context, q sqlx.QueryerContext, h kith.IdentityHasher, path string, ids []kith.Identity) (bool, error) {
	gone, err := erasedAmong(ctx, q, h, path, [][]kith.Identity{ids})
	return err == nil && gone[0], err
}

// ErasedEach implements kith.ErasedList.
func (s *Store) ErasedEach(ctx context.Context, path string, inputs [][]kith.Identity) ([]bool, error) {
	return erasedAmong(ctx, s.db, s.hasher, path, inputs)
}

// erasedAmong is the one check of a batch of inputs against the erased list,
// in q (a transaction's refusals count only if it commits): whether each
// input's identities name an erased person, in one query.
func erasedAmong(ctx context.Context, q sqlx.QueryerContext, h kith.IdentityHasher, path string, inputs [][]kith.Identity) ([]bool, error) {
	byHash := map[string][]int{}
	var hashes []string
	for i, ids := range inputs {
		for _, id := range ids {
			for _, hash := range h.Hashes(id) {
				byHash[hash] = append(byHash[hash], i)
				hashes = append(hashes, hash)
			}
		}
	}
	hits, err := refuse(ctx, q, path, hashes)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(inputs))
	for _, hash := range hits {
		for _, i := range byHash[hash] {
			out[i] = true
		}
	}
	return out, nil
}

// refuse is the one query of the erased list: the hashes in it, each counted
// as refused under path.
func refuse(ctx context.Context, q sqlx.QueryerContext, path string, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	var hits []string
	err := sqlx.SelectContext(ctx, q, &hits, `UPDATE erased_identities SET refused = refused + 1, last_refused_at = now(),
			refused_by = jsonb_set(refused_by, ARRAY[$2], to_jsonb(COALESCE((refused_by->>$2)::int, 0) + 1))
		WHERE hash = ANY($1::text[]) RETURNING hash`, pq.Array(hashes), path)
	return hits, err
}

// dropErased keeps the inputs that name no erased person and counts the others
// (refused, under path), with one query for the batch.
func (s *Store) dropErased(ctx context.Context, tx *sqlx.Tx, path string, in []kith.ContactInput) ([]kith.ContactInput, int, error) {
	ids := make([][]kith.Identity, len(in))
	for i, c := range in {
		ids[i] = kith.IdentitiesOf(c.Fields)
	}
	gone, err := erasedAmong(ctx, tx, s.hasher, path, ids)
	if err != nil {
		return in, 0, err
	}
	kept := make([]kith.ContactInput, 0, len(in))
	for i, c := range in {
		if !gone[i] {
			kept = append(kept, c)
		}
	}
	return kept, len(in) - len(kept), nil
}
