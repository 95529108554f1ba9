package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/kithhq/kith"
)

type checkpointRow struct {
	Offset      int64 `db:"byte_offset"`
	Row         int   `db:"row_count"`
	Created     int   `db:"created"`
	Updated     int   `db:"updated"`
	Unchanged   int   `db:"unchanged"`
	Quarantined int   `db:"quarantined"`
	Skipped     int   `db:"skipped"`
	Refused     int   `db:"refused"`
	Done        bool  `db:"done"`
}

const selectCheckpoint = `SELECT byte_offset, row_count, created, updated, unchanged, quarantined, skipped, refused, done
	FROM import_checkpoints WHERE import_id = $1`

// ImportCheckpoint implements kith.ImportStore.
func (s *Store) ImportCheckpoint(ctx context.Context, importID string) (kith.ImportCheckpoint, error) {
	var r checkpointRow
	err := s.db.GetContext(ctx, &r, selectCheckpoint, importID)
	if errors.Is(err, sql.ErrNoRows) {
		return kith.ImportCheckpoint{}, nil
	}
	if err != nil {
		return kith.ImportCheckpoint{}, fmt.Errorf("read import checkpoint: %w", err)
	}
	return kith.ImportCheckpoint(r), nil
}

// CommitImportBatch implements kith.ImportStore: rows, quarantine and checkpoint
// commit together, so a crash either keeps all three or none.
func (s *Store) CommitImportBatch(ctx context.Context, b kith.ImportBatch) (kith.ImportCheckpoint, error) {
	var cp kith.ImportCheckpoint
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r checkpointRow
		err := tx.GetContext(ctx, &r, selectCheckpoint+` FOR UPDATE`, b.ImportID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read import checkpoint: %w", err)
		}
		cp = kith.ImportCheckpoint(r)
		if cp.Offset != b.From || cp.Done {
			return kith.Errorf(kith.CodeConflict, "import %s is at offset %d (done=%v), batch starts at %d", b.ImportID, cp.Offset, cp.Done, b.From)
		}
		res, err := s.upsertContacts(ctx, tx, b.Contacts)
		if err != nil {
			return err
		}
		if err := s.spoolLines(ctx, tx, b.Lake); err != nil {
			return err
		}
		if _, err := s.quarantine(ctx, tx, b.Quarantine); err != nil {
			return err
		}
		cp.Offset, cp.Done = b.To, b.Done
		cp.Row += b.Rows
		cp.Created += res.Created
		cp.Updated += res.Updated
		cp.Unchanged += res.Unchanged
		cp.Quarantined += len(b.Quarantine)
		cp.Skipped += b.Rows - len(b.Contacts)
		cp.Refused += res.Refused
		_, err = tx.ExecContext(ctx, `
			INSERT INTO import_checkpoints (import_id, byte_offset, row_count, created, updated, unchanged, quarantined, skipped, refused, done)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (import_id) DO UPDATE SET byte_offset = EXCLUDED.byte_offset, row_count = EXCLUDED.row_count,
				created = EXCLUDED.created, updated = EXCLUDED.updated, unchanged = EXCLUDED.unchanged,
				quarantined = EXCLUDED.quarantined, skipped = EXCLUDED.skipped, refused = EXCLUDED.refused,
				done = EXCLUDED.done, updated_at = now()`,
			b.ImportID, cp.Offset, cp.Row, cp.Created, cp.Updated, cp.Unchanged, cp.Quarantined, cp.Skipped, cp.Refused, cp.Done)
		return err
	})
	return cp, err
}

// ImportedRows maps each row of an import (by its file's reference, the first
// 16 hex digits of its SHA-256) that made a contact to the contact holding it
// now: merges followed to their survivor. It is how an import is scored
// against a labelled list's truth.
func (s *Store) ImportedRows(ctx context.Context, fileRef string) (map[int]string, error) {
	var rows []struct {
		Row     int    `db:"row"`
		Contact string `db:"contact"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		WITH RECURSIVE r AS (
			SELECT split_part(sr.ref, ':row:', 2)::int AS row, c.id, c.merged_into, 0 AS depth
			FROM source_records sr JOIN contacts c ON c.id = sr.contact_id
			WHERE sr.source = 'import' AND sr.ref LIKE $1 || ':row:%'
			UNION ALL
			SELECT r.row, c.id, c.merged_into, r.depth + 1
			FROM r JOIN contacts c ON c.id = r.merged_into
			WHERE r.depth < 32)
		SELECT row, id::text AS contact FROM r WHERE merged_into IS NULL`, fileRef)
	if err != nil {
		return nil, fmt.Errorf("imported rows: %w", err)
	}
	out := make(map[int]string, len(rows))
	for _, r := range rows {
		out[r.Row] = r.Contact
	}
	return out, nil
}
