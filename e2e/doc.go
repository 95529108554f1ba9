// Package e2e holds Kith's end-to-end tests: the real worker and starter binaries
// against real PostgreSQL and a real Temporal server started by devstack. It has
// no code of its own.
package e2e
