package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
)

// identityLock serializes the creation of identities, so two concurrent upserts of
// the same new email cannot create two contacts.
const identityLock = 0x6b697469

// profileColumns are the contacts columns written by an upsert, in COPY order.
var profileColumns = func() []string {
	cols := []string{"id"}
	for _, f := range kith.ProfileFields {
		cols = append(cols, string(f))
	}
	return append(cols, "field_provenance", "created_at", "updated_at")
}()

// UpsertContacts implements kith.ContactStore.
func (s *Store) UpsertContacts(ctx context.Context, in []kith.ContactInput) (kith.UpsertResult, error) {
	var res kith.UpsertResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		res, err = s.upsertContacts(ctx, tx, in)
		return err
	})
	return res, err
}

// upsertContacts resolves each input by its email identity (or, without an
// email, by its record key), merges it into the existing contact
// (kith.Contact.Merge) or creates one, and writes every changed contact with one
// COPY and one INSERT … ON CONFLICT.
func (s *Store) upsertContacts(ctx context.Context, tx *sqlx.Tx, in []kith.ContactInput) (kith.UpsertResult, error) {
	var res kith.UpsertResult
	in, refused, err := s.dropErased(ctx, tx, "import", in)
	res.Refused = refused
	if err != nil || len(in) == 0 {
		return res, err
	}
	keys := make([]kith.Identity, len(in))
	for i, c := range in {
		keys[i] = c.Identity()
		if keys[i].Value == "" {
			return res, fmt.Errorf("contact input %d has neither an email nor a record key", i)
		}
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLock); err != nil {
		return res, err
	}
	existing, err := contactsByIdentity(ctx, tx, keys)
	if err != nil {
		return res, err
	}

	now := s.now().UTC()
	byKey := make(map[kith.Identity]*kith.Contact, len(in))
	keyOf := make(map[*kith.Contact]kith.Identity, len(in))
	var order []*kith.Contact // contacts to write, in input order
	dirty := map[*kith.Contact]bool{}
	created := map[*kith.Contact]bool{}
	for i, c := range in {
		ct, seen := byKey[keys[i]]
		if !seen {
			if old, ok := existing[keys[i]]; ok {
				ct = &kith.Contact{ID: old.ID, Fields: maps.Clone(old.Fields), CreatedAt: old.CreatedAt, UpdatedAt: old.UpdatedAt}
			} else {
				ct = &kith.Contact{ID: s.newID(), CreatedAt: now}
				created[ct] = true
			}
			byKey[keys[i]], keyOf[ct] = ct, keys[i]
			order = append(order, ct)
		}
		ct.Merge(c.Fields)
	}
	// A contact is dirty when its values differ from what was stored: merges that
	// churn within one batch (an older row, then a newer one) and end where they
	// started write nothing.
	for _, ct := range order {
		if created[ct] {
			dirty[ct] = true
			continue
		}
		old := existing[keyOf[ct]]
		for _, f := range kith.ProfileFields {
			if ct.Get(f) != old.Get(f) {
				dirty[ct] = true
				break
			}
		}
	}
	for _, ct := range order {
		switch {
		case created[ct]:
			res.Created++
		case dirty[ct]:
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	// Inputs that repeat a key in the same batch count as unchanged repeats.
	res.Unchanged += len(in) - len(order)

	var write []*kith.Contact
	for _, ct := range order {
		if dirty[ct] {
			ct.UpdatedAt = now
			write = append(write, ct)
		}
	}
	if err := writeContacts(ctx, tx, write); err != nil {
		return res, err
	}
	var newIDs, newKinds, newValues []string
	for _, ct := range order {
		if created[ct] {
			k := keyOf[ct]
			newIDs, newKinds, newValues = append(newIDs, ct.ID), append(newKinds, string(k.Kind)), append(newValues, k.Value)
		}
	}
	if len(newIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO identities (kind, value, contact_id, source)
			SELECT k, v, id::uuid, 'upsert' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(k, v, id)
			ON CONFLICT DO NOTHING`, pq.Array(newKinds), pq.Array(newValues), pq.Array(newIDs)); err != nil {
			return res, fmt.Errorf("insert identities: %w", err)
		}
	}
	contactOf := make([]string, len(in))
	for i := range in {
		contactOf[i] = byKey[keys[i]].ID
	}
	var userIDs, userContacts []string
	for i, c := range in {
		if c.UserID != "" {
			userIDs, userContacts = append(userIDs, c.UserID), append(userContacts, contactOf[i])
		}
	}
	if len(userIDs) > 0 {
		// First holder wins, as with an identify: a user id never moves silently.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO identities (kind, value, contact_id, source)
			SELECT 'user', v, id::uuid, 'import' FROM unnest($1::text[], $2::text[]) AS t(v, id)
			ON CONFLICT DO NOTHING`, pq.Array(userIDs), pq.Array(userContacts)); err != nil {
			return res, fmt.Errorf("insert user ids: %w", err)
		}
	}
	if err := writeFindings(ctx, tx, now, in, func(i int) bool { return dirty[byKey[keys[i]]] }); err != nil {
		return res, fmt.Errorf("count findings: %w", err)
	}
	if err := writeSourceRecords(ctx, tx, in, contactOf); err != nil {
		return res, err
	}
	// The keys of what arrived: each contact's profile now and each input's
	// record. Keys only grow here (an overwritten value's key stays, as its
	// source record does), so nothing is read back.
	blocking := map[string][]int64{}
	for _, ct := range order {
		r := dedup.RecordOf(ct.ID, "", ct.CreatedAt, ct.UpdatedAt, ct.Get)
		blocking[ct.ID] = dedup.BlockingKeys(&r)
	}
	for i, c := range in {
		r := dedup.RecordOf(contactOf[i], "", time.Time{}, time.Time{}, func(f kith.Field) string { return c.Fields[f].Value })
		blocking[contactOf[i]] = append(blocking[contactOf[i]], dedup.BlockingKeys(&r)...)
	}
	return res, addKeys(ctx, tx, blocking)
}

// writeSourceRecords keeps each input that names its source record (a
// provenance Ref) in source_records, beside the contact it went to: the same
// record arriving again updates its row if it is newer.
func writeSourceRecords(ctx context.Context, tx *sqlx.Tx, in []kith.ContactInput, contactOf []string) error {
	var sources, refs, ids, fields []string
	var at []time.Time
	for i, c := range in {
		p := kith.RecordProvenance(c.Fields)
		if p.Ref == "" {
			continue
		}
		b, err := json.Marshal(kith.RecordValues(c.Fields))
		if err != nil {
			return err
		}
		sources, refs, ids, fields, at = append(sources, string(p.Source)), append(refs, p.Ref), append(ids, contactOf[i]),
			append(fields, string(b)), append(at, p.At)
	}
	if len(refs) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO source_records (source, ref, contact_id, fields, observed_at)
		SELECT DISTINCT ON (s, r) s, r, id::uuid, f::jsonb, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS t(s, r, id, f, a)
		ORDER BY s, r, a DESC
		ON CONFLICT (source, ref) DO UPDATE SET fields = EXCLUDED.fields, observed_at = EXCLUDED.observed_at
		WHERE EXCLUDED.observed_at > source_records.observed_at`,
		pq.Array(sources), pq.Array(refs), pq.Array(ids), pq.Array(fields), pq.Array(at))
	if err != nil {
		return fmt.Errorf("keep source records: %w", err)
	}
	return writeArrivedValues(ctx, tx, sources, refs, ids)
}

// SourceRecord returns the values a source record gave as they were stored
// (ok false when the record is not stored: refused, or never seen).
func (s *Store) SourceRecord(ctx context.Context, src kith.Source, ref string) (map[kith.Field]string, bool, error) {
	var raw []byte
	err := s.db.QueryRowContext(ctx, `SELECT fields::text::bytea FROM source_records WHERE source = $1 AND ref = $2`, src, ref).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var values map[kith.Field]string
	return values, true, json.Unmarshal(raw, &values)
}

// selectContact is the column list that scanContact reads, after any leading columns.
var selectContact = func() string {
	cols := []string{"c.id"}
	for _, f := range kith.ProfileFields {
		cols = append(cols, "c."+string(f)+"::text")
	}
	return strings.Join(append(cols, "c.field_provenance", "c.created_at", "c.updated_at"), ", ")
}()

type scanner interface{ Scan(dest ...any) error }

func scanContact(row scanner, lead ...any) (kith.Contact, error) {
	var (
		c    kith.Contact
		prov []byte
		vals = make([]sql.NullString, len(kith.ProfileFields))
	)
	dest := append(lead, &c.ID)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	dest = append(dest, &prov, &c.CreatedAt, &c.UpdatedAt)
	if err := row.Scan(dest...); err != nil {
		return c, err
	}
	provs, err := decodeProvenance(prov)
	if err != nil {
		return c, fmt.Errorf("contact %s: field_provenance: %w", c.ID, err)
	}
	c.Fields = make(map[kith.Field]kith.Value, len(vals))
	for i, f := range kith.ProfileFields {
		if vals[i].Valid {
			c.Fields[f] = kith.Value{Value: vals[i].String, Provenance: provs[f]}
		}
	}
	return c, nil
}

func contactsByIdentity(ctx context.Context, tx *sqlx.Tx, ids []kith.Identity) (map[kith.Identity]kith.Contact, error) {
	kinds, values := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		kinds[i], values[i] = string(id.Kind), id.Value
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT i.kind, i.value, `+selectContact+`
		FROM identities i JOIN contacts c ON c.id = i.contact_id
		WHERE i.namespace = '' AND (i.kind, i.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		FOR UPDATE OF c`, pq.Array(kinds), pq.Array(values))
	if err != nil {
		return nil, fmt.Errorf("look up contacts: %w", err)
	}
	defer rows.Close()
	out := make(map[kith.Identity]kith.Contact, len(ids))
	for rows.Next() {
		var id kith.Identity
		var kind string
		c, err := scanContact(rows, &kind, &id.Value)
		if err != nil {
			return nil, err
		}
		id.Kind = kith.IdentityKind(kind)
		out[id] = c
	}
	return out, rows.Err()
}

// writeContacts copies cs into a temporary table and upserts them in one statement.
func writeContacts(ctx context.Context, tx *sqlx.Tx, cs []*kith.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS contacts_in (LIKE contacts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("create contacts_in: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("contacts_in", profileColumns...))
	if err != nil {
		return fmt.Errorf("copy contacts: %w", err)
	}
	for _, c := range cs {
		prov := make(map[kith.Field]kith.Provenance, len(c.Fields))
		args := []any{c.ID}
		for _, f := range kith.ProfileFields {
			v, ok := c.Fields[f]
			if !ok || v.Value == "" {
				args = append(args, nil)
				continue
			}
			args = append(args, v.Value)
			prov[f] = v.Provenance
		}
		pj, err := encodeProvenance(prov)
		if err != nil {
			stmt.Close()
			return err
		}
		args = append(args, string(pj), c.CreatedAt, c.UpdatedAt)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			stmt.Close()
			return fmt.Errorf("copy contact %s: %w", c.ID, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("copy contacts: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("copy contacts: %w", err)
	}
	set := make([]string, 0, len(profileColumns))
	for _, col := range profileColumns[1:] {
		if col != "created_at" {
			set = append(set, col+" = EXCLUDED."+col)
		}
	}
	cols := strings.Join(profileColumns, ", ")
	_, err = tx.ExecContext(ctx, `INSERT INTO contacts (`+cols+`) SELECT `+cols+` FROM contacts_in
		ON CONFLICT (id) DO UPDATE SET `+strings.Join(set, ", "))
	if err != nil {
		return fmt.Errorf("upsert contacts: %w", err)
	}
	if err := writeProfileValues(ctx, tx, `c.id IN (SELECT id FROM contacts_in)`); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `TRUNCATE contacts_in`)
	return err
}

// Contact implements kith.ContactStore.
func (s *Store) Contact(ctx context.Context, id string) (kith.Contact, error) {
	if _, err := uuid.Parse(id); err != nil {
		return kith.Contact{}, kith.Errorf(kith.CodeNotFound, "no contact %q", id)
	}
	row := s.db.QueryRowContext(ctx, `SELECT `+selectContact+` FROM contacts c WHERE c.id = $1`, id)
	c, err := scanContact(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, kith.Errorf(kith.CodeNotFound, "no contact %q", id)
	}
	return c, err
}

// ContactIDByEmail returns the contact that owns an email identity.
func (s *Store) ContactIDByEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := s.db.GetContext(ctx, &id, `SELECT contact_id::text FROM identities WHERE kind = 'email' AND namespace = '' AND value = $1`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", kith.Errorf(kith.CodeNotFound, "no contact with that email")
	}
	return id, err
}
