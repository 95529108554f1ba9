package httpapi

import (
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kithhq/kith"
)

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// emailSource is the events' write source for opens and clicks.
const emailSource = "email"

// handleOpen is an email's open pixel, GET /v1/o/{token}.gif. It always answers
// the GIF, at once and uncached, whatever the token: a mail client shows no
// broken image and learns nothing. A valid open is stored as an Email Opened
// event; one fetched by a mail privacy proxy (Apple Mail Privacy Protection
// fetches every image whether or not the person opens) is kept, flagged as a
// machine's, out of engagement and triggers. A bad token is kept in quarantine.
func (s *Server) handleOpen(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSuffix(r.PathValue("file"), ".gif")
	now := s.Now().UTC()
	l, err := s.Links.Verify(token, kith.LinkOpen, now)
	if err != nil {
		q := kith.Quarantine(kith.SourceTracker, []byte(token),
			kith.Violations{violation("token", "invalid_link", "an open pixel whose token is not Kith's or has expired")}, "email", "open", "")
		q.Client = anonymousClient(r)
		s.Store.Quarantine(r.Context(), []kith.Quarantined{q})
	} else {
		machine := privacyProxy(r)
		props, _ := json.Marshal(map[string]any{"delivery": l.Delivery})
		s.storeEmailEvent(r, kith.Event{ContactID: l.ContactID, Type: "Email Opened", Properties: props, Machine: machine}, now)
	}
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
	h.Set("Pragma", "no-cache")
	w.Write(pixel)
}

// handleClick is a tracked link, GET (or HEAD) /v1/c/{token}: the token is
// signed over the delivery, the contact, the destination and an expiry, so a
// valid one records the click and redirects to exactly the signed URL, and
// anything else gets a small page and never a redirect (no open redirect).
// Link scanners' clicks are kept, flagged as machine: HEAD requests, known
// scanner agents, and bursts on every link of one message within seconds.
func (s *Server) handleClick(w http.ResponseWriter, r *http.Request) {
	now := s.Now().UTC()
	l, err := s.Links.Verify(r.PathValue("token"), kith.LinkClick, now)
	if err != nil || !safeDestination(l.URL) {
		showPage(w, http.StatusNotFound, pageData{Title: "This link has expired", Text: "Open the newest message we sent you, or visit our site directly."})
		return
	}
	machine := r.Method == http.MethodHead || linkScanner(r.UserAgent())
	props, _ := json.Marshal(map[string]any{"delivery": l.Delivery, "url": l.URL})
	s.storeEmailEvent(r, kith.Event{ContactID: l.ContactID, Type: "Email Link Clicked", Properties: props, Machine: machine}, now)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, l.URL, http.StatusFound)
}

// storeEmailEvent stores an open or click (a person's, not a machine's, is
// relayed to the contact's workflow). A storage failure is logged: the person
// still gets the image or the page they asked for.
func (s *Server) storeEmailEvent(r *http.Request, e kith.Event, now time.Time) {
	e.EventID = emailSource + "/" + rand.Text()
	e.Source, e.Call, e.WriteSource, e.OccurredAt, e.ReceivedAt = kith.SourceTracker, "track", emailSource, now, now
	e.Context, _ = json.Marshal(map[string]any{"userAgent": r.UserAgent(), "ip": clientIP(r)})
	if !e.Machine && e.Type == "Email Link Clicked" {
		e.Machine = s.burst(r, e)
	}
	relay := []bool{!e.Machine && s.realtime(e.Type)}
	if _, err := s.appendEvents(r.Context(), []kith.Event{e}, relay, nil); err != nil {
		s.Log.Error("email event not stored", "type", e.Type, "error", err)
	}
}

// burst reports whether the same client clicked another link of the same
// message within the last seconds: a scanner following every link, not a person.
func (s *Server) burst(r *http.Request, e kith.Event) bool {
	var p struct{ Delivery, URL string }
	json.Unmarshal(e.Properties, &p)
	return s.clicks.seen(p.Delivery+"\x00"+clientIP(r), p.URL, e.ReceivedAt)
}

// burstWindow is how close together two clicks on different links of one
// message, from one address, must be to be a scanner's.
const burstWindow = 5 * time.Second

// clickBursts remembers, per message and client address, the last clicks of
// the last few seconds (in this process: a scanner's burst reaches one server).
type clickBursts struct {
	mu   sync.Mutex
	last map[string][]click
}

type click struct {
	url string
	at  time.Time
}

// seen records a click and reports whether another link of the same message
// was clicked from the same address within burstWindow.
func (b *clickBursts) seen(key, url string, at time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil || len(b.last) > 100_000 {
		b.last = map[string][]click{} // bounded: forget everything rather than grow
	}
	recent := b.last[key][:0:0]
	burst := false
	for _, c := range b.last[key] {
		if at.Sub(c.at) <= burstWindow {
			recent = append(recent, c)
			burst = burst || c.url != url
		}
	}
	b.last[key] = append(recent, click{url, at})
	return burst
}

// privacyProxy reports whether an image fetch comes from a mail privacy proxy:
// Apple's (Mail Privacy Protection) fetches from Apple's own network (17.0.0.0/8)
// with a bare "Mozilla/5.0" user agent.
func privacyProxy(r *http.Request) bool {
	if strings.TrimSpace(r.UserAgent()) == "Mozilla/5.0" {
		return true
	}
	ip := net.ParseIP(clientIP(r))
	return ip != nil && ip.To4() != nil && ip.To4()[0] == 17
}

// scannerAgents are fragments of the user agents of link scanners and security
// gateways that follow every link of a message.
var scannerAgents = []string{"barracuda", "proofpoint", "mimecast", "urldefense", "safelinks", "bitdefender", "trendmicro",
	"symantec", "forcepoint", "cisco", "ironport", "fireeye", "paloalto", "urlscan", "python-requests", "go-http-client",
	"curl/", "wget/", "headlesschrome", "bot", "spider", "crawler", "preview"}

func linkScanner(ua string) bool {
	ua = strings.ToLower(ua)
	if ua == "" {
		return true
	}
	for _, s := range scannerAgents {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

// safeDestination allows only web links: a signed javascript: or data: URL
// would still be an attack on the person clicking.
func safeDestination(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}
