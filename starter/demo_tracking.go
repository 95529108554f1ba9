package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/postgres"
)

// The demo's write keys: a browser source (tracker.js) and a trusted server one.
const (
	demoWebKey     = "demo-web-write-key-0001"
	demoBackendKey = "demo-backend-write-key-01"
)

// demoTracking sends behaviour through the public paths: a Segment-spec batch
// from Grace's browser (delivered twice), a refused one, then an email open
// (a person's and a privacy proxy's) and a signed click; the Product Viewed
// reaches Grace's workflow through the relay.
func demoTracking(ctx context.Context, cfg config.Config, c client.Client, api string, store *postgres.Store, grace string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	d := demoAPI{ctx, api}
	post := func(path, key string, body any) (int, string, error) {
		b, _ := json.Marshal(body)
		code, out, _, err := d.do(http.DefaultClient, "POST", path, "application/json", string(b), func(r *http.Request) {
			if key != "" {
				r.SetBasicAuth(key, "")
			}
		})
		return code, out, err
	}
	page := map[string]any{"page": map[string]any{"path": "/pricing", "url": "https://shop.example/pricing"},
		"campaign": map[string]any{"source": "newsletter", "medium": "email", "name": "december"}}
	batch := map[string]any{"batch": []map[string]any{
		{"type": "page", "messageId": "demo-page-1", "anonymousId": "demo-visitor-0001", "name": "Pricing", "context": page},
		{"type": "track", "messageId": "demo-scroll-1", "anonymousId": "demo-visitor-0001", "event": "Scroll Depth", "properties": map[string]any{"percent": 75}, "context": page},
		{"type": "track", "messageId": "demo-engaged-1", "anonymousId": "demo-visitor-0001", "event": "Engaged Time", "properties": map[string]any{"seconds": 42}, "context": page},
		{"type": "track", "messageId": "demo-view-1", "anonymousId": "demo-visitor-0001", "event": "Product Viewed", "properties": map[string]any{"sku": "SKU-42"}, "context": page},
	}}
	sent := time.Now()
	for i := range 2 {
		code, body, err := post("/v1/batch", demoWebKey, batch)
		if err != nil {
			return err
		}
		say("events API (Segment spec), Grace's browser, delivery %d of the same batch of 4: %d %s", i+1, code, body)
	}
	code, _, err := post("/v1/track", "", map[string]any{"anonymousId": "x", "event": "E"})
	if err != nil {
		return err
	}
	code2, body2, err := post("/v1/track", demoWebKey, map[string]any{"event": "E"})
	if err != nil {
		return err
	}
	say("without a write key: %d; without userId or anonymousId: %d %s", code, code2, body2)
	if err := waitFor(ctx, 30*time.Second, func() bool {
		view, err := contactView(ctx, c, grace)
		return err == nil && view.Events > 0
	}); err != nil {
		return fmt.Errorf("the Product Viewed did not reach the contact's workflow")
	}
	say("the Product Viewed reached Grace's ContactLifecycle in %s (outbox → EventRelay → signal); page and scroll are stored only",
		time.Since(sent).Round(10*time.Millisecond))

	get := func(path, ua string) (int, http.Header, error) { // no redirects followed
		code, _, h, err := d.do(nil, "GET", path, "", "", func(r *http.Request) { r.Header.Set("User-Agent", ua) })
		return code, h, err
	}
	const person = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
	open, err := signedLink(cfg, kith.Link{Kind: kith.LinkOpen, ContactID: grace, Delivery: "demo-newsletter-1", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	click, err := signedLink(cfg, kith.Link{Kind: kith.LinkClick, ContactID: grace, Delivery: "demo-newsletter-1", URL: "https://shop.example/sale", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	openPath, clickPath := strings.TrimPrefix(open, cfg.PublicURL), strings.TrimPrefix(click, cfg.PublicURL)
	code1, h1, err := get(openPath, person)
	if err != nil {
		return err
	}
	if _, _, err := get(openPath, "Mozilla/5.0"); err != nil { // Apple Mail Privacy Protection's fetch
		return err
	}
	code2, h2, err := get(clickPath, person)
	if err != nil {
		return err
	}
	code3, _, err := get(clickPath[:len(clickPath)-3]+"AAA", person)
	if err != nil {
		return err
	}
	say("email open pixel: %d %s; click: %d to %s; a tampered click link: %d, no redirect",
		code1, h1.Get("Content-Type"), code2, h2.Get("Location"), code3)
	counts, err := store.EventCounts(ctx)
	if err != nil {
		return err
	}
	var parts []string
	for _, c := range counts {
		who := ""
		if c.Machine {
			who = " (machine)"
		}
		parts = append(parts, fmt.Sprintf("%s%s %d", c.Type, who, c.N))
	}
	say("events stored: %s", strings.Join(parts, ", "))
	return nil
}
