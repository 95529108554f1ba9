package kith

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// LakeSource names a stream of inbound payloads in the raw lake: the first
// path segment of its objects (raw/<source>/dt=…/hr=…/…).
type LakeSource string

// The sources the lake archives.
const (
	LakeTracking   LakeSource = "tracking"    // events API requests (track, identify, batch …)
	LakeForms      LakeSource = "forms"       // form submissions
	LakeCRMWebhook LakeSource = "crm_webhook" // CRM webhook deliveries
	LakeCRMObject  LakeSource = "crm_object"  // CRM objects a sync fetched
	LakeESP        LakeSource = "esp_webhook" // ESP event webhook deliveries
	LakeImport     LakeSource = "import"      // rows of imported files
)

// LakeSources are every source, in the order the docs list them.
var LakeSources = []LakeSource{LakeTracking, LakeForms, LakeCRMWebhook, LakeCRMObject, LakeESP, LakeImport}

// ParseLakeSource reads a source name.
func ParseLakeSource(s string) (LakeSource, bool) {
	src := LakeSource(s)
	return src, slices.Contains(LakeSources, src)
}

// Verdicts: what Kith did with a payload.
const (
	VerdictAccepted    = "accepted"
	VerdictDuplicate   = "duplicate"   // received before (same ids): changed nothing
	VerdictQuarantined = "quarantined" // kept in quarantine with Codes
	VerdictFailed      = "failed"      // Kith could not take it then (5xx); the sender retries
)

// LakeLine is one line of the raw lake: a payload as it arrived, with when,
// from where, under which request, and what Kith made of it.
type LakeLine struct {
	ReceivedAt time.Time  `json:"received_at"`
	Source     LakeSource `json:"source"`
	// RequestID is the HTTP request's id (X-Request-Id), the import's id or the
	// CRM sync's page; Ref the record's own reference within it (an import row,
	// a CRM object id, the route of a request).
	RequestID string `json:"request_id"`
	Ref       string `json:"ref,omitempty"`
	Verdict   string `json:"verdict"`
	// Codes are the violation codes of a quarantined or refused payload.
	Codes []string `json:"codes,omitempty"`
	// Counts break a payload of many records (an events batch) down by verdict.
	Counts map[string]int `json:"counts,omitempty"`
	// Payload is the body as received: JSON as it was sent, anything else (a
	// form post, a body that is not JSON) as one JSON string.
	Payload json.RawMessage `json:"payload,omitempty"` // last: EncodeLakeObject writes it after the rest
	// SpoolKey names a line its writer may write again (a retried import
	// batch or CRM page): the second write is a no-op. Not archived.
	SpoolKey string `json:"-"`
	// Client is the anonymous caller (forms, the events API's public write
	// keys) whose hourly quarantine budget a refused payload counts against,
	// as its quarantine row does: past it, the line is not kept. Not archived.
	Client string `json:"-"`
}

// RawPayload makes a line's payload of a body: JSON stays as it was sent
// (compacted), other text becomes a JSON string of it, and bytes that are not
// UTF-8 (which no JSON string can hold) become {"base64": "…"}, so the lake
// keeps every byte received.
func RawPayload(body []byte) json.RawMessage {
	if !utf8.Valid(body) {
		b, _ := json.Marshal(map[string]string{"base64": base64.StdEncoding.EncodeToString(body)})
		return b
	}
	var buf bytes.Buffer
	if json.Compact(&buf, body) == nil { // Compact refuses what is not JSON
		return buf.Bytes()
	}
	b, _ := json.Marshal(string(body))
	return b
}

// LakeSpool is the durable queue of lines waiting for the lake. Writers add
// lines on the request path; the LakeArchive workflow seals them into objects,
// uploads them and marks them archived.
type LakeSpool interface {
	// SpoolLines keeps lines until they are archived.
	SpoolLines(ctx context.Context, lines []LakeLine) error
}

// ArchivingEventLog stores events and their request's lake line in one
// transaction (the events API: one commit per request, not two).
type ArchivingEventLog interface {
	AppendEventsArchived(ctx context.Context, events []Event, relay []bool, line LakeLine) ([]bool, error)
}

// BatchVerdict is the verdict of a payload of records by which of them were
// new (fresh): duplicate when none was, else accepted; counts gets each
// verdict's number of records (a new map when nil).
func BatchVerdict(fresh []bool, counts map[string]int) (string, map[string]int) {
	if counts == nil {
		counts = map[string]int{}
	}
	for _, f := range fresh {
		if f {
			counts[VerdictAccepted]++
		} else {
			counts[VerdictDuplicate]++
		}
	}
	if counts[VerdictAccepted] == 0 && counts[VerdictDuplicate] > 0 {
		return VerdictDuplicate, counts
	}
	return VerdictAccepted, counts
}

// LakeStore is what archiving, expiring, erasing and replaying the lake read
// and write in PostgreSQL.
type LakeStore interface {
	LakeSpool
	// SealLakeObject assigns the oldest waiting segments of one source and
	// hour (whole, as many as fit in maxLines lines and maxBytes of text; a
	// first one over the bounds alone) to a new object and returns it, or ok
	// false when nothing waits.
	SealLakeObject(ctx context.Context, maxLines, maxBytes int) (obj LakeObject, ok bool, err error)
	// PendingLakeObjects are the objects sealed but not uploaded (a crashed
	// attempt's), oldest first: they are uploaded again with the same lines.
	PendingLakeObjects(ctx context.Context) ([]LakeObject, error)
	// WriteLakeObject writes the object of the lines sealed into it to w, in
	// spool order (gzipped NDJSON, as EncodeLakeObject writes), and returns
	// their number and the bytes written.
	WriteLakeObject(ctx context.Context, name string, w io.Writer) (lines int, bytes int64, err error)
	// LakeObjectUploaded marks an object and its lines archived.
	LakeObjectUploaded(ctx context.Context, name string, lines int, bytes int64) error
	// TrimLakeSpool deletes lines archived before t and returns how many.
	TrimLakeSpool(ctx context.Context, before time.Time) (int64, error)
	// ExpiredLakeObjects names up to limit uploaded objects of hours before t.
	ExpiredLakeObjects(ctx context.Context, before time.Time, limit int) ([]string, error)
	// LakeObjectsExpired forgets objects retention deleted.
	LakeObjectsExpired(ctx context.Context, names []string) error
	// LakeErasure returns the keyed hashes of the erased person's identifiers
	// (recorded by ErasePostgres) and the archived objects that name any.
	LakeErasure(ctx context.Context, contactID string) (keys []string, objects []string, err error)
	// LakeObjectRewritten records that an erasure rewrote an object without the
	// person's lines (lines left; 0 when the object was deleted).
	LakeObjectRewritten(ctx context.Context, contactID, name string, lines int) error
	// RecordErasureStep adds the lake's step to an erasure's receipt.
	RecordErasureStep(ctx context.Context, contactID string, step ErasureStep) error
}

// LakeObject is one object of the lake: a bounded run of one source's lines
// received in one hour.
type LakeObject struct {
	Name   string     `json:"name"`
	Source LakeSource `json:"source"`
	Hour   time.Time  `json:"hour"`
	Lines  int        `json:"lines"`
}

// LakeBucket is the object store the lake lives in (GCS, or its emulator).
type LakeBucket interface {
	// Put writes an object whole, replacing one of the same name.
	Put(ctx context.Context, name string, data []byte) error
	// Get reads an object; an error with CodeNotFound when there is none.
	Get(ctx context.Context, name string) ([]byte, error)
	// List names the objects under prefix, in name order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// LakeObjectName is the deterministic name of an object: its source, day and
// hour (Hive partitions, so BigQuery external tables prune by them) and the
// spool id of its first line, so a retried upload replaces, never doubles.
func LakeObjectName(src LakeSource, hour time.Time, firstID int64) string {
	h := hour.UTC()
	return fmt.Sprintf("raw/%s/dt=%s/hr=%02d/%020d.ndjson.gz", src, h.Format(time.DateOnly), h.Hour(), firstID)
}

// LakePrefix is the prefix of one source's objects of one day.
func LakePrefix(src LakeSource, day time.Time) string {
	return fmt.Sprintf("raw/%s/dt=%s/", src, day.UTC().Format(time.DateOnly))
}

// LakeObjectDay reads the partition day of an object's name.
func LakeObjectDay(name string) (time.Time, bool) {
	_, rest, ok := strings.Cut(name, "/dt=")
	if !ok || len(rest) < 10 {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, rest[:10])
	return d, err == nil
}

// EncodeLakeObject writes lines as an object: gzipped newline-delimited JSON,
// each line's payload last and as written (LakePayload).
func EncodeLakeObject(lines []LakeLine) ([]byte, error) {
	lines = slices.Clone(lines)
	for i := range lines {
		lines[i].Payload = LakePayload(lines[i].Payload)
	}
	seg, err := CompressLakeLines(lines)
	if err != nil {
		return nil, err
	}
	return JoinLakeSegments(seg), nil
}

// LakePayload is p as an object line holds it: p when it is JSON on one line
// (a raw line break only ever separates JSON tokens), else p read again as a
// body (RawPayload: JSON compacted, anything else kept as its text rather
// than breaking the object). The spool makes each payload so on its request's
// goroutine, before the line is compressed.
func LakePayload(p json.RawMessage) json.RawMessage {
	if len(p) == 0 {
		return json.RawMessage("null")
	}
	if bytes.IndexByte(p, '\n') < 0 && bytes.IndexByte(p, '\r') < 0 && json.Valid(p) {
		return p
	}
	return RawPayload(p)
}

// DecodeLakeObject reads the lines of an object EncodeLakeObject wrote.
func DecodeLakeObject(data []byte) ([]LakeLine, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("lake object is not gzip: %w", err)
	}
	var out []LakeLine
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var l LakeLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("lake object line %d: %w", n, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		return nil, err
	}
	return out, nil
}

// lakeLocal and lakeDomain are the bytes an address's local part and domain
// are made of, as addresses are found in payloads.
// (The local part leaves out what the rules allow but URLs use around an
// address, = ? & / #, so "?ref=ada@example.com" finds ada@example.com.)
var lakeLocal, lakeDomain = byteSet("A-Za-z0-9._+'-"), byteSet("A-Za-z0-9.-")

func byteSet(spec string) (set [256]bool) {
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for c := spec[i]; c <= spec[i+2]; c++ {
				set[c] = true
			}
			i += 2
			continue
		}
		set[spec[i]] = true
	}
	return set
}

// findEmails calls add with every address in s (lower-cased): around each @,
// the longest run of local-part bytes before it and of domain bytes after it,
// when the domain has a dot. One pass, no regular expression: it runs on
// every request the lake keeps.
func findEmails(s string, add func(string)) {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], '@')
		if i < 0 {
			return
		}
		at := off + i
		start := at
		for start > 0 && lakeLocal[s[start-1]] {
			start--
		}
		end := at + 1
		for end < len(s) && lakeDomain[s[end]] {
			end++
		}
		domain := strings.Trim(s[at+1:end], ".-")
		if start < at && strings.Contains(domain, ".") {
			add(strings.ToLower(s[start:at+1] + domain))
		}
		off = at + 1
	}
}

// lakeIDFields are payload fields whose values identify a person in every
// source's wire format: tracking ids, CRM object ids, phones.
var lakeIDFields = map[string]bool{
	"anonymousid": true, "anonymous_id": true, "userid": true, "user_id": true,
	"phone": true, "mobilephone": true, "mobile_phone": true, "phone_number": true,
}

// LakeIdentifiers are the values in a line's payload an erasure looks for:
// every email address in it (lower-cased, found in every string however it is
// wrapped or disguised, see lakeEmails) and the values of identifier fields
// (anonymous and user ids as they are, phones as their digits). They are kept
// only as keyed hashes (LakeKeys).
func LakeIdentifiers(payload []byte) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	// Read as bytes (decoding the JSON was a fifth of the events API's
	// time): without \u escapes, the bytes of an address or an id are its
	// text. A payload with them is first written again without them.
	if bytes.Contains(payload, []byte(`\u`)) {
		payload = unescapeJSON(payload)
	}
	lakeEmails(string(payload), add)
	lakeIDs(payload, add)
	return out
}

// unescapeJSON writes JSON again with its \u escapes as the characters they
// stand for (numbers kept as written; only control characters stay escaped).
// Text that is not JSON is returned as it is.
func unescapeJSON(payload []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return payload
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return payload
	}
	return buf.Bytes()
}

// lakeIDs adds the values of identifier fields (lakeIDFields, any case) in
// JSON bytes: a string without escapes, or a number.
func lakeIDs(payload []byte, add func(string)) {
	lower := bytes.ToLower(payload)
	for key := range lakeIDFields {
		quoted := `"` + key + `"`
		for off := 0; ; {
			i := bytes.Index(lower[off:], []byte(quoted))
			if i < 0 {
				break
			}
			off += i + len(quoted)
			rest := bytes.TrimLeft(payload[off:], " \t\r\n")
			if len(rest) == 0 || rest[0] != ':' {
				continue // a value that happens to be the key's name
			}
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			var v string
			switch {
			case len(rest) > 0 && rest[0] == '"':
				end := bytes.IndexAny(rest[1:], `"\`)
				if end < 0 || rest[1+end] != '"' {
					continue
				}
				v = string(rest[1 : 1+end])
			case len(rest) > 0 && (rest[0] == '-' || rest[0] >= '0' && rest[0] <= '9'):
				end := 1
				for end < len(rest) && bytes.IndexByte([]byte("0123456789.eE+-"), rest[end]) >= 0 {
					end++
				}
				v = string(rest[:end])
			default:
				continue
			}
			if strings.Contains(key, "phone") {
				v = PhoneDigits(v)
			}
			add(v)
		}
	}
}

// lakeAt are the ways people and exports disguise an @.
var lakeAt = strings.NewReplacer("%40", "@", "&#64;", "@", "＠", "@")

// lakeEmails adds the addresses in one string: invisible characters (zero-width
// spaces, soft hyphens, a BOM) removed and encoded @s decoded first, as the
// email repair reads them, so an address Kith stored clean is found in the
// payload it was repaired from.
func lakeEmails(s string, add func(string)) {
	if strings.Contains(s, "%40") || strings.Contains(s, "&#64;") || strings.Contains(s, "＠") {
		s = lakeAt.Replace(s)
	}
	if !strings.Contains(s, "@") {
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 { // only text beyond ASCII can hold invisible characters
			s = strings.Map(func(r rune) rune {
				if unicode.Is(unicode.Cf, r) {
					return -1
				}
				return r
			}, s)
			break
		}
	}
	findEmails(s, add)
}

// PhoneDigits are a phone's digits when it has enough to name one person (8
// or more), else "": how the lake and an erasure compare phones.
func PhoneDigits(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() < 8 {
		return ""
	}
	return b.String()
}

// LakeKeys are the keyed hashes of identifiers (LakeIdentifiers) with the
// first key: what the spool and the object index keep.
func (h IdentityHasher) LakeKeys(identifiers []string) []string {
	if len(h.Keys) == 0 {
		return nil
	}
	out := make([]string, 0, len(identifiers))
	for _, v := range identifiers {
		out = append(out, h.Hashes(Identity{Kind: "lake", Value: v})[0])
	}
	return out
}

// LakeLinesWithout are lines without those naming anyone whose lake keys
// (AllLakeKeys) are erased: what an erasure leaves of the spool and of an object.
func (h IdentityHasher) LakeLinesWithout(lines []LakeLine, erased map[string]bool) []LakeLine {
	return slices.DeleteFunc(lines, func(l LakeLine) bool {
		return slices.ContainsFunc(h.AllLakeKeys(LakeIdentifiers(l.Payload)), func(k string) bool { return erased[k] })
	})
}

// AllLakeKeys are the hashes of identifiers under every key (the current and
// the older ones): what an erasure looks for.
func (h IdentityHasher) AllLakeKeys(identifiers []string) []string {
	var out []string
	for _, v := range identifiers {
		out = append(out, h.Hashes(Identity{Kind: "lake", Value: v})...)
	}
	return out
}
