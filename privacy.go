package kith

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Erasure (the right to be forgotten): the Erasure workflow removes a contact
// from every store and keeps a receipt that says what was removed where and
// when, in counts. The person's identifiers stay only as keyed hashes, so
// re-ingesting them from any path is refused and counted.

// The stores an erasure removes a contact from, as its receipt names them.
const (
	ErasureStorePostgres = "postgres"
	ErasureStoreBigQuery = "bigquery"
	ErasureStoreTemporal = "temporal"
	ErasureStoreLake     = "lake" // the raw lake's objects on GCS
)

// ErasureReceipt is the record of one erasure, without personal data.
type ErasureReceipt struct {
	ContactID   string        `json:"contact_id"`
	RequestedBy string        `json:"requested_by"`
	RequestedAt time.Time     `json:"requested_at"`
	CompletedAt time.Time     `json:"completed_at,omitzero"`
	Steps       []ErasureStep `json:"steps"`
}

// Step is the receipt's step for store (false when that store is not done).
func (r ErasureReceipt) Step(store string) (ErasureStep, bool) {
	for _, s := range r.Steps {
		if s.Store == store {
			return s, true
		}
	}
	return ErasureStep{}, false
}

// ErasureStep is what an erasure did in one store: rows (or executions)
// removed and detached, by table or kind.
type ErasureStep struct {
	Store    string           `json:"store"`
	Removed  map[string]int64 `json:"removed"`
	Detached map[string]int64 `json:"detached,omitempty"`
	At       time.Time        `json:"at"`
	// Note says why a store had nothing to do (no warehouse configured).
	Note string `json:"note,omitempty"`
}

// IdentityHasher makes the keyed hashes an erased person's identifiers are
// kept as: HMAC-SHA256 of the identity's kind, namespace and standardized
// value. Keys[0] hashes new entries; every key is checked, so the key can
// rotate (the link key and its predecessors).
type IdentityHasher struct {
	Keys [][]byte
}

// Hashes are id's hashes, one per key (Keys[0]'s first).
func (h IdentityHasher) Hashes(id Identity) []string {
	out := make([]string, 0, len(h.Keys))
	for _, k := range h.Keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("kith-erasure\x00" + string(id.Kind) + "\x00" + id.Namespace + "\x00" + id.Value))
		out = append(out, hex.EncodeToString(m.Sum(nil)))
	}
	return out
}

// ErasureStore keeps erasures and does the PostgreSQL part of one.
type ErasureStore interface {
	// BeginErasure records the request (once) and returns the receipt so far;
	// a contact that neither exists nor was erased is CodeNotFound.
	BeginErasure(ctx context.Context, contactID, requestedBy string) (ErasureReceipt, error)
	// ErasureContacts are the person's contact ids, survivor first: the
	// contact's survivor (itself unless merged) and every contact merged into
	// it; each has a workflow whose histories go.
	ErasureContacts(ctx context.Context, contactID string) ([]string, error)
	// ErasureDeliveries are the contact's delivery ids (each may have a
	// RetryDelivery workflow).
	ErasureDeliveries(ctx context.Context, contactID string) ([]string, error)
	// ErasePostgres deletes the contact and everything that names it (orders
	// are detached: the sale stays, without the person), keeps its
	// identifiers' hashes, and records the step; done again, it returns the
	// recorded step.
	ErasePostgres(ctx context.Context, contactID string) (ErasureStep, error)
	// PendingWarehouseErasures are the keys, by star-schema table, of rows
	// ErasePostgres deleted that the warehouse has not yet deleted.
	PendingWarehouseErasures(ctx context.Context, contactID string) (map[string][]string, error)
	// WarehouseErased marks those rows deleted from the warehouse.
	WarehouseErased(ctx context.Context, contactID, table string) error
	// RecordErasureStep adds (or replaces) a store's step in the receipt.
	RecordErasureStep(ctx context.Context, contactID string, step ErasureStep) error
	// CompleteErasure stamps the receipt complete and returns it.
	CompleteErasure(ctx context.Context, contactID string) (ErasureReceipt, error)
	// Erasure is the receipt of an erasure (CodeNotFound when none).
	Erasure(ctx context.Context, contactID string) (ErasureReceipt, error)
}

// Privacy runs erasures for the API and the CLI.
type Privacy interface {
	// Erase starts the contact's erasure (or joins the one running) and waits
	// a little for it: the receipt's CompletedAt is zero while it runs. An
	// unknown contact is CodeNotFound; an erased one returns its receipt.
	Erase(ctx context.Context, contactID, requestedBy string) (ErasureReceipt, error)
	// Erasure is an erasure's receipt so far (CodeNotFound when none).
	Erasure(ctx context.Context, contactID string) (ErasureReceipt, error)
}

// IdentitiesOf are the identities profile fields name (email and phone): what
// the erased list is checked for.
func IdentitiesOf(fields map[Field]Value) []Identity {
	var out []Identity
	if v := fields[FieldEmail].Value; v != "" {
		out = append(out, Identity{Kind: IdentityEmail, Value: v})
	}
	if v := fields[FieldPhone].Value; v != "" {
		out = append(out, Identity{Kind: IdentityPhone, Value: v})
	}
	return out
}

// ErasedList tells whether identities belong to an erased person, and counts
// each refusal under the path that tried (form, identify, import, crm).
type ErasedList interface {
	Erased(ctx context.Context, path string, ids []Identity) (bool, error)
	// ErasedEach checks a batch in one query: whether each input's
	// identities name an erased person.
	ErasedEach(ctx context.Context, path string, inputs [][]Identity) ([]bool, error)
}

// Exporter answers the right of access: everything Kith holds on a contact as
// one JSON document (profile with provenance, identities, consent ledger,
// events, form submissions, orders, tickets, merges, deliveries, …), with an
// audit row naming who asked. An unknown or erased contact is CodeNotFound.
type Exporter interface {
	ExportContact(ctx context.Context, contactID, requestedBy string) (json.RawMessage, error)
}
