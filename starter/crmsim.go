package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/kithhq/kith/crm/crmsim"
)

// runCRMSim serves the CRM simulator, a stand-in for HubSpot in demos and tests.
// With -webhook it also sends signed webhook deliveries for its first contacts.
func runCRMSim(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("crm-sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address; point KITH_HUBSPOT_URL here")
	n := fs.Int("contacts", 1000, "how many contacts to generate (one deal and one ticket per ten)")
	token := fs.String("token", "sim-token", "the access token it accepts (KITH_HUBSPOT_TOKEN)")
	secret := fs.String("secret", "sim-secret", "the app secret it signs webhooks with (KITH_HUBSPOT_SECRET)")
	webhook := fs.String("webhook", "", "Kith's webhook URL to send -send deliveries to, e.g. http://127.0.0.1:8080/v1/webhooks/crm/hubspot")
	send := fs.Int("send", 0, "how many contact.propertyChange deliveries to send to -webhook")
	fail := fs.Int("fail-429", 0, "answer this many API requests with 429 and Retry-After: 1 first")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	sim := crmsim.New(*token, *secret, *n, 1)
	if *fail > 0 {
		sim.Fail(429, *fail, 1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(e.stdout, "CRM simulator (HubSpot CRM v3 subset; a simulator, not HubSpot) on http://%s with %d contacts\n", ln.Addr(), *n)
	fmt.Fprintf(e.stdout, "  KITH_HUBSPOT_URL=http://%s KITH_HUBSPOT_TOKEN=%s KITH_HUBSPOT_SECRET=%s\n", ln.Addr(), *token, *secret)
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *webhook != "" && *send > 0 {
		go func() {
			ids := sim.Objects("contacts")
			for i := range min(*send, len(ids)) {
				code, err := sim.SendWebhook(ctx, *webhook, []crmsim.Event{{EventID: time.Now().UnixNano(), SubscriptionType: "contact.propertyChange", ObjectID: ids[i]}}, time.Now(), false)
				fmt.Fprintf(e.stdout, "webhook for contact %s: %d %v\n", ids[i], code, err)
			}
		}()
	}
	return serveHTTP(ctx, ln, sim, log)
}
