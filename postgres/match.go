package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// keptModels is how many match model versions the store keeps.
const keptModels = 3

// MatchCandidates implements kith.MatchStore: the contact's blocking keys find
// its candidates through the key table's index, at most perKey per key (in id
// order, so a repeat reads the same ones).
func (s *Store) MatchCandidates(ctx context.Context, contactID string, perKey int) (kith.MatchCandidates, error) {
	var out kith.MatchCandidates
	var mergedInto sql.NullString
	var err error
	out.Contact, err = scanContact(s.db.QueryRowContext(ctx, `SELECT c.status, (
			WITH RECURSIVE up(id, status, next) AS (
				SELECT c.id, c.status, c.merged_into
				UNION ALL
				SELECT n.id, n.status, n.merged_into FROM contacts n JOIN up ON n.id = up.next WHERE up.status = 'merged')
			SELECT id::text FROM up WHERE status <> 'merged' AND id <> c.id LIMIT 1),
		`+selectContact+` FROM contacts c WHERE c.id = $1`, contactID), &out.Status, &mergedInto)
	if errors.Is(err, sql.ErrNoRows) {
		return out, kith.Errorf(kith.CodeNotFound, "no contact %q", contactID)
	}
	if err != nil {
		return out, fmt.Errorf("read contact to match: %w", err)
	}
	out.MergedInto = mergedInto.String
	if out.Status != "active" {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+selectContact+` FROM contacts c WHERE c.status = 'active' AND c.id IN (
			SELECT cand.contact_id FROM contact_keys own,
				LATERAL (SELECT k.contact_id FROM contact_keys k WHERE k.key = own.key AND k.contact_id <> $1
					ORDER BY k.contact_id LIMIT $2) cand
			WHERE own.contact_id = $1)
		ORDER BY c.created_at, c.id`, contactID, perKey)
	if err != nil {
		return out, fmt.Errorf("read match candidates: %w", err)
	}
	defer rows.Close()
	ids := []string{contactID}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return out, err
		}
		out.Candidates = append(out.Candidates, c)
		ids = append(ids, c.ID)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	if len(out.Candidates) == 0 {
		return out, nil
	}
	if out.Sources, err = heldSources(ctx, s.db, ids); err != nil {
		return out, err
	}
	out.Decisions, err = s.decisionsAmong(ctx, ids)
	return out, err
}

// mergeTree maps the given contacts and every contact merged into them (and
// into those) to the given contact that holds it. The tree is walked a level
// at a time, each level one indexed lookup by merged_into: a recursive query's
// row estimates misled the planner into reading all of contacts for a batch of
// merges.
func mergeTree(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]string, error) {
	rootOf := make(map[string]string, len(ids))
	for _, id := range ids {
		rootOf[id] = id
	}
	for level := ids; len(level) > 0; {
		rows, err := q.QueryContext(ctx, `SELECT id::text, merged_into::text FROM contacts
			WHERE merged_into = ANY($1::uuid[]) AND status = 'merged'`, uuids(level))
		if err != nil {
			return nil, fmt.Errorf("read merged contacts: %w", err)
		}
		level = nil
		for rows.Next() {
			var id, into string
			if err := rows.Scan(&id, &into); err != nil {
				rows.Close()
				return nil, err
			}
			if _, seen := rootOf[id]; !seen {
				rootOf[id] = rootOf[into]
				level = append(level, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return rootOf, nil
}

// heldSources returns the source records each of the given contacts holds: its
// own and those of the contacts merged into it (and into those), by the given
// contact's id.
func heldSources(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string][]kith.SourceRecord, error) {
	rootOf, err := mergeTree(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	all := make([]string, 0, len(rootOf))
	for id := range rootOf {
		all = append(all, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT s.contact_id::text, s.source, s.ref, s.observed_at, s.fields FROM source_records s
		WHERE s.contact_id = ANY($1::uuid[])`, uuids(all))
	if err != nil {
		return nil, fmt.Errorf("read source records: %w", err)
	}
	held, err := scanSources(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]kith.SourceRecord, len(ids))
	for id, srs := range held {
		out[rootOf[id]] = append(out[rootOf[id]], srs...)
	}
	for _, srs := range out {
		slices.SortStableFunc(srs, func(a, b kith.SourceRecord) int {
			return cmp.Or(strings.Compare(string(a.Source), string(b.Source)), strings.Compare(a.Ref, b.Ref))
		})
	}
	return out, nil
}

// scanSources reads rows of (contact id, source, ref, observed_at, fields)
// into source records by contact id, and closes them.
func scanSources(rows *sql.Rows) (map[string][]kith.SourceRecord, error) {
	defer rows.Close()
	out := map[string][]kith.SourceRecord{}
	for rows.Next() {
		var id string
		var r kith.SourceRecord
		var raw []byte
		if err := rows.Scan(&id, &r.Source, &r.Ref, &r.ObservedAt, &raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &r.Fields); err != nil {
			return nil, fmt.Errorf("source record %s %s: %w", r.Source, r.Ref, err)
		}
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}

// SaveMatchModel implements kith.DedupStore.
func (s *Store) SaveMatchModel(ctx context.Context, m kith.MatchModel) (int64, error) {
	var version int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO match_models (records, model) VALUES ($1, $2) RETURNING version`,
			m.Records, string(m.Model)).Scan(&version); err != nil {
			return fmt.Errorf("save match model: %w", err)
		}
		for kind, counts := range map[string]map[uint64]int32{"f": m.FirstNames, "l": m.LastNames} {
			hashes, ns := make([]int64, 0, len(counts)), make([]int64, 0, len(counts))
			for _, h := range slices.Sorted(maps.Keys(counts)) {
				hashes, ns = append(hashes, int64(h)), append(ns, int64(counts[h]))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO match_name_counts (version, kind, name_hash, n)
				SELECT $1, $2, h, n FROM unnest($3::bigint[], $4::bigint[]) AS t(h, n)`,
				version, kind, pq.Array(hashes), pq.Array(ns)); err != nil {
				return fmt.Errorf("save name counts: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM match_models WHERE version <= $1::bigint - $2::bigint`, version, keptModels)
		return err
	})
	return version, err
}

// MatchModel implements kith.MatchStore.
func (s *Store) MatchModel(ctx context.Context, newerThan int64) (kith.MatchModel, bool, error) {
	var m kith.MatchModel
	var raw []byte
	err := s.db.QueryRowContext(ctx, `SELECT version, trained_at, records, model FROM match_models
		WHERE version > $1 ORDER BY version DESC LIMIT 1`, newerThan).Scan(&m.Version, &m.TrainedAt, &m.Records, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read match model: %w", err)
	}
	m.Model = raw
	m.FirstNames, m.LastNames = map[uint64]int32{}, map[uint64]int32{}
	rows, err := s.db.QueryContext(ctx, `SELECT kind::text, name_hash, n FROM match_name_counts WHERE version = $1`, m.Version)
	if err != nil {
		return m, false, fmt.Errorf("read name counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var h int64
		var n int32
		if err := rows.Scan(&kind, &h, &n); err != nil {
			return m, false, err
		}
		if kind == "f" {
			m.FirstNames[uint64(h)] = n
		} else {
			m.LastNames[uint64(h)] = n
		}
	}
	return m, true, rows.Err()
}

// FoldIntoSurvivor implements kith.MatchStore.
func (s *Store) FoldIntoSurvivor(ctx context.Context, mergedID string, golden func(survivor, merged kith.Contact) map[kith.Field]kith.Value) (string, error) {
	var survivorID string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &survivorID, `WITH RECURSIVE up(id, status, next) AS (
				SELECT id, status, merged_into FROM contacts WHERE id = $1
				UNION ALL
				SELECT n.id, n.status, n.merged_into FROM contacts n JOIN up ON n.id = up.next WHERE up.status = 'merged')
			SELECT COALESCE((SELECT id::text FROM up WHERE status = 'active' AND id <> $1 LIMIT 1), '')`, mergedID); err != nil {
			return fmt.Errorf("find survivor: %w", err)
		}
		if survivorID == "" {
			return nil
		}
		locked, err := lockContacts(ctx, tx, []string{survivorID, mergedID})
		if err != nil {
			return err
		}
		survivor, merged := locked[survivorID], locked[mergedID]
		if survivor.status != "active" || merged.status != "merged" {
			survivorID = ""
			return nil // unmerged or merged on meanwhile: nothing to fold
		}
		fields := golden(survivor.Contact, merged.Contact)
		if maps.EqualFunc(fields, survivor.Fields, func(a, b kith.Value) bool { return a.Value == b.Value }) {
			return nil
		}
		c := survivor.Contact
		c.Fields, c.UpdatedAt = fields, s.now().UTC()
		if err := writeContacts(ctx, tx, []*kith.Contact{&c}); err != nil {
			return err
		}
		return refreshKeys(ctx, tx, []string{survivorID})
	})
	return survivorID, err
}

// MatchModelVersion returns one stored model version, name counts included.
func (s *Store) MatchModelVersion(ctx context.Context, version int64) (kith.MatchModel, error) {
	m, found, err := s.MatchModel(ctx, version-1)
	if err == nil && (!found || m.Version != version) {
		err = kith.Errorf(kith.CodeNotFound, "no match model %d (only the last %d are kept)", version, keptModels)
	}
	return m, err
}

// PartContacts implements kith.PartitionStore: the active contacts that share
// a blocking key in [lo, hi] with another contact (one range scan of the key
// index), or with changedFrom a key of a survivor of the merges from that id
// on (those survivors in Changed), with their source records and the
// reviewers' decisions among them.
func (s *Store) PartContacts(ctx context.Context, lo, hi, changedFrom int64) (kith.MatchCandidates, error) {
	var out kith.MatchCandidates
	blocks, args := `key BETWEEN $1 AND $2`, []any{lo, hi}
	if changedFrom > 0 {
		var changed []blockChange
		if err := s.roundSurvivors(ctx, changedFrom); err != nil {
			return out, err
		}
		// The part's keys (one range scan of the index) semi-joined with the
		// survivors by hash: the planner, taking the unnested array for ten
		// rows, would look up each survivor's keys instead (6.9 s against
		// 0.4 s for an eighth of 1M contacts' keys and 60,000 survivors).
		err := s.bigRead(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
				return err
			}
			return tx.SelectContext(ctx, &changed, `SELECT k.key, k.contact_id::text AS survivor_id FROM contact_keys k
				WHERE k.key BETWEEN $2 AND $3
					AND k.contact_id IN (SELECT unnest(survivors) FROM dedup_rounds WHERE from_merge = $1)`, changedFrom, lo, hi)
		})
		if err != nil {
			return out, fmt.Errorf("read the part's changed blocks: %w", err)
		}
		out.Keys, out.Changed = changedBlocks(changed)
		blocks, args = `key = ANY($1::bigint[])`, []any{pq.Array(out.Keys)}
	}
	return out, s.readBlocks(ctx, &out, blocks, args...)
}

// changedBlocks are the keys and the survivors of a later round's part's
// (key, survivor) rows, each sorted and once.
func changedBlocks(changed []blockChange) (keys []int64, survivors []string) {
	for _, c := range changed {
		keys, survivors = append(keys, c.Key), append(survivors, c.Survivor)
	}
	slices.Sort(keys)
	slices.Sort(survivors)
	return slices.Compact(keys), slices.Compact(survivors)
}

// blockChange is a block a later round scores again, with a survivor in it.
type blockChange struct {
	Key      int64  `db:"key"`
	Survivor string `db:"survivor_id"`
}

// readBlocks reads into out the contacts of the blocks (of contact_keys)
// that blocks selects, those of one contact left out, and the decisions
// among them.
func (s *Store) readBlocks(ctx context.Context, out *kith.MatchCandidates, blocks string, args ...any) error {
	err := s.bigRead(ctx, func(tx *sqlx.Tx) error {
		var err error
		out.Rows, err = readHolders(ctx, tx, `SELECT DISTINCT contact_id FROM (
				SELECT contact_id, count(*) OVER (PARTITION BY key) AS n FROM contact_keys WHERE `+blocks+`) k
			WHERE n > 1`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("read the part's contacts: %w", err)
	}
	return s.withDecisions(ctx, out)
}

// PartProfiles implements kith.PartitionStore: the round's new profiles are
// keyed once (roundProfiles) and each part reads its range of those keys.
func (s *Store) PartProfiles(ctx context.Context, lo, hi, changedFrom int64) (kith.MatchCandidates, error) {
	var out kith.MatchCandidates
	if err := s.roundProfiles(ctx, changedFrom); err != nil {
		return out, err
	}
	var changed []blockChange
	if err := s.db.SelectContext(ctx, &changed, `SELECT key, survivor_id::text AS survivor_id FROM dedup_round_keys
		WHERE from_merge = $1 AND key BETWEEN $2 AND $3`, changedFrom, lo, hi); err != nil {
		return out, fmt.Errorf("read the part's new profiles' keys: %w", err)
	}
	out.Keys, out.Changed = changedBlocks(changed)
	if len(out.Keys) == 0 {
		return out, nil
	}
	return out, s.readBlocks(ctx, &out, `key = ANY($1::bigint[])`, pq.Array(out.Keys))
}

// RoundKeys implements kith.PartitionStore. The list's keys are the
// planner's count of contact_keys, which RefreshStatistics keeps current.
func (s *Store) RoundKeys(ctx context.Context, changedFrom int64) (round, list int64, err error) {
	if err := s.roundProfiles(ctx, changedFrom); err != nil {
		return 0, 0, err
	}
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM dedup_round_keys WHERE from_merge = $1),
		(SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'contact_keys'::regclass)`, changedFrom).Scan(&round, &list)
	if err != nil {
		return 0, 0, fmt.Errorf("count the round's keys: %w", err)
	}
	return round, list, nil
}

// dropOldRounds is the WITH clause that deletes the rounds written a day ago
// or more, put before each statement that writes a round's row; roundMerges
// are the merges of the round before ($1: its first merge) still in force.
const (
	dropOldRounds = `WITH old AS (DELETE FROM dedup_rounds WHERE written_at < now() - interval '1 day')`
	roundMerges   = `merges WHERE id >= $1 AND undone_at IS NULL`
)

// roundKeysBatch is how many (key, survivor) rows roundProfiles writes in one
// statement.
const roundKeysBatch = 50000

// roundProfiles writes, unless a part of the round did, the blocking keys of
// the new profiles of the survivors of the merges from merge id from on
// (dedup_round_keys, migration 0027): a survivor whose merges kept its
// profile (merges.survivor_rewritten, migration 0030) or whose profile's
// values are a record's it holds has none. The first to ask (PlanRound, before
// the round's parts start; in runs before dedup-round-parts, the first part)
// inserts the round's row and keys them in the same transaction; a part
// starting meanwhile waits on that row, then reads the keys.
func (s *Store) roundProfiles(ctx context.Context, from int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, dropOldRounds+`
			INSERT INTO dedup_rounds (from_merge, survivors) VALUES ($1, '{}') ON CONFLICT DO NOTHING`, from)
		if err != nil {
			return fmt.Errorf("write the round: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // written by another part
		}
		// The survivors through merges_rewritten (migration 0031), then
		// their rows through the holder index: the planner, reckoning
		// without the round's merges, read every merge of the round and
		// joined match_values to them, 7.5 GB and 11.5 s at 10M contacts.
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		var survivors []string
		if err := tx.SelectContext(ctx, &survivors, `SELECT DISTINCT survivor_id::text FROM `+roundMerges+` AND survivor_rewritten IS NOT FALSE`, from); err != nil {
			return fmt.Errorf("read the round's survivors: %w", err)
		}
		held, err := readValues(ctx, tx, `match_values v WHERE v.holder_id = ANY($1::uuid[])`, uuids(survivors))
		if err != nil {
			return fmt.Errorf("read the round's new profiles: %w", err)
		}
		var keys []int64
		var owners []string
		for i, j := 0, 0; i < len(held); i = j {
			for j = i + 1; j < len(held) && held[j].Holder == held[i].Holder; j++ {
			}
			profile := held[i] // a holder's profile row sorts first
			if profile.Source != "" || slices.ContainsFunc(held[i+1:j], func(r kith.MatchRow) bool { return slices.Equal(r.Values, profile.Values) }) {
				continue // no profile, or one a record it holds was scored as
			}
			for _, k := range valuesKeys(profile.Holder, profile.Values) {
				keys, owners = append(keys, k), append(owners, profile.Holder)
			}
		}
		for i := 0; i < len(keys); i += roundKeysBatch {
			j := min(i+roundKeysBatch, len(keys))
			if _, err := tx.ExecContext(ctx, `INSERT INTO dedup_round_keys (from_merge, key, survivor_id)
				SELECT $1, k, h FROM unnest($2::bigint[], $3::uuid[]) AS u(k, h) ON CONFLICT DO NOTHING`,
				from, pq.Array(keys[i:j]), uuids(owners[i:j])); err != nil {
				return fmt.Errorf("write the round's new profiles' keys: %w", err)
			}
		}
		return nil
	})
}

// roundSurvivors writes, unless a part of the round did, the survivors of the
// merges from merge id from on (dedup_rounds, migration 0026): one read of the
// round's merges instead of one for each part. Two parts starting together
// may both read them; one row is kept.
func (s *Store) roundSurvivors(ctx context.Context, from int64) error {
	var written bool
	if err := s.db.GetContext(ctx, &written, `SELECT EXISTS (SELECT 1 FROM dedup_rounds WHERE from_merge = $1)`, from); err != nil {
		return fmt.Errorf("read the round's survivors: %w", err)
	}
	if written {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, dropOldRounds+`
		INSERT INTO dedup_rounds (from_merge, survivors)
		SELECT $1, coalesce(array_agg(DISTINCT survivor_id), '{}') FROM `+roundMerges+`
		ON CONFLICT DO NOTHING`, from); err != nil {
		return fmt.Errorf("write the round's survivors: %w", err)
	}
	return nil
}

// ContactsByID implements kith.PartitionStore: active contacts with their
// source records and the decisions among them; values as PartContacts reads
// them.
func (s *Store) ContactsByID(ctx context.Context, ids []string) (kith.MatchCandidates, error) {
	var out kith.MatchCandidates
	err := s.bigRead(ctx, func(tx *sqlx.Tx) error {
		var err error
		out.Rows, err = readHolders(ctx, tx, `SELECT DISTINCT unnest($1::uuid[])`, uuids(ids))
		return err
	})
	if err != nil {
		return out, err
	}
	return out, s.withDecisions(ctx, &out)
}

// ContactPages implements kith.PartitionStore: the pages of match_values.
func (s *Store) ContactPages(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.GetContext(ctx, &n, `SELECT pg_relation_size('match_values') / current_setting('block_size')::bigint`)
	return n, err
}

// ActiveInPages implements kith.PartitionStore: the contacts whose profile
// rows of match_values are in the pages (a TID range scan, PostgreSQL 14 and
// later), with the records they hold wherever those are (readHolders).
func (s *Store) ActiveInPages(ctx context.Context, from, to int64) (kith.MatchCandidates, error) {
	var out kith.MatchCandidates
	where, args := `p.ctid >= $1::tid`, []any{fmt.Sprintf("(%d,0)", from)}
	if to > 0 {
		where, args = where+` AND p.ctid < $2::tid`, append(args, fmt.Sprintf("(%d,0)", to))
	}
	err := s.bigRead(ctx, func(tx *sqlx.Tx) error {
		var err error
		out.Rows, err = readHolders(ctx, tx, `SELECT p.holder_id FROM match_values p WHERE `+where+` AND p.source = ''`, args...)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("read contacts in pages %d-%d: %w", from, to, err)
	}
	return out, nil
}

// withDecisions reads the reviewers' decisions among the candidates.
func (s *Store) withDecisions(ctx context.Context, out *kith.MatchCandidates) error {
	var ids []string
	for _, r := range out.Rows {
		if r.Source == "" {
			ids = append(ids, r.Holder)
		}
	}
	var err error
	out.Decisions, err = s.decisionsAmong(ctx, ids)
	return err
}

// decidedLookups is up to how many contacts decisionsAmong looks up by id:
// a new contact's candidates, a merge batch's members.
var decidedLookups = 2000

// decisionsAmong are the reviewers' decisions on pairs of the given contacts.
// For more contacts than decidedLookups (a part of a partitioned run, with
// hundreds of thousands), the decided pairs are read whole through
// merge_reviews_decided (migration 0032) when there are no more of them than
// contacts, and kept if both contacts are given: looking the contacts up sent
// their ids for each part and scanned every review pair, 30 s at 10M
// contacts for no decision.
func (s *Store) decisionsAmong(ctx context.Context, ids []string) (map[[2]string]bool, error) {
	if len(ids) > decidedLookups {
		rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, status = 'merge' FROM merge_reviews
			WHERE status <> 'pending' LIMIT $1`, len(ids)+1)
		if err != nil {
			return nil, fmt.Errorf("read review decisions: %w", err)
		}
		decided, err := scanDecisions(rows)
		if err != nil {
			return nil, err
		}
		if len(decided) <= len(ids) {
			given := make(map[string]bool, len(ids))
			for _, id := range ids {
				given[id] = true
			}
			for pair := range decided {
				if !given[pair[0]] || !given[pair[1]] {
					delete(decided, pair)
				}
			}
			return decided, nil
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, status = 'merge' FROM merge_reviews
		WHERE status <> 'pending' AND a_id = ANY($1::uuid[]) AND b_id = ANY($1::uuid[])`, uuids(ids))
	if err != nil {
		return nil, fmt.Errorf("read review decisions: %w", err)
	}
	return scanDecisions(rows)
}

// SaveLinks implements kith.PartitionStore.
func (s *Store) SaveLinks(ctx context.Context, runID string, links []kith.DedupLink) error {
	for chunk := range slices.Chunk(links, 5000) {
		as, bs, ps, acc, rs := make([]string, len(chunk)), make([]string, len(chunk)), make([]float64, len(chunk)), make([]bool, len(chunk)), make([]string, len(chunk))
		for i, l := range chunk {
			as[i], bs[i], ps[i], acc[i], rs[i] = l.A, l.B, l.Probability, l.Accepted, l.Reason
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO dedup_links (run_id, a_id, b_id, probability, accepted, reason)
			SELECT $1, a, b, p, acc, nullif(r, '') FROM unnest($2::uuid[], $3::uuid[], $4::float8[], $5::bool[], $6::text[]) AS t(a, b, p, acc, r)
			ON CONFLICT (run_id, a_id, b_id) DO UPDATE SET accepted = dedup_links.accepted OR EXCLUDED.accepted,
				probability = CASE WHEN EXCLUDED.accepted AND NOT dedup_links.accepted THEN EXCLUDED.probability ELSE greatest(dedup_links.probability, EXCLUDED.probability) END`, runID, uuids(as), uuids(bs), pq.Array(ps), pq.Array(acc), pq.Array(rs)); err != nil {
			return fmt.Errorf("save links: %w", err)
		}
	}
	return nil
}

// EachLink implements kith.PartitionStore: a run's links, then the reviewers'
// merge decisions between active contacts (they link whatever the scores).
func (s *Store) EachLink(ctx context.Context, runID string, f func(kith.DedupLink) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT a_id::text, b_id::text, probability, accepted, coalesce(reason, '') FROM dedup_links WHERE run_id = $1
		UNION ALL
		SELECT r.a_id::text, r.b_id::text, 1, true, '' FROM merge_reviews r
			JOIN contacts a ON a.id = r.a_id AND a.status = 'active' JOIN contacts b ON b.id = r.b_id AND b.status = 'active'
		WHERE r.status = 'merge'`, runID)
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l kith.DedupLink
		if err := rows.Scan(&l.A, &l.B, &l.Probability, &l.Accepted, &l.Reason); err != nil {
			return err
		}
		if err := f(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DropLinks implements kith.PartitionStore.
func (s *Store) DropLinks(ctx context.Context, runID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM dedup_links WHERE run_id = $1`, runID)
	return err
}

// CountActive implements kith.PartitionStore.
func (s *Store) CountActive(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM contacts WHERE status = 'active'`)
	return n, err
}
