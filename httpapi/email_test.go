package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// TestOpenPixelAndClickLinks: the pixel is always a GIF, a valid open is
// stored (a privacy proxy's flagged as machine), a bad token is kept in
// quarantine; a click redirects to exactly the signed URL, and a forged,
// altered, expired or foreign token never redirects.
func TestOpenPixelAndClickLinks(t *testing.T) {
	k := newKith(t, workflows.ContactInput{})
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{"submission_id": "email-sub-1",
		"fields": map[string]string{"email": "reader@example.com"}, "consents": consentsGiven}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	sign := func(l kith.Link) string { l.ContactID = res.ContactID; return k.API.Links.Sign(l) }
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path, ua string) *http.Response {
		req, _ := http.NewRequest(method, k.URL+path, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const browserUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
	open := sign(kith.Link{Kind: kith.LinkOpen, Delivery: "d-1", Expires: time.Now().Add(time.Hour)})
	for _, tc := range []struct{ name, token, ua string }{{"person", open, browserUA}, {"privacy proxy", open, "Mozilla/5.0"}, {"bad token", "not-a-token", browserUA}} {
		resp := get("GET", "/v1/o/"+tc.token+".gif", tc.ua)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: pixel answered %d %s %s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE type = 'Email Opened' AND contact_id = $1 AND NOT machine`, res.ContactID); n != 1 {
		t.Errorf("%d human opens stored, want 1", n)
	}
	if n := k.count(t, `SELECT count(*) FROM events WHERE type = 'Email Opened' AND machine`); n != 1 {
		t.Errorf("%d machine opens stored, want the privacy proxy's", n)
	}
	if n := k.count(t, `SELECT count(*) FROM quarantine WHERE source_ref LIKE 'email/open/%'`); n != 1 {
		t.Errorf("%d bad pixel tokens kept, want 1", n)
	}

	dest := "https://shop.example/sale?utm_source=kith&x=1"
	click := sign(kith.Link{Kind: kith.LinkClick, Delivery: "d-1", URL: dest, Expires: time.Now().Add(time.Hour)})
	if resp := get("GET", "/v1/c/"+click, browserUA); resp.StatusCode != 302 || resp.Header.Get("Location") != dest {
		t.Errorf("click answered %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), dest)
	}
	// Altered: the same signature over another destination.
	payload, sig, _ := strings.Cut(click, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	altered := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte("shop.example"), []byte("evil.example"), 1)) + "." + sig
	for _, tc := range []struct{ name, token string }{
		{"altered destination", altered},
		{"forged", payload + ".AAAA"},
		{"expired", sign(kith.Link{Kind: kith.LinkClick, Delivery: "d-1", URL: dest, Expires: time.Now().Add(-time.Minute)})},
		{"an open token", open},
		{"a javascript URL", sign(kith.Link{Kind: kith.LinkClick, URL: "javascript:alert(1)", Expires: time.Now().Add(time.Hour)})},
		{"another key", kith.Signer{Key: []byte("some other key of thirty-two bytes!!")}.Sign(kith.Link{Kind: kith.LinkClick, ContactID: res.ContactID, URL: dest, Expires: time.Now().Add(time.Hour)})},
	} {
		if resp := get("GET", "/v1/c/"+tc.token, browserUA); resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
			t.Errorf("%s: answered %d to %q, want 404 and no redirect", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Machines: a HEAD, a scanner's agent, and a burst over every link of a message.
	get("HEAD", "/v1/c/"+click, browserUA)
	get("GET", "/v1/c/"+click, "Mozilla/5.0 (compatible; Barracuda Sentinel)")
	other := sign(kith.Link{Kind: kith.LinkClick, Delivery: "d-2", URL: "https://shop.example/a", Expires: time.Now().Add(time.Hour)})
	another := sign(kith.Link{Kind: kith.LinkClick, Delivery: "d-2", URL: "https://shop.example/b", Expires: time.Now().Add(time.Hour)})
	get("GET", "/v1/c/"+other, browserUA)
	get("GET", "/v1/c/"+another, browserUA)
	var human, machine int
	k.Store.DB().QueryRow(`SELECT count(*) FILTER (WHERE NOT machine), count(*) FILTER (WHERE machine) FROM events WHERE type = 'Email Link Clicked'`).Scan(&human, &machine)
	if human != 2 || machine != 3 {
		t.Errorf("%d human and %d machine clicks, want 2 (the first link of each message) and 3 (HEAD, scanner, burst)", human, machine)
	}
	var props map[string]any
	var b []byte
	k.Store.DB().QueryRow(`SELECT properties FROM events WHERE type = 'Email Link Clicked' ORDER BY received_at LIMIT 1`).Scan(&b)
	json.Unmarshal(b, &props)
	if props["url"] != dest || props["delivery"] != "d-1" {
		t.Errorf("click properties %v", props)
	}
	// Only a person's open and click wait for the contact's workflow.
	if n := k.count(t, `SELECT count(*) FROM event_outbox`); n != 3 {
		t.Errorf("%d events queued for the contact, want 3 (one open, two clicks)", n)
	}
}
