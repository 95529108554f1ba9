package postgres

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// statsTables are the tables whose lookups by a batch of ids (a merge batch,
// a part's read, a new contact's candidates) need the planner to know their
// size: without statistics it guesses that "= ANY(ids)" matches most rows
// and scans them whole, ten times slower at 200,000 contacts.
var statsTables = []string{"contacts", "contact_keys", "match_values", "identities", "source_records", "merges", "merge_reviews"}

// RefreshStatistics implements kith.PartitionStore and kith.ImportStore:
// it analyzes each of statsTables that was never analyzed or whose changed
// rows since exceed a tenth of it. Autovacuum does the same, but some time
// after a bulk load, while a de-duplication run that starts right after an
// import needs them at once. ANALYZE reads a sample of each table and blocks
// no reader or writer.
func (s *Store) RefreshStatistics(ctx context.Context) error {
	var stale []string
	if err := s.db.SelectContext(ctx, &stale, `SELECT relname::text FROM pg_stat_user_tables
		WHERE relname = ANY($1) AND schemaname = current_schema()
			AND (coalesce(last_analyze, last_autoanalyze) IS NULL AND n_live_tup + n_mod_since_analyze > 0
				OR n_mod_since_analyze > 1000 + n_live_tup / 10)
		ORDER BY 1`, pq.Array(statsTables)); err != nil {
		return fmt.Errorf("read table statistics: %w", err)
	}
	for _, t := range stale {
		if _, err := s.db.ExecContext(ctx, `ANALYZE `+pq.QuoteIdentifier(t)); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}
