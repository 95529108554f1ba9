package postgres

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/kithhq/kith"
)

// watermarkColumn stamps every row of the warehouse views with when Kith last
// wrote it; it is the load's watermark and not a warehouse column.
const watermarkColumn = "changed_at"

// bigQueryTypes maps PostgreSQL column types to the BigQuery types they load as.
var bigQueryTypes = map[string]string{
	"text": "STRING", "character varying": "STRING", "character": "STRING", "uuid": "STRING",
	"smallint": "INTEGER", "integer": "INTEGER", "bigint": "INTEGER",
	"numeric": "NUMERIC", "real": "FLOAT", "double precision": "FLOAT",
	"boolean": "BOOLEAN", "timestamp with time zone": "TIMESTAMP", "date": "DATE",
}

// view names the warehouse view of a star-schema table.
func view(table string) string { return "warehouse." + pq.QuoteIdentifier(table) }

// SourceColumns implements kith.WarehouseSource: the columns of the view
// warehouse.<table>, except the watermark, with their BigQuery types.
func (s *Store) SourceColumns(ctx context.Context, table string) ([]kith.WarehouseColumn, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'warehouse' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []kith.WarehouseColumn
	watermarked := false
	for rows.Next() {
		var name, pgType string
		if err := rows.Scan(&name, &pgType); err != nil {
			return nil, err
		}
		if name == watermarkColumn {
			watermarked = true
			continue
		}
		t, ok := bigQueryTypes[pgType]
		if !ok {
			return nil, fmt.Errorf("view warehouse.%s: column %s has type %s, which has no BigQuery type here; cast it (e.g. ::text) in the view",
				table, name, pgType)
		}
		cols = append(cols, kith.WarehouseColumn{Name: name, Type: t})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no view warehouse.%s in PostgreSQL (is the database migrated?)", table)
	}
	if !watermarked {
		return nil, fmt.Errorf("view warehouse.%s has no %s column: the load cannot tell what changed", table, watermarkColumn)
	}
	return cols, nil
}

// Watermark implements kith.WarehouseSource.
func (s *Store) Watermark(ctx context.Context, target string) (time.Time, bool, error) {
	var at time.Time
	err := s.db.QueryRowContext(ctx, `SELECT watermark FROM load_watermarks WHERE target = $1`, target).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return at.UTC(), err == nil, err
}

// AdvanceWatermark implements kith.WarehouseSource.
func (s *Store) AdvanceWatermark(ctx context.Context, target string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO load_watermarks (target, watermark) VALUES ($1, $2)
		ON CONFLICT (target) DO UPDATE SET watermark = GREATEST(load_watermarks.watermark, EXCLUDED.watermark), updated_at = now()`,
		target, at)
	return err
}

// ResetWatermark implements kith.WarehouseSource.
func (s *Store) ResetWatermark(ctx context.Context, target string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM load_watermarks WHERE target = $1`, target)
	return err
}

// LastChange implements kith.WarehouseSource.
func (s *Store) LastChange(ctx context.Context, table string) (time.Time, error) {
	var at sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT max(`+watermarkColumn+`) FROM `+view(table)).Scan(&at)
	return at.Time.UTC(), err
}

// ExtractChanged implements kith.WarehouseSource. PostgreSQL writes the JSON
// (timestamps in RFC 3339 with offset, numerics as numbers), one row a line.
func (s *Store) ExtractChanged(ctx context.Context, table string, columns []string, after, upTo time.Time, w io.Writer) (int64, error) {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pq.QuoteIdentifier(c)
	}
	q := `SELECT row_to_json(r)::text FROM (SELECT ` + strings.Join(quoted, ", ") + ` FROM ` + view(table) +
		` WHERE ` + watermarkColumn + ` > $1 AND ` + watermarkColumn + ` <= $2) r`
	rows, err := s.db.QueryContext(ctx, q, after, upTo)
	if err != nil {
		return 0, fmt.Errorf("extract %s: %w", table, err)
	}
	defer rows.Close()
	bw := bufio.NewWriterSize(w, 1<<16)
	var n int64
	var line sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&line); err != nil {
			return n, err
		}
		bw.Write(line)
		if err := bw.WriteByte('\n'); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("extract %s: %w", table, err)
	}
	return n, bw.Flush()
}

// CountRows implements kith.WarehouseSource.
//
// all also counts the rows an erasure deleted here that the warehouse may still
// hold until the erasure's warehouse step: they are expected there, not extra.
func (s *Store) CountRows(ctx context.Context, table string, upTo time.Time, r kith.Retained) (int64, int64, error) {
	var all, upToCount int64
	retained, args := "TRUE", []any{upTo, table}
	if !r.Since.IsZero() {
		retained, args = pq.QuoteIdentifier(r.Column)+" >= $3", append(args, r.Since)
	}
	err := s.db.QueryRowContext(ctx, `SELECT count(*) + (SELECT count(*) FROM warehouse_erasures WHERE table_name = $2 AND removed_at IS NULL),
		count(*) FILTER (WHERE `+watermarkColumn+` <= $1) FROM `+view(table)+` WHERE `+retained, args...).Scan(&all, &upToCount)
	return all, upToCount, err
}
