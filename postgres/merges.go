package postgres

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// mergeSnapshot is what a merge record keeps to undo it. The merged
// contact's profile stays in its own row, which a merge only marks merged,
// so the undo takes it from there, with what was written to it since (writes
// find the survivor through the identities it gave up, but a submission its
// workflow recorded before hearing of the merge lands on it). Records written
// before 2026-12-04 hold a copy of it too ("merged"), which the undo leaves
// alone. The copy was half of a snapshot's bytes.
type mergeSnapshot struct {
	Identities []kith.Identity `json:"identities"`
	Survivor   kith.Contact    `json:"survivor"` // before the merge
}

// MergeContacts implements kith.MergeStore: the merges are applied in one
// transaction, with a fixed number of statements however many there are.
// Merges of other contacts run side by side (the parts of a de-duplication
// run): they hold the identity lock shared, which keeps out the writes that
// look contacts up by identity, and lock their contacts' rows in id order.
func (s *Store) MergeContacts(ctx context.Context, ms ...kith.Merge) ([]int64, error) {
	var ids []int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, identityLock); err != nil {
			return err
		}
		var all []string
		seen := map[string]bool{}
		for _, m := range ms {
			for i, id := range append([]string{m.SurvivorID}, m.MergedIDs...) {
				if i > 0 && id == m.SurvivorID {
					continue
				}
				if seen[id] {
					return fmt.Errorf("contact %s is in two merges of one batch", id)
				}
				seen[id] = true
				all = append(all, id)
			}
		}
		contacts, err := lockContacts(ctx, tx, all)
		if err != nil {
			return err
		}
		var pairs []mergePair
		var survivors []*kith.Contact
		oldKeys := map[string][]int64{}  // of a survivor's profile before
		profiles := map[string][]int64{} // of a rewritten survivor's new profile
		for _, m := range ms {
			survivor, ok := contacts[m.SurvivorID]
			if !ok {
				return kith.Errorf(kith.CodeNotFound, "no contact %q", m.SurvivorID)
			}
			before := survivor.Contact
			merged := 0
			for _, id := range m.MergedIDs {
				c, ok := contacts[id]
				switch {
				case id == m.SurvivorID:
					continue
				case !ok:
					return kith.Errorf(kith.CodeNotFound, "no contact %q", id)
				case c.status == "merged" && c.mergedInto == m.SurvivorID:
					continue // applied before: a retry
				case c.status != "active":
					return kith.Errorf(kith.CodeConflict, "contact %s is %s and cannot be merged", id, c.status)
				}
				pairs = append(pairs, mergePair{merge: m, mergedID: id, survivorBefore: before})
				merged++
			}
			if merged == 0 {
				continue
			}
			oldKeys[m.SurvivorID] = profileKeys(&before)
			// A survivor whose profile stays (no golden record, or one
			// that is its profile as it was) is not written at all: of
			// the rows moved to it, only consents change what the
			// warehouse shows of it (dim_contact's email_marketing_consent),
			// and moving a consent marks its contact written
			// (consents_touch_contact, migration 0007). Marking every
			// such survivor was 1.2 million row versions at 10M contacts.
			if len(m.Golden) == 0 {
				continue
			}
			all := []kith.Contact{before}
			for _, id := range m.MergedIDs {
				if c, ok := contacts[id]; ok && id != m.SurvivorID {
					all = append(all, c.Contact)
				}
			}
			g := before
			g.Fields = dedup.Profile(m.Golden, all)
			if m.Unverified {
				g.Fields = dedup.FillOnly(g.Fields, before.Fields)
			}
			if sameProfile(g.Fields, before.Fields) {
				// Most merges of a list's duplicates: the golden
				// record is the survivor's profile as it was, and
				// its row, match values and keys stay as they are.
				continue
			}
			g.UpdatedAt = s.now().UTC()
			survivors = append(survivors, &g)
			profiles[g.ID] = profileKeys(&g)
		}
		if len(pairs) == 0 {
			return nil
		}
		if ids, err = applyMerges(ctx, tx, pairs, profiles); err != nil {
			return err
		}
		if err := writeContacts(ctx, tx, survivors); err != nil {
			return err
		}
		// The survivors hold the merged contacts' source records now; the
		// merged ones are no candidates.
		survivorOf := make(map[string]string, len(pairs))
		for _, p := range pairs {
			survivorOf[p.mergedID] = p.merge.SurvivorID
		}
		return foldKeys(ctx, tx, survivorOf, oldKeys, profiles)
	})
	return ids, err
}

// sameProfile reports whether two profiles hold the same values from the
// same origins.
func sameProfile(a, b map[kith.Field]kith.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for f, x := range a {
		y, ok := b[f]
		if !ok || x.Value != y.Value || !x.At.Equal(y.At) {
			return false
		}
		x.At, y.At = time.Time{}, time.Time{}
		if x.Provenance != y.Provenance {
			return false
		}
	}
	return true
}

// lockedContact is a contact read for update, with its status.
type lockedContact struct {
	kith.Contact
	status     string
	mergedInto string
}

// lockContacts reads and locks the contacts with the given ids, in id order
// so that concurrent merges cannot deadlock. A merge changes no contact's id,
// so the lock is FOR NO KEY UPDATE: it keeps out other merges and writes of
// the same contacts, but not the key-share locks of rows that only refer to
// them. With FOR UPDATE, a merge part queueing its review pairs (whose
// foreign keys key-share-lock both contacts of each pair) deadlocked with
// another part merging one of those contacts: twice in a 10M run, each
// costing a part's retry.
func lockContacts(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]lockedContact, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.status, COALESCE(c.merged_into::text, ''), `+selectContact+`
		FROM contacts c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id FOR NO KEY UPDATE`, uuids(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]lockedContact, len(ids))
	for rows.Next() {
		var l lockedContact
		if l.Contact, err = scanContact(rows, &l.status, &l.mergedInto); err != nil {
			return nil, err
		}
		out[l.ID] = l
	}
	return out, rows.Err()
}

// mergePair is one contact folding into a survivor.
type mergePair struct {
	merge          kith.Merge
	mergedID       string
	survivorBefore kith.Contact
}

// movedIdentity is an identity a merge moved, with the contact it left.
type movedIdentity struct {
	ContactID string `db:"contact_id"`
	kith.Identity
}

// applyMerges records each pair with its snapshot and moves the merged contacts'
// identities and rows to their survivors; it returns the merge record ids, in
// the pairs' order. profiles has (as keys) the survivors whose profile the
// merges rewrite.
func applyMerges(ctx context.Context, tx *sqlx.Tx, pairs []mergePair, profiles map[string][]int64) ([]int64, error) {
	mergedIDs := make([]string, len(pairs))
	for i, p := range pairs {
		mergedIDs[i] = p.mergedID
	}
	survivorIDs, keep := make([]string, len(pairs)), make([]bool, len(pairs))
	for i, p := range pairs {
		survivorIDs[i], keep[i] = p.merge.SurvivorID, p.merge.Unverified
	}
	// The identities move first, and those that moved are the snapshot's: an
	// undo moves them back (an unverified merge leaves the merged contact its
	// anonymous ids, which need no undoing).
	var idents []movedIdentity
	if err := tx.SelectContext(ctx, &idents, `UPDATE identities t SET contact_id = u.s FROM unnest($1::uuid[], $2::uuid[], $3::bool[]) AS u(m, s, keep)
		WHERE t.contact_id = u.m AND NOT (u.keep AND t.kind = 'anonymous')
		RETURNING u.m::text AS contact_id, t.kind, t.namespace, t.value`, uuids(mergedIDs), uuids(survivorIDs), pq.Array(keep)); err != nil {
		return nil, fmt.Errorf("move identities: %w", err)
	}
	slices.SortFunc(idents, func(a, b movedIdentity) int {
		return cmp.Or(strings.Compare(a.ContactID, b.ContactID), strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Value, b.Value))
	})
	byContact := map[string][]kith.Identity{}
	for _, i := range idents {
		byContact[i.ContactID] = append(byContact[i.ContactID], i.Identity)
	}
	scores, reasons, actors := make([]float64, len(pairs)), make([]string, len(pairs)), make([]string, len(pairs))
	rewrote := make([]bool, len(pairs))
	// The snapshots go as one JSON array: as a text[], each one's quotes
	// were escaped byte by byte (pq.StringArray), 7 s of a worker's CPU.
	var snaps bytes.Buffer
	snaps.WriteByte('[')
	for i, p := range pairs {
		_, rewrote[i] = profiles[p.merge.SurvivorID]
		snap, err := json.Marshal(mergeSnapshot{Identities: byContact[p.mergedID], Survivor: p.survivorBefore})
		if err != nil {
			return nil, err
		}
		if i > 0 {
			snaps.WriteByte(',')
		}
		snaps.Write(snap)
		scores[i], reasons[i], actors[i] = p.merge.Score, p.merge.Reason, p.merge.Actor
	}
	snaps.WriteByte(']')
	rows, err := tx.QueryContext(ctx, `INSERT INTO merges (survivor_id, merged_id, score, reason, actor, snapshot, survivor_rewritten)
		SELECT s, m, sc, r, a, sn, rw FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[], $5::text[], $7::bool[])
			WITH ORDINALITY AS u(s, m, sc, r, a, rw, n)
			JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS j(sn, n) USING (n)
		ORDER BY n RETURNING id`, uuids(survivorIDs), uuids(mergedIDs), pq.Array(scores), pq.Array(reasons), pq.Array(actors), snaps.String(), pq.Array(rewrote))
	if err != nil {
		return nil, fmt.Errorf("record merges: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids) // a bigserial: in insertion order, which is the pairs' order
	for _, table := range []string{"events", "form_submissions", "orders", "tickets", "consents", "outbox"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` t SET contact_id = u.s FROM unnest($1::uuid[], $2::uuid[]) AS u(m, s)
			WHERE t.contact_id = u.m`, uuids(mergedIDs), uuids(survivorIDs)); err != nil {
			return nil, fmt.Errorf("move %s: %w", table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts c SET status = 'merged', merged_into = u.s, updated_at = now()
		FROM unnest($1::uuid[], $2::uuid[]) AS u(m, s) WHERE c.id = u.m`, uuids(mergedIDs), uuids(survivorIDs)); err != nil {
		return nil, err
	}
	return ids, nil
}

// Unmerge implements kith.MergeStore. Only the survivor's latest merge that is
// still in force can be undone (undo later ones first); rows that moved to the
// survivor since stay with it.
func (s *Store) Unmerge(ctx context.Context, mergeID int64, actor string) (kith.Unmerged, error) {
	out := kith.Unmerged{MergeID: mergeID}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var survivorID, mergedID string
		var raw []byte
		var undone *string
		err := tx.QueryRowContext(ctx, `SELECT survivor_id::text, merged_id::text, snapshot, undone_at::text FROM merges WHERE id = $1 FOR UPDATE`, mergeID).
			Scan(&survivorID, &mergedID, &raw, &undone)
		if errors.Is(err, sql.ErrNoRows) {
			return kith.Errorf(kith.CodeNotFound, "no merge %d", mergeID)
		}
		if err != nil {
			return fmt.Errorf("read merge %d: %w", mergeID, err)
		}
		out.SurvivorID, out.MergedID = survivorID, mergedID
		if undone != nil {
			return nil // undone before: a retry
		}
		var later int
		if err := tx.GetContext(ctx, &later, `SELECT count(*) FROM merges WHERE survivor_id = $1 AND id > $2 AND undone_at IS NULL`, survivorID, mergeID); err != nil {
			return err
		}
		if later > 0 {
			return kith.Errorf(kith.CodeConflict, "merge %d has %d later merges into the same contact: undo those first", mergeID, later)
		}
		var snap mergeSnapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			return err
		}
		var values []string
		var kinds, namespaces []string
		for _, id := range snap.Identities {
			kinds, namespaces, values = append(kinds, string(id.Kind)), append(namespaces, id.Namespace), append(values, id.Value)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities i SET contact_id = $1
			FROM unnest($2::text[], $3::text[], $4::text[]) AS t(kind, namespace, value)
			WHERE i.kind = t.kind AND i.namespace = t.namespace AND i.value = t.value`,
			mergedID, pq.Array(kinds), pq.Array(namespaces), pq.Array(values)); err != nil {
			return fmt.Errorf("restore identities: %w", err)
		}
		now := s.now().UTC()
		survivor := snap.Survivor
		survivor.UpdatedAt = now
		if err := writeContacts(ctx, tx, []*kith.Contact{&survivor}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active', merged_into = NULL, updated_at = $2 WHERE id = $1`, mergedID, now); err != nil {
			return err
		}
		if err := refreshKeys(ctx, tx, []string{mergedID, survivorID}); err != nil {
			return err
		}
		// A person undid it: the pair stays apart, whatever later runs score.
		a, b := orderedPair(survivorID, mergedID)
		if _, err := tx.ExecContext(ctx, `INSERT INTO merge_reviews (a_id, b_id, probability, status, decided_by, decided_at, reason)
			SELECT $1, $2, score, 'keep_apart', $3, now(), 'merge undone' FROM merges WHERE id = $4
			ON CONFLICT (a_id, b_id) DO UPDATE SET status = 'keep_apart', decided_by = $3, decided_at = now()`, a, b, actor, mergeID); err != nil {
			return fmt.Errorf("keep the pair apart: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE merges SET undone_at = now(), reason = reason || ' (undone by ' || $2 || ')' WHERE id = $1`, mergeID, actor)
		return err
	})
	return out, err
}

func orderedPair(a, b string) (string, string) {
	if a > b {
		return b, a
	}
	return a, b
}

// QueueReview implements kith.MergeStore.
func (s *Store) QueueReview(ctx context.Context, pairs []kith.ReviewPair) error {
	// One statement a batch (a run queues tens of thousands of pairs), with
	// each pair once: the last one given wins, as it would one by one.
	type row struct {
		a, b, reason string
		p            float64
	}
	last := make(map[[2]string]row, len(pairs))
	for _, p := range pairs {
		a, b := orderedPair(p.A, p.B)
		last[[2]string{a, b}] = row{a, b, p.Reason, p.Probability}
	}
	// In pair order, so that two runs queueing side by side cannot deadlock.
	rows := slices.SortedFunc(maps.Values(last), func(x, y row) int { return cmp.Or(strings.Compare(x.a, y.a), strings.Compare(x.b, y.b)) })
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for batch := range slices.Chunk(rows, reviewBatch) {
			as, bs, ps, rs := make([]string, len(batch)), make([]string, len(batch)), make([]float64, len(batch)), make([]string, len(batch))
			for i, r := range batch {
				as[i], bs[i], ps[i], rs[i] = r.a, r.b, r.p, r.reason
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO merge_reviews (a_id, b_id, probability, reason)
				SELECT a, b, p, nullif(r, '') FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[]) WITH ORDINALITY AS u(a, b, p, r, n) ORDER BY n
				ON CONFLICT (a_id, b_id) DO UPDATE SET probability = EXCLUDED.probability, reason = EXCLUDED.reason
				WHERE merge_reviews.status = 'pending'`,
				uuids(as), uuids(bs), pq.Array(ps), pq.Array(rs)); err != nil {
				return fmt.Errorf("queue review: %w", err)
			}
		}
		return nil
	})
}

// reviewBatch is how many review pairs one statement queues.
const reviewBatch = 5000

// DecideReview implements kith.MergeStore.
func (s *Store) DecideReview(ctx context.Context, a, b string, merge bool, actor string) error {
	a, b = orderedPair(a, b)
	status := "keep_apart"
	if merge {
		status = "merge"
	}
	var n int
	err := s.db.QueryRowContext(ctx, `WITH r AS (UPDATE merge_reviews SET status = $3, decided_by = $4, decided_at = now()
			WHERE a_id = $1 AND b_id = $2 RETURNING a_id, b_id),
		audit AS (INSERT INTO audit_log (actor, action, entity, entity_id, detail)
			SELECT $4, 'review_decided', 'contact', x.id::text, jsonb_build_object('decision', $3::text, 'pair', x.other)
			FROM r, LATERAL (VALUES (r.a_id, r.b_id), (r.b_id, r.a_id)) x(id, other))
		SELECT count(*) FROM r`, a, b, status, actor).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return kith.Errorf(kith.CodeNotFound, "no review of that pair")
	}
	return nil
}

// ReviewDecisions implements kith.MergeStore.
func (s *Store) ReviewDecisions(ctx context.Context) (map[[2]string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, status = 'merge' FROM merge_reviews WHERE status <> 'pending'`)
	if err != nil {
		return nil, err
	}
	return scanDecisions(rows)
}

// scanDecisions reads rows of (a, b, merge) into decisions by pair, and closes
// them.
func scanDecisions(rows *sql.Rows) (map[[2]string]bool, error) {
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var a, b string
		var merge bool
		if err := rows.Scan(&a, &b, &merge); err != nil {
			return nil, err
		}
		out[[2]string{a, b}] = merge
	}
	return out, rows.Err()
}

// LastMergeID implements kith.PartitionStore.
func (s *Store) LastMergeID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT coalesce(max(id), 0) FROM merges`)
	return id, err
}

// MergesAfter implements kith.PartitionStore.
func (s *Store) MergesAfter(ctx context.Context, after int64, actor string) (int64, int, error) {
	var r struct {
		First int64 `db:"first"`
		N     int   `db:"n"`
	}
	err := s.db.GetContext(ctx, &r, `SELECT coalesce(min(id), 0) AS first, count(*) AS n FROM merges WHERE id > $1 AND actor = $2`, after, actor)
	return r.First, r.N, err
}

// ActiveContacts returns every active contact, oldest first.
func (s *Store) ActiveContacts(ctx context.Context) ([]kith.Contact, error) {
	return s.contacts(ctx, `WHERE c.status = 'active' ORDER BY c.created_at, c.id`)
}

// ActiveSourceRecords implements kith.DedupStore: the source records of every
// active contact, and of the contacts merged into it (they stay with the
// contact that received them, so an unmerge needs nothing moved back).
func (s *Store) ActiveSourceRecords(ctx context.Context) (map[string][]kith.SourceRecord, error) {
	rows, err := s.db.QueryContext(ctx, `
		WITH RECURSIVE root(id, active) AS (
			SELECT id, id FROM contacts WHERE status = 'active'
			UNION ALL
			SELECT c.id, r.active FROM contacts c JOIN root r ON c.merged_into = r.id WHERE c.status = 'merged')
		SELECT r.active::text, s.source, s.ref, s.observed_at, s.fields
		FROM source_records s JOIN root r ON r.id = s.contact_id
		ORDER BY r.active, s.source, s.ref`)
	if err != nil {
		return nil, fmt.Errorf("read source records: %w", err)
	}
	return scanSources(rows)
}

// contacts returns the contacts a WHERE … ORDER BY … clause selects.
func (s *Store) contacts(ctx context.Context, where string, args ...any) ([]kith.Contact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+selectContact+` FROM contacts c `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PendingReviews returns up to limit pairs waiting for a decision, the most
// likely matches first.
func (s *Store) PendingReviews(ctx context.Context, limit int) ([]kith.ReviewPair, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, probability, coalesce(reason, '') FROM merge_reviews
		WHERE status = 'pending' ORDER BY probability DESC, a_id, b_id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kith.ReviewPair
	for rows.Next() {
		var p kith.ReviewPair
		if err := rows.Scan(&p.A, &p.B, &p.Probability, &p.Reason); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
