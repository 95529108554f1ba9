// Package activities holds Kith's Temporal activities: thin, idempotent methods on
// structs that hold their dependencies as interfaces from package kith.
package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
)

// ErrInvalidCSV is the application error type of a file that cannot be imported at
// all (no header, no email or phone column, changed while importing). It is not retried.
const ErrInvalidCSV = "InvalidCSV"

// DefaultImportBatch is how many rows one import transaction commits.
const DefaultImportBatch = 500

// Import reads CSV files of contacts into the store.
type Import struct {
	Store kith.ImportStore
	// Lake archives every row read to the raw lake (with the batch).
	Lake bool
}

// ImportFileInput names the file to import and the import it belongs to.
type ImportFileInput struct {
	ImportID  string `json:"import_id"` // stable across retries: the checkpoint key
	Path      string `json:"path"`      // readable by the worker
	SHA256    string `json:"sha256"`    // of the whole file, to refuse a file that changed
	BatchSize int    `json:"batch_size,omitempty"`
	// AsOf is when the file's data was observed (default: its modification time).
	// Row n is taken as observed at AsOf + n µs, so later rows of a file win over
	// earlier ones and importing the same file again changes nothing.
	AsOf time.Time `json:"as_of"`
	// Region reads phones and numeric dates of rows without a country (e.g. "US").
	Region string `json:"region,omitempty"`
	// Regions are where the file's contacts live: a national phone valid in
	// exactly one of them is read there (quality.Options.Regions).
	Regions []string `json:"regions,omitempty"`
}

// ImportProgress is the heartbeat of ImportFile: the starter reads it from the
// pending activity to draw its progress bar.
type ImportProgress struct {
	Checkpoint kith.ImportCheckpoint `json:"checkpoint"`
}

// ImportFile imports the file batch by batch from the last committed checkpoint:
// every batch commits its rows, its quarantined rows and the new checkpoint in one
// transaction, so a retry on another worker resumes exactly where the last commit
// ended and no row is stored twice.
func (a *Import) ImportFile(ctx context.Context, in ImportFileInput) (kith.ImportCheckpoint, error) {
	cp, err := a.Store.ImportCheckpoint(ctx, in.ImportID)
	if err != nil || cp.Done {
		return cp, err
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return cp, invalidCSV("cannot open %s: %v", in.Path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return cp, err
	}
	if cp.Offset == 0 && in.SHA256 != "" {
		sum, err := FileSHA256(in.Path)
		if err != nil {
			return cp, err
		}
		if sum != in.SHA256 {
			return cp, invalidCSV("%s changed since the import started; start a new import", in.Path)
		}
	}
	h, err := ReadHeader(f)
	if err != nil {
		return cp, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidCSV, err)
	}
	h.opts = quality.Options{DefaultRegion: in.Region, Regions: in.Regions, Now: time.Now()}
	start := max(cp.Offset, h.End) // the header is read anew on every attempt
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return cp, err
	}
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultImportBatch
	}
	asOf := in.AsOf
	if asOf.IsZero() {
		asOf = st.ModTime()
	}
	asOf = asOf.UTC().Truncate(time.Second)
	fileRef := in.SHA256
	if len(fileRef) > 16 {
		fileRef = fileRef[:16]
	}
	rows := newRowReader(f, start)
	for {
		b := kith.ImportBatch{ImportID: in.ImportID, From: cp.Offset}
		for b.Rows < batch {
			rec, span, perr := rows.next()
			if perr == io.EOF {
				b.Done = true
				break
			}
			b.Rows++
			ref := fmt.Sprintf("%s:row:%d", fileRef, cp.Row+b.Rows)
			at := asOf.Add(time.Duration(cp.Row+b.Rows) * time.Microsecond)
			c, refused := h.row(rec, perr, kith.Provenance{Source: kith.SourceImport, Ref: ref, At: at})
			var raw []byte
			if len(refused) > 0 || perr != nil {
				raw = make([]byte, span.end-span.start)
				if _, err := f.ReadAt(raw, span.start); err != nil && err != io.EOF {
					return cp, err
				}
			}
			if len(refused) > 0 {
				// The row is kept whole with the reasons for what was refused;
				// its good values (if it has any identity) still make a contact.
				b.Quarantine = append(b.Quarantine, kith.Quarantine(kith.SourceImport, raw, refused, ref))
			}
			if a.Lake {
				b.Lake = append(b.Lake, h.lakeLine(in, rec, raw, ref, cp.Row+b.Rows, at, refused))
			}
			if c.Fields != nil {
				b.Contacts = append(b.Contacts, c)
			}
		}
		b.To = rows.offset()
		cp, err = a.Store.CommitImportBatch(ctx, b)
		if err != nil {
			// A conflict means another attempt moved the checkpoint: retrying
			// re-reads it and resumes from there.
			return cp, fmt.Errorf("commit rows %d-%d: %w", cp.Row+1, cp.Row+b.Rows, err)
		}
		activity.RecordHeartbeat(ctx, ImportProgress{Checkpoint: cp})
		if cp.Done {
			// Lookups by identity and by blocking key, on write and in the
			// next de-duplication, need the planner to know the new rows.
			return cp, a.Store.RefreshStatistics(ctx)
		}
		if err := ctx.Err(); err != nil {
			return cp, err
		}
	}
}

func invalidCSV(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalidCSV, nil)
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Header is a CSV file's header row mapped onto profile fields.
type Header struct {
	Columns []string     // as written in the file
	Fields  []kith.Field // per column; "" for a column Kith does not import
	Ignored []string     // columns Kith does not import
	// UserColumn is the column of the site's own user id (user_id,
	// customer_id, external_id), -1 when there is none: the events API's
	// userId then names the contact without an identify.
	UserColumn int
	End        int64 // byte offset just after the header
	opts       quality.Options
}

// ReadHeader reads and checks the header row of r: it must name an email or a
// phone column, and no field twice. The error says what was found and what is expected.
func ReadHeader(r io.Reader) (Header, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	var h Header
	switch {
	case err == io.EOF:
		return h, errors.New("the file is empty: expected a header row naming at least an email or a phone column")
	case err != nil:
		return h, fmt.Errorf("the header row is not valid CSV (%v): expected a header row naming at least an email or a phone column", err)
	}
	h.End = cr.InputOffset()
	h.Columns = rec
	h.UserColumn = -1
	seen := map[kith.Field]bool{}
	for i, col := range rec {
		name := strings.ToLower(strings.TrimSpace(col))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a byte-order mark from spreadsheet exports
		}
		if !utf8.ValidString(name) {
			return h, errors.New("the header row is not text: is this a CSV file?")
		}
		f, ok := kith.ParseField(name)
		if !ok {
			f, ok = columnAliases[strings.Join(strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), "_")]
		}
		if !ok && userColumns[name] && h.UserColumn < 0 {
			h.UserColumn = i
			h.Fields = append(h.Fields, "")
			continue
		}
		if !ok {
			h.Fields = append(h.Fields, "")
			h.Ignored = append(h.Ignored, col)
			continue
		}
		if seen[f] {
			return h, fmt.Errorf("the header names column %q twice", name)
		}
		seen[f] = true
		h.Fields = append(h.Fields, f)
	}
	if !seen[kith.FieldEmail] && !seen[kith.FieldPhone] {
		return h, fmt.Errorf("the header has no email or phone column (found %s); expected columns: %s",
			quoteList(rec), fieldList())
	}
	return h, nil
}

// row reads one CSV record into a contact and the violations of the values it
// refused. A refused value costs only itself: the row's other values still make a
// contact, found again by its email or, without one, by its record key (a row
// with a phone, or a name and birth date, but no email). A row that cannot be
// read, or has nothing to know a person by (identifiable), makes no contact
// (zero ContactInput).
func (h Header) row(rec []string, perr error, p kith.Provenance) (kith.ContactInput, kith.Violations) {
	if perr != nil {
		return kith.ContactInput{}, kith.Violations{{Code: "malformed_csv", Message: perr.Error(), Severity: kith.SeverityReject}}
	}
	if len(rec) != len(h.Columns) {
		return kith.ContactInput{}, kith.Violations{{Code: "wrong_field_count", Severity: kith.SeverityReject,
			Message: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(h.Columns))}}
	}
	raw := make(map[kith.Field]string, len(rec))
	for i, f := range h.Fields {
		if f != "" {
			raw[f] = rec[i]
		}
	}
	res := quality.Record(raw, h.opts)
	refused, findings := res.Violations.Split()
	if !identifiable(res.Fields) {
		if !refused.Rejects() {
			refused = append(refused, kith.Violation{Field: string(kith.FieldEmail), Code: "no_identity", Severity: kith.SeverityReject,
				Message: "the row has no email, no phone, and no name with a birth date: nothing to know the person by"})
		}
		return kith.ContactInput{}, refused
	}
	c := kith.ContactInput{Fields: res.Values(p, nil), Findings: findings}
	if h.UserColumn >= 0 {
		if u := strings.TrimSpace(rec[h.UserColumn]); u != "" && len(u) <= maxUserID {
			c.UserID = u
		} else if u != "" {
			refused = append(refused, kith.Violation{Field: "user_id", Code: "too_long", Severity: kith.SeverityReject,
				Message: fmt.Sprintf("a user id is at most %d bytes", maxUserID)})
		}
	}
	if res.Fields.Get(kith.FieldEmail) == "" {
		// Keyed by what the row holds, not where it sits: the provenance
		// (row number, time) is left out, so the same row anywhere in a file
		// imported again is the same record.
		c.Key = kith.RecordKey(kith.SourceImport, c.Fields)
	}
	return c, refused
}

// userColumns name the column of a site's own user id; maxUserID bounds one.
var userColumns = map[string]bool{"user_id": true, "userid": true, "customer_id": true, "external_id": true}

const maxUserID = 255

// columnAliases are other names spreadsheets and CRM exports give the profile
// fields (spaces and dashes read as underscores).
var columnAliases = map[string]kith.Field{
	"e_mail": kith.FieldEmail, "email_address": kith.FieldEmail,
	"phone_number": kith.FieldPhone, "mobile": kith.FieldPhone, "mobile_phone": kith.FieldPhone,
	"firstname": kith.FieldFirstName, "given_name": kith.FieldFirstName,
	"lastname": kith.FieldLastName, "surname": kith.FieldLastName, "family_name": kith.FieldLastName,
	"date_of_birth": kith.FieldBirthDate, "dob": kith.FieldBirthDate, "birthday": kith.FieldBirthDate,
	"zip": kith.FieldPostalCode, "zip_code": kith.FieldPostalCode, "postcode": kith.FieldPostalCode,
	"street": kith.FieldAddress, "street_address": kith.FieldAddress, "address_line_1": kith.FieldAddress,
	"address1": kith.FieldAddress,
}

// identifiable reports whether a row can make a contact that de-duplication can
// find again: it has an email, a phone, or a last name with a birth date.
func identifiable(fs quality.Fields) bool {
	return fs.Get(kith.FieldEmail) != "" || fs.Get(kith.FieldPhone) != "" ||
		fs.Get(kith.FieldLastName) != "" && fs.Get(kith.FieldBirthDate) != ""
}

func quoteList(cols []string) string {
	if len(cols) == 0 {
		return "no columns"
	}
	q := make([]string, len(cols))
	for i, c := range cols {
		if len(c) > 40 || !utf8.ValidString(c) {
			c = "…"
		}
		q[i] = fmt.Sprintf("%q", c)
	}
	return strings.Join(q, ", ")
}

func fieldList() string {
	s := make([]string, len(kith.ProfileFields))
	for i, f := range kith.ProfileFields {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// rowReader reads CSV records and the byte span each came from.
type rowReader struct {
	cr   *csv.Reader
	base int64
	prev int64
}

type span struct{ start, end int64 }

func newRowReader(r io.Reader, base int64) *rowReader {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1 // field counts are checked per row, against the header
	cr.ReuseRecord = true
	return &rowReader{cr: cr, base: base, prev: base}
}

// next returns the next record, or a parse error for a malformed one (the reader
// then continues after it), or io.EOF.
func (r *rowReader) next() ([]string, span, error) {
	rec, err := r.cr.Read()
	s := span{start: r.prev, end: r.offset()}
	r.prev = s.end
	if err != nil && err != io.EOF {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = fmt.Errorf("malformed CSV: %v", pe.Err)
		}
	}
	return rec, s, err
}

func (r *rowReader) offset() int64 { return r.base + r.cr.InputOffset() }

// importLakeRow is an imported row as the raw lake keeps it: the file (the
// first 16 hex digits of its SHA-256) and row, when it was observed, the
// import's regions and the row's cells by column as the header wrote them.
// A row that is not CSV, has the wrong number of cells or bytes that are not
// UTF-8 is kept as its line instead (Raw, or RawBase64 for bytes no JSON
// string holds), with the header's columns to read it again.
type importLakeRow struct {
	File       string            `json:"file"`
	Row        int               `json:"row"`
	ObservedAt time.Time         `json:"observed_at"`
	Region     string            `json:"region,omitempty"`
	Regions    []string          `json:"regions,omitempty"`
	Record     map[string]string `json:"record,omitempty"`
	Columns    []string          `json:"columns,omitempty"`
	Raw        string            `json:"raw,omitempty"`
	RawBase64  string            `json:"raw_base64,omitempty"`
}

// lakeLine is row number row of an import as the raw lake keeps it, with the
// verdict: quarantined (with the refused values' codes) or accepted.
func (h Header) lakeLine(in ImportFileInput, rec []string, raw []byte, ref string, row int, at time.Time, refused kith.Violations) kith.LakeLine {
	file, _, _ := strings.Cut(ref, ":")
	p := importLakeRow{File: file, Row: row, ObservedAt: at, Region: in.Region, Regions: in.Regions}
	switch line := bytes.TrimRight(raw, "\r\n"); {
	case len(rec) == len(h.Columns) && rec != nil && !slices.ContainsFunc(rec, func(c string) bool { return !utf8.ValidString(c) }):
		p.Record = make(map[string]string, len(rec))
		for i, col := range h.Columns {
			p.Record[col] = rec[i]
		}
	case utf8.Valid(line):
		p.Columns, p.Raw = h.Columns, string(line)
	default:
		p.Columns, p.RawBase64 = h.Columns, base64.StdEncoding.EncodeToString(line)
	}
	payload, _ := json.Marshal(p)
	l := kith.LakeLine{ReceivedAt: time.Now().UTC(), Source: kith.LakeImport, RequestID: in.ImportID, Ref: ref,
		Verdict: kith.VerdictAccepted, Payload: payload, SpoolKey: in.ImportID + "/" + ref}
	if len(refused) > 0 {
		l.Verdict, l.Codes = kith.VerdictQuarantined, refused.Codes()
	}
	return l
}
