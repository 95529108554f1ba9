package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kithhq/kith"
)

// problem is why a request body was refused: the HTTP status, a code, a message
// a person can act on, and the field-level violations.
type problem struct {
	status     int
	code, msg  string
	violations kith.Violations
}

// readBody reads a JSON request body within the size limit. A nil problem and
// the bytes on success.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *problem) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, &problem{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "send the body as application/json"}
	}
	max := s.MaxBody
	if max <= 0 {
		max = 64 << 10
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &problem{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: "the body is larger than the limit of " + byteCount(max)}
	case err != nil:
		return nil, &problem{status: http.StatusBadRequest, code: "bad_request", msg: "the body could not be read"}
	}
	keepForLake(r, body)
	return body, nil
}

// decodeJSON decodes one JSON document into v, strictly: the bytes must be
// UTF-8, no string (key or value) may hold a NUL character (PostgreSQL cannot
// store one), no object may repeat a key (which value counts would depend on the
// reader), no field may be unknown and nothing may follow the document. Messages
// speak of JSON, never of Go types, and never echo the body.
func decodeJSON(body []byte, v any) *problem {
	if !utf8.Valid(body) {
		return &problem{status: http.StatusUnprocessableEntity, code: "invalid", msg: "the body is not valid UTF-8 text",
			violations: kith.Violations{violation("body", "invalid_utf8", "holds bytes that are not UTF-8 text")}}
	}
	if p := scanJSON(body); p != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &problem{status: http.StatusBadRequest, code: "malformed_json", msg: "the body is not the expected JSON: " + jsonProblem(err, v)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &problem{status: http.StatusBadRequest, code: "malformed_json", msg: "the body has data after its JSON document; send exactly one"}
	}
	return nil
}

// scanJSON walks the document's tokens: syntax errors, NUL characters and
// repeated keys, each named by its path (e.g. fields.city).
func scanJSON(body []byte) *problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		key    string // the member being read (objects)
		seen   map[string]bool
		index  int // the element being read (arrays)
		want   bool
	}
	var stack []*frame
	path := func() string {
		var parts []string
		for _, f := range stack {
			if f.object {
				parts = append(parts, pathName(f.key))
			} else {
				parts = append(parts, strconv.Itoa(f.index))
			}
		}
		if len(parts) == 0 {
			return "body"
		}
		return strings.Join(parts, ".")
	}
	var vs kith.Violations
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &problem{status: http.StatusBadRequest, code: "malformed_json", msg: "the body is not the expected JSON: " + jsonProblem(err, nil)}
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.want
		if str, ok := tok.(string); ok {
			if isKey {
				top.key, top.want = str, false
				if strings.ContainsRune(str, 0) {
					vs = append(vs, violation(path(), "nul_character", "a name holds a NUL character"))
				}
				if top.seen[str] {
					vs = append(vs, violation(path(), "duplicate_key", "is given twice; send each name once"))
				}
				top.seen[str] = true
				continue
			}
			if strings.ContainsRune(str, 0) {
				vs = append(vs, violation(path(), "nul_character", "holds a NUL character, which no text may contain"))
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, seen: map[string]bool{}, want: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object wants its next key, the array its
		// next element.
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.object {
				f.want = true
			} else {
				f.index++
			}
		}
		if len(vs) >= 20 {
			break
		}
	}
	if len(vs) > 0 {
		return &problem{status: http.StatusUnprocessableEntity, code: "invalid", msg: "the body holds text Kith cannot accept", violations: vs}
	}
	return nil
}

// pathName shows a client's key in a violation's field path: as it is when it
// is plain, quoted (with escapes, cut short) when it holds anything else.
func pathName(key string) string {
	plain := key != "" && len(key) <= 64
	for _, r := range key {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
			plain = false
			break
		}
	}
	if plain {
		return key
	}
	if len(key) > 40 {
		key = key[:40]
	}
	return strconv.QuoteToASCII(key)
}

// jsonProblem describes a decoding error in JSON's terms: where, and what kind
// of value was expected (object, array, string, number, true or false).
func jsonProblem(err error, target any) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		where := "the body"
		if typ.Field != "" {
			where = typ.Field
		}
		return where + " must be " + jsonKind(typ.Type) + ", not " + article(typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.As(err, new(*time.ParseError)) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON"):
		return "a time (timestamp, originalTimestamp, sentAt) must be an ISO 8601 string such as 2026-12-02T10:00:00.000Z"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ended early"
	}
	if target != nil {
		return "it ended early or is not " + jsonKind(reflect.TypeOf(target))
	}
	return "it ended early"
}

// jsonKind names what JSON value a Go type reads.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

func article(jsonValue string) string {
	jsonValue, _, _ = strings.Cut(jsonValue, " ") // "number 1e999"
	switch jsonValue {
	case "bool":
		return "true or false"
	case "object", "array":
		return "an " + jsonValue
	case "":
		return "this value"
	}
	return "a " + jsonValue
}

// hasNULEscape reports whether a JSON text holds a \u0000 escape in a string
// (a raw NUL byte is not JSON at all, and the decoder refuses it).
func hasNULEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // the escaped character: "\\u0000" is a backslash, then text
	}
	return false
}
