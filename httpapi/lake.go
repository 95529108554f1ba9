package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/kithhq/kith"
)

// lakeNote is what a request tells the raw lake: the body its handler read
// (decompressed) and, where the status alone does not say it, the verdict.
type lakeNote struct {
	src      kith.LakeSource
	id       string
	received time.Time
	body     []byte
	read     bool
	verdict  string
	counts   map[string]int
	// spooled: the handler wrote the line itself (with the events it stored).
	spooled bool
}

type lakeNoteKey struct{}

// keepForLake records the body a handler read, for the lake (a no-op on
// routes the lake does not archive).
func keepForLake(r *http.Request, body []byte) {
	if n, ok := r.Context().Value(lakeNoteKey{}).(*lakeNote); ok {
		n.body, n.read = body, true
	}
}

// lakeVerdict sets the verdict and per-record counts of a payload of many
// records (an events batch, a webhook delivery).
func lakeVerdict(r *http.Request, verdict string, counts map[string]int) {
	if n, ok := r.Context().Value(lakeNoteKey{}).(*lakeNote); ok {
		n.verdict, n.counts = verdict, counts
	}
}

// archived wraps a route whose payloads the raw lake keeps. The handler's
// answer is held until the payload is in the spool (durable in PostgreSQL):
// a sender told 2xx or 4xx can count on its payload being in the lake, and a
// spool that cannot take it answers 503 (the sender retries; its retry is
// archived as a duplicate). What an unauthenticated sender sent (401, 403) is
// not kept, nor a body too large to read whole.
func (s *Server) archived(src kith.LakeSource, h http.HandlerFunc) http.HandlerFunc {
	if s.Lake == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		note := &lakeNote{src: src, id: requestID(), received: s.Now().UTC()}
		r = r.WithContext(context.WithValue(r.Context(), lakeNoteKey{}, note))
		w.Header().Set("X-Request-Id", note.id)
		buf := &heldResponse{header: w.Header(), status: http.StatusOK}
		h(buf, r)
		if note.read && !note.spooled && buf.status != http.StatusUnauthorized && buf.status != http.StatusForbidden && buf.status != http.StatusRequestEntityTooLarge {
			line := note.line(r)
			line.Counts = note.counts
			line.Verdict, line.Codes = verdictOf(buf.status, buf.body.Bytes(), note.verdict)
			if src == kith.LakeForms || src == kith.LakeTracking {
				// Public endpoints: a caller's refusals are kept in the lake within
				// a budget of their own, the size of its quarantine budget.
				line.Client = "lake:" + anonymousClient(r)
			}
			// The sender may give up; the line is still written before the answer.
			if err := s.Lake.SpoolLines(context.WithoutCancel(r.Context()), []kith.LakeLine{line}); err != nil {
				s.internal(w, r, err)
				return
			}
		}
		buf.flush(w)
	}
}

// line is the request's lake line, without its verdict.
func (n *lakeNote) line(r *http.Request) kith.LakeLine {
	return kith.LakeLine{ReceivedAt: n.received, Source: n.src, RequestID: n.id, Ref: lakeRef(r), Payload: kith.RawPayload(n.body)}
}

// archivedLine is the lake line of an archived request whose handler can
// write it with the events it stores (one commit, not two), or nil.
func (s *Server) archivedLine(r *http.Request) *kith.LakeLine {
	n, ok := r.Context().Value(lakeNoteKey{}).(*lakeNote)
	if _, logs := s.Events.(kith.ArchivingEventLog); !ok || !n.read || !logs {
		return nil
	}
	l := n.line(r)
	return &l
}

// lakeSpooled tells the archive the handler wrote the request's line.
func lakeSpooled(r *http.Request) {
	if n, ok := r.Context().Value(lakeNoteKey{}).(*lakeNote); ok {
		n.spooled = true
	}
}

// lakeRef is what a request names within its source: the form, the CRM.
func lakeRef(r *http.Request) string {
	for _, k := range []string{"form", "provider"} {
		if v := r.PathValue(k); v != "" {
			return v
		}
	}
	return r.URL.Path
}

// verdictOf reads the verdict from the answer: the handler's own when it set
// one, else 2xx accepted, 5xx (and 429) failed, any other refusal quarantined
// with the error's code and its violations' codes.
func verdictOf(status int, body []byte, set string) (string, []string) {
	switch {
	case set != "":
		return set, nil
	case status < 300:
		return kith.VerdictAccepted, nil
	case status >= 500 || status == http.StatusTooManyRequests:
		return kith.VerdictFailed, nil
	}
	var e errorBody
	json.Unmarshal(body, &e)
	codes := []string{}
	if e.Error.Code != "" {
		codes = append(codes, e.Error.Code)
	}
	for _, v := range e.Error.Violations {
		if !slices.Contains(codes, v.Code) {
			codes = append(codes, v.Code)
		}
	}
	return kith.VerdictQuarantined, codes
}

func requestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// heldResponse holds a handler's answer until the lake has its payload.
type heldResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if !h.wrote {
		h.status, h.wrote = status, true
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	h.wrote = true
	return h.body.Write(b)
}

func (h *heldResponse) flush(w http.ResponseWriter) {
	w.WriteHeader(h.status)
	w.Write(h.body.Bytes())
}
