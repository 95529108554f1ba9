package postgres

import "context"

// MigrateThrough applies the migrations up to version only: a test's
// database as a deployment of an older Kith left it.
func MigrateThrough(ctx context.Context, s *Store, version int) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	var upTo []Migration
	for _, m := range ms {
		if m.Version <= version {
			upTo = append(upTo, m)
		}
	}
	_, err = s.migrate(ctx, upTo)
	return err
}

// UseContactIDs makes s give new contacts ids from newID: a benchmark's
// baseline of random ids beside the product's time-ordered ones.
func UseContactIDs(s *Store, newID func() string) { s.newID = newID }

// TextArray is textArray, for the test that feeds it PostgreSQL's own output.
var TextArray = textArray

// UUIDs is uuids, for the test that hands its text to PostgreSQL.
func UUIDs(ids []string) any { return uuids(ids) }

// DecisionsAmong is decisionsAmong, with decidedLookups set to lookups.
func DecisionsAmong(ctx context.Context, s *Store, lookups int, ids []string) (map[[2]string]bool, error) {
	defer func(n int) { decidedLookups = n }(decidedLookups)
	decidedLookups = lookups
	return s.decisionsAmong(ctx, ids)
}
