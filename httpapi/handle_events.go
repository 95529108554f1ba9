package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/telemetry"
)

// EventSource is one sender of the events API: a write key's source.
type EventSource struct {
	Name string
	// KeySHA256 is the hash of its write key: the key itself is never kept.
	KeySHA256 [32]byte
	// Trusted sources (server-side) may identify a known contact by email; a
	// browser source's identify naming one is a claim, held until verified.
	Trusted bool
}

// Limits of the Segment HTTP Tracking API.
const (
	maxMessage      = 32 << 10  // one message
	maxBatchRequest = 500 << 10 // one request, decompressed
	maxBatchLen     = 2500      // messages in one batch
	maxMessageID    = 100
)

// DefaultRealtime are the event types that reach a contact's workflow within
// seconds (the others are stored and loaded into the warehouse only).
var DefaultRealtime = []string{"Product Viewed", "Product Added", "Checkout Started", "Order Completed",
	"Form Submitted", "Email Opened", "Email Link Clicked"}

// segmentMessage is one message of the Segment spec, as clients send it; fields
// Kith does not use (integrations, _metadata …) are accepted and ignored.
type segmentMessage struct {
	Type              string          `json:"type"`
	MessageID         string          `json:"messageId"`
	UserID            json.RawMessage `json:"userId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
	Event             string          `json:"event"`
	Name              string          `json:"name"`
	Category          string          `json:"category"`
	GroupID           json.RawMessage `json:"groupId"`
	PreviousID        json.RawMessage `json:"previousId"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Timestamp         *time.Time      `json:"timestamp"`
	OriginalTimestamp *time.Time      `json:"originalTimestamp"`
	SentAt            *time.Time      `json:"sentAt"`
	WriteKey          string          `json:"writeKey"`
}

// batchBody is a batch call's body: its messages and what they share.
type batchBody struct {
	messages []decodedMessage
	SentAt   *time.Time
	Context  json.RawMessage
}

// decodedMessage is one message of a body with its size in bytes and, when it
// does not read as a message (a field of the wrong kind), why.
type decodedMessage struct {
	msg  segmentMessage
	size int
	err  error
}

// decodeBatch reads a batch body in one pass. (Unmarshal into raw messages and
// then each message reads every byte four times; at line rate that was the
// events API's largest cost.) A message with a field of the wrong kind keeps
// its own error, so the answer names the message; broken JSON, a batch that is
// not an array, an empty or an overlong batch refuse the body.
func decodeBatch(body []byte) (batchBody, *problem) {
	var b batchBody
	malformed := func(err error, target any) (batchBody, *problem) {
		return batchBody{}, &problem{status: http.StatusBadRequest, code: "malformed_json", msg: "the body is not a batch: " + jsonProblem(err, target)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil {
		return malformed(err, map[string]any{})
	} else if t != json.Delim('{') {
		return malformed(&json.UnmarshalTypeError{Value: valueKind(t), Type: reflect.TypeFor[map[string]any]()}, nil)
	}
	sawBatch := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return malformed(err, map[string]any{})
		}
		key, _ := t.(string)
		switch key {
		case "batch":
			sawBatch = true
			if b.messages, err = decodeMessages(dec, len(body)); err != nil {
				return malformed(named(err, "batch"), []any{})
			}
		case "sentAt":
			err = dec.Decode(&b.SentAt)
			if err != nil {
				return malformed(named(err, "sentAt"), "")
			}
		case "context":
			if err = dec.Decode(&b.Context); err != nil {
				return malformed(err, map[string]any{})
			}
		default: // writeKey (read before), and fields Kith does not use
			var skip json.RawMessage
			if err = dec.Decode(&skip); err != nil {
				return malformed(err, map[string]any{})
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(err, map[string]any{})
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed(&json.SyntaxError{Offset: dec.InputOffset()}, nil)
	}
	switch {
	case !sawBatch || len(b.messages) == 0:
		return batchBody{}, &problem{status: http.StatusBadRequest, code: "invalid", msg: "the batch is empty",
			violations: kith.Violations{violation("batch", "required", "must hold at least one message")}}
	case len(b.messages) > maxBatchLen:
		return batchBody{}, &problem{status: http.StatusRequestEntityTooLarge, code: "too_large",
			msg: fmt.Sprintf("a batch holds at most %d messages, this one %d", maxBatchLen, len(b.messages))}
	}
	return b, nil
}

// decodeMessages reads the array of a batch, each message once. A message that
// does not read as one is kept with its error; broken JSON ends the array.
func decodeMessages(dec *json.Decoder, bodyLen int) ([]decodedMessage, error) {
	t, err := dec.Token()
	if err != nil || t == nil { // null: no messages
		return nil, err
	}
	if t != json.Delim('[') {
		return nil, &json.UnmarshalTypeError{Value: valueKind(t), Type: reflect.TypeFor[[]any](), Offset: dec.InputOffset()}
	}
	msgs := make([]decodedMessage, 0, min(bodyLen/256+1, maxBatchLen+1)) // a message is rarely under 256 bytes
	for dec.More() {
		start := dec.InputOffset()
		var m decodedMessage
		m.err = dec.Decode(&m.msg)
		var syn *json.SyntaxError
		if errors.As(m.err, &syn) || errors.Is(m.err, io.ErrUnexpectedEOF) {
			return nil, m.err
		}
		m.size = int(dec.InputOffset() - start)
		msgs = append(msgs, m)
	}
	_, err = dec.Token() // the closing bracket
	return msgs, err
}

// named gives a type error of a top-level field its field's name.
func named(err error, field string) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field == "" {
		typ.Field = field
	}
	return err
}

// valueKind names the JSON value a token starts, as UnmarshalTypeError does.
func valueKind(t json.Token) string {
	switch t.(type) {
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	case json.Delim:
		if t == json.Delim('[') {
			return "array"
		}
		return "object"
	}
	return "null"
}

// handleEvents serves POST /v1/{call} for track, identify, page, screen, group,
// alias and batch. It answers 200 {"success":true} only after every message is
// durable in PostgreSQL; a message stored before (same messageId from the same
// source) is answered the same and counted as a duplicate.
func (s *Server) handleEvents(call string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		received := s.Now().UTC()
		body, p := readEventBody(w, r)
		// Who is sending comes first: nothing of an unknown sender is kept.
		src, ok := s.source(r, func() string { return bodyWriteKey(call, body) })
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="kith events"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send a write key as the Basic auth user name (empty password) or as writeKey in the body", nil)
			return
		}
		if p != nil {
			s.refuseEvents(w, r, src.Name, 1, body, p)
			return
		}
		if !utf8.Valid(body) {
			s.refuseEvents(w, r, src.Name, 1, body, &problem{status: http.StatusBadRequest, code: "invalid_utf8", msg: "the body is not valid UTF-8 text"})
			return
		}
		// The full token walk (it names the field at fault) only when a fast
		// pass finds a NUL: it costs a fifth of the API's time at line rate.
		if hasNULEscape(body) {
			if p := scanJSON(body); p != nil {
				p.status = http.StatusBadRequest
				s.refuseEvents(w, r, src.Name, 1, body, p)
				return
			}
		}
		var msgs []decodedMessage
		var batchSentAt *time.Time
		var shared json.RawMessage
		if call == "batch" {
			b, p := decodeBatch(body)
			if p != nil {
				s.refuseEvents(w, r, src.Name, 1, body, p)
				return
			}
			msgs, batchSentAt, shared = b.messages, b.SentAt, b.Context
		} else {
			if len(body) > maxMessage {
				s.refuseEvents(w, r, src.Name, 1, body, &problem{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: "a message is at most 32 KB"})
				return
			}
			var m decodedMessage
			m.size, m.err = len(body), json.Unmarshal(body, &m.msg)
			msgs = []decodedMessage{m}
		}
		var vs kith.Violations
		events := make([]kith.Event, 0, len(msgs))
		for i := range msgs {
			at, m := atOf(call, i), &msgs[i]
			if m.size > maxMessage {
				vs = append(vs, violation(at, "too_large", "is larger than 32 KB"))
				continue
			}
			if m.err != nil {
				vs = append(vs, violation(at, "malformed", jsonProblem(m.err, &m.msg)))
				continue
			}
			e, mvs := s.toEvent(call, &m.msg, at, src, batchSentAt, shared, received)
			vs = append(vs, mvs...)
			events = append(events, e)
		}
		if len(vs) > 0 {
			s.refuseEvents(w, r, src.Name, len(msgs), body, &problem{status: http.StatusBadRequest, code: "invalid", msg: "some messages need fixing; nothing was stored", violations: vs})
			return
		}
		sent := len(events)
		events, err := s.identifyEvents(w, r, src, events)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.Metrics.Events(src.Name, telemetry.EventDropped, sent-len(events))
		relay := make([]bool, len(events))
		for i, e := range events {
			relay[i] = s.realtime(e.Type) && !e.Machine
		}
		counts := map[string]int{}
		if dropped := sent - len(events); dropped > 0 {
			counts["refused_erased"] = dropped
		}
		// The request's raw lake line goes into the events' own transaction:
		// one commit per request, not two.
		var line *kith.LakeLine
		if len(events) > 0 {
			if line = s.archivedLine(r); line != nil {
				line.Counts = counts
			}
		}
		fresh, err := s.appendEvents(r.Context(), events, relay, line)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if line != nil {
			lakeSpooled(r)
		} else {
			verdict, counts := kith.BatchVerdict(fresh, counts)
			lakeVerdict(r, verdict, counts)
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	}
}

// bodyWriteKey is the writeKey a body carries (the batch's, else its first
// message's), for clients that send no Basic auth.
func bodyWriteKey(call string, body []byte) string {
	var b struct {
		WriteKey string            `json:"writeKey"`
		Batch    []json.RawMessage `json:"batch"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	if b.WriteKey == "" && call == "batch" && len(b.Batch) > 0 {
		var m struct {
			WriteKey string `json:"writeKey"`
		}
		json.Unmarshal(b.Batch[0], &m)
		return m.WriteKey
	}
	return b.WriteKey
}

func atOf(call string, i int) string {
	if call == "batch" {
		return "batch." + strconv.Itoa(i)
	}
	return "message"
}

// readEventBody reads a JSON (or, as browsers send it to skip a CORS
// preflight, text/plain) body, gunzipping it when the client compressed it, up
// to the batch limit.
func readEventBody(w http.ResponseWriter, r *http.Request) ([]byte, *problem) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "text/plain") {
		return nil, &problem{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "send the body as application/json"}
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, maxBatchRequest)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, &problem{status: http.StatusBadRequest, code: "bad_encoding", msg: "the body is not gzip"}
		}
		rd = io.LimitReader(zr, maxBatchRequest+1)
	default:
		return nil, &problem{status: http.StatusUnsupportedMediaType, code: "unsupported_encoding", msg: "send the body plain or gzip-compressed, not " + quote(enc)}
	}
	// A plain body's announced length sizes the buffer (the limit still holds).
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), maxBatchRequest)+bytes.MinRead))
	_, err = buf.ReadFrom(rd)
	body := buf.Bytes()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || len(body) > maxBatchRequest:
		return nil, &problem{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: "a request is at most 500 KB"}
	case err != nil:
		return body, &problem{status: http.StatusBadRequest, code: "bad_request", msg: "the body could not be read (a broken gzip stream?)"}
	}
	keepForLake(r, body)
	return body, nil
}

// source finds the write key's source, from Basic auth or the body.
func (s *Server) source(r *http.Request, bodyKey func() string) (EventSource, bool) {
	key, _, ok := r.BasicAuth()
	if !ok || key == "" {
		key = bodyKey()
	}
	if key == "" {
		return EventSource{}, false
	}
	return kith.MatchKey(key, s.Sources, func(src EventSource) [32]byte { return src.KeySHA256 })
}

// idString reads an id the spec allows as a string or a number.
func idString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// toEvent checks one message and turns it into an event. The timestamp is
// corrected for the sender's clock as the spec says: receivedAt − (sentAt −
// timestamp), whenever sentAt is known.
func (s *Server) toEvent(call string, m *segmentMessage, at string, src EventSource, batchSentAt *time.Time, shared json.RawMessage, received time.Time) (kith.Event, kith.Violations) {
	var vs kith.Violations
	bad := func(field, code, msg string) { vs = append(vs, violation(at+"."+field, code, msg)) }
	typ := m.Type
	if call != "batch" {
		typ = call
	}
	switch typ {
	case "track", "page", "screen", "identify", "group", "alias":
	case "":
		bad("type", "required", "is required in a batch: track, page, screen, identify, group or alias")
	default:
		bad("type", "unknown_type", "must be track, page, screen, identify, group or alias")
	}
	user, okU := idString(m.UserID)
	anon, okA := idString(m.AnonymousID)
	if !okU {
		bad("userId", "wrong_type", "must be a string")
	}
	if !okA {
		bad("anonymousId", "wrong_type", "must be a string")
	}
	if user == "" && anon == "" {
		bad("userId", "required", "userId or anonymousId is required")
	}
	if len(anon) > 128 || len(user) > 256 {
		bad("anonymousId", "too_long", "ids are at most 128 (anonymousId) and 256 (userId) characters")
	}
	if typ == "track" && strings.TrimSpace(m.Event) == "" {
		bad("event", "required", "a track call names its event")
	}
	if len(m.Event) > 200 || len(m.Name) > 200 {
		bad("event", "too_long", "event and page names are at most 200 characters")
	}
	prev, _ := idString(m.PreviousID)
	if typ == "alias" && prev == "" {
		bad("previousId", "required", "an alias call names the previousId")
	}
	if len(m.MessageID) > maxMessageID {
		bad("messageId", "too_long", "is at most 100 characters")
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"properties", m.Properties}, {"traits", m.Traits}, {"context", m.Context}} {
		if len(f.raw) > 0 && string(f.raw) != "null" && f.raw[0] != '{' {
			bad(f.name, "wrong_type", "must be an object")
		}
	}
	if m.MessageID == "" {
		m.MessageID = "kith-" + rand.Text() // assigned: a retry of this message cannot be recognised
	}
	ctxJSON := m.Context
	if len(ctxJSON) == 0 || string(ctxJSON) == "null" {
		ctxJSON = shared
	}
	e := kith.Event{
		EventID: src.Name + "/" + m.MessageID, AnonymousID: anon, UserID: user, Source: kith.SourceTracker,
		Call: typ, WriteSource: src.Name, MessageID: m.MessageID, Properties: object(m.Properties), Traits: object(m.Traits),
		Context: object(ctxJSON), ReceivedAt: received, OccurredAt: received,
	}
	switch typ {
	case "track":
		e.Type = strings.TrimSpace(m.Event)
	case "":
		e.Type = "unknown"
	default:
		e.Type = typ
	}
	if (typ == "page" || typ == "screen") && (m.Name != "" || m.Category != "") {
		e.Properties = withNames(e.Properties, m.Name, m.Category)
	}
	if typ == "alias" {
		e.Properties, _ = json.Marshal(map[string]string{"previousId": prev})
	}
	ts := m.Timestamp
	if m.OriginalTimestamp != nil {
		ts = m.OriginalTimestamp
	}
	sent := m.SentAt
	if sent == nil {
		sent = batchSentAt
	}
	if sent != nil {
		e.SentAt = sent.UTC()
	}
	switch {
	case ts != nil && sent != nil:
		e.OccurredAt = received.Add(-sent.Sub(*ts))
	case ts != nil:
		e.OccurredAt = ts.UTC()
	}
	return e, vs
}

func object(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// withNames adds a page call's name and category to its properties (the spec
// keeps them beside the properties).
func withNames(props json.RawMessage, name, category string) json.RawMessage {
	m := map[string]any{}
	if len(props) > 0 {
		json.Unmarshal(props, &m)
	}
	if name != "" {
		m["name"] = name
	}
	if category != "" {
		m["category"] = category
	}
	b, _ := json.Marshal(m)
	return b
}

func (s *Server) realtime(typ string) bool {
	for _, t := range s.Realtime {
		if t == typ {
			return true
		}
	}
	return false
}

// refuseEvents answers a refused events request of n messages from source and
// keeps its body in quarantine (source tracker).
func (s *Server) refuseEvents(w http.ResponseWriter, r *http.Request, source string, n int, body []byte, p *problem) {
	s.Metrics.Refused(source, p.code, n)
	if len(body) == 0 { // nothing arrived to keep (an unreadable or refused stream)
		writeError(w, p.status, p.code, p.msg, p.violations)
		return
	}
	s.quarantine(w, r, p, anonymousClient(r), kith.SourceTracker, body, "events", "")
}

// identifyEvents stitches identify calls that name an email: the anonymous id
// joins the contact of that email (created when new), and the traits that are
// profile fields are applied with the tracker's provenance — unless the source
// is a browser and the email is another contact's: that is a claim, held until
// the address's owner verifies it, like a form's. An identify naming an
// erased person is dropped (counted): the events returned are those to store.
func (s *Server) identifyEvents(w http.ResponseWriter, r *http.Request, src EventSource, events []kith.Event) ([]kith.Event, error) {
	dropped := map[int]bool{}
	for i := range events {
		e := &events[i]
		if e.Call == "alias" {
			if err := s.alias(r, src, e); err != nil {
				return nil, err
			}
			continue
		}
		if e.Call != "identify" {
			continue
		}
		var traits map[string]any
		json.Unmarshal(e.Traits, &traits)
		if _, ok := traits["email"].(string); !ok {
			// No email: a trusted source's userId may still name a known contact.
			if err := s.identifyByUser(r, src, e); err != nil {
				return nil, err
			}
			continue
		}
		raw := map[kith.Field]string{}
		for k, v := range traits {
			if f, ok := kith.ParseField(traitField(k)); ok {
				if str, ok := v.(string); ok {
					raw[f] = str
				}
			}
		}
		if raw[kith.FieldEmail] == "" {
			continue
		}
		opts := s.Quality
		opts.Now = e.ReceivedAt
		prov := kith.Provenance{Source: kith.SourceTracker, Ref: e.EventID, At: e.OccurredAt}
		res := quality.Record(raw, opts)
		fields := res.Values(prov, nil)
		email := fields[kith.FieldEmail].Value
		if email == "" {
			continue // an address the rules refuse: the event is kept, nothing is stitched
		}
		if gone, err := s.erased(r.Context(), "identify", fields); err != nil {
			return nil, err
		} else if gone {
			dropped[i] = true // its traits name a person erased at their request
			continue
		}
		req := kith.SubmitRequest{Region: s.Quality.DefaultRegion, Submission: kith.Submission{
			SubmissionID: "identify/" + e.EventID, Form: "identify/" + src.Name, AnonymousID: e.AnonymousID,
			Fields: fields, Raw: e.Traits, ReceivedAt: e.ReceivedAt,
		}}
		id, claim, err := s.stitch(r, src, e, email)
		if err != nil {
			return nil, err
		}
		req.Submission.ContactID = id
		if claim {
			if err := s.claim(w, r, req, e.ReceivedAt); err != nil {
				return nil, err
			}
			continue
		}
		e.ContactID = id
		if e.UserID != "" {
			// The user id joins the contact unless another contact has it already.
			if err := s.Contacts.Link(r.Context(), id, kith.Identity{Kind: kith.IdentityUser, Value: e.UserID}, kith.SourceTracker); err != nil {
				return nil, err
			}
		}
		if _, err := s.Contacts.Submit(r.Context(), req); err != nil && kith.ErrorCode(err) != kith.CodeInvalid {
			return nil, err
		}
	}
	kept := events[:0:0]
	for i, e := range events {
		if !dropped[i] {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// stitch finds the contact an identify naming email is for. A trusted source's
// anonymous id joins the contact of that email (created when new); a browser's
// goes by the forms' rule (target), where another contact's email is a claim.
func (s *Server) stitch(r *http.Request, src EventSource, e *kith.Event, email string) (id string, claim bool, err error) {
	ctx := r.Context()
	if !src.Trusted {
		v, _, err := s.identify(ctx, e.AnonymousID, "", e.ReceivedAt)
		if err != nil {
			return "", false, err
		}
		return s.target(ctx, v, e.AnonymousID, email)
	}
	if id, _, err = s.Contacts.Resolve(ctx, []kith.Identity{{Kind: kith.IdentityEmail, Value: email}}, kith.SourceTracker); err != nil {
		return "", false, err
	}
	if e.AnonymousID != "" {
		err = s.Contacts.Link(ctx, id, kith.Identity{Kind: kith.IdentityAnonymous, Value: e.AnonymousID}, kith.SourceTracker)
	}
	return id, false, err
}

// identifyByUser: a trusted source's identify with a known userId links the
// anonymous id to that user's contact. A browser's userId proves nothing.
func (s *Server) identifyByUser(r *http.Request, src EventSource, e *kith.Event) error {
	if !src.Trusted || e.UserID == "" {
		return nil
	}
	id, err := s.Contacts.Lookup(r.Context(), kith.Identity{Kind: kith.IdentityUser, Value: e.UserID})
	if kith.ErrorCode(err) == kith.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	e.ContactID = id
	if e.AnonymousID == "" {
		return nil
	}
	return s.Contacts.Link(r.Context(), id, kith.Identity{Kind: kith.IdentityAnonymous, Value: e.AnonymousID}, kith.SourceTracker)
}

// alias (trusted sources only: a browser could name anyone) joins previousId
// and userId: when the userId belongs to a contact, the previous id (an
// anonymous visitor) joins it; otherwise, when the previous id (an anonymous or
// user id) belongs to a contact, the userId joins that contact.
func (s *Server) alias(r *http.Request, src EventSource, e *kith.Event) error {
	var p struct {
		PreviousID string `json:"previousId"`
	}
	json.Unmarshal(e.Properties, &p)
	if !src.Trusted || e.UserID == "" || p.PreviousID == "" {
		return nil
	}
	ctx := r.Context()
	owner := func(kind kith.IdentityKind, v string) (string, error) {
		id, err := s.Contacts.Lookup(ctx, kith.Identity{Kind: kind, Value: v})
		if kith.ErrorCode(err) == kith.CodeNotFound {
			return "", nil
		}
		return id, err
	}
	user, err := owner(kith.IdentityUser, e.UserID)
	if err != nil {
		return err
	}
	if user != "" {
		e.ContactID = user
		return s.Contacts.Link(ctx, user, kith.Identity{Kind: kith.IdentityAnonymous, Value: p.PreviousID}, kith.SourceTracker)
	}
	prev, err := owner(kith.IdentityAnonymous, p.PreviousID)
	if err == nil && prev == "" {
		prev, err = owner(kith.IdentityUser, p.PreviousID)
	}
	if err != nil || prev == "" {
		return err
	}
	e.ContactID = prev
	return s.Contacts.Link(ctx, prev, kith.Identity{Kind: kith.IdentityUser, Value: e.UserID}, kith.SourceTracker)
}

// traitField maps Segment's reserved traits to profile fields.
func traitField(trait string) string {
	switch trait {
	case "firstName":
		return string(kith.FieldFirstName)
	case "lastName":
		return string(kith.FieldLastName)
	case "birthday":
		return string(kith.FieldBirthDate)
	case "postalCode":
		return string(kith.FieldPostalCode)
	}
	return trait
}
