// Package kith holds Kith's domain: the canonical customer model (contacts with
// per-field provenance, identities, consents, events, orders, tickets), the
// violations and error codes every source reports, and the small interfaces that
// the storage, warehouse and CRM packages implement.
//
// It imports only the standard library; everything else depends on it.
package kith
