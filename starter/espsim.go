package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/kithhq/kith/esp/espsim"
)

// runESPSim serves the ESP simulator, a stand-in for SendGrid in demos and
// tests: Mail Send, faults, and signed event webhooks (see esp/espsim).
func runESPSim(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("esp-sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address; point KITH_ESP_URL here")
	key := fs.String("key", "esp-sim-key", "the API key it accepts (KITH_ESP_KEY)")
	fail := fs.Int("fail-429", 0, "answer this many Mail Send calls with 429 and Retry-After: 1 first")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	sim := espsim.New(*key)
	for range *fail {
		sim.Fail(espsim.Fault{Status: 429, RetryAfter: 1})
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(e.stdout, "ESP simulator (SendGrid v3 Mail Send subset; a simulator, not SendGrid) on http://%s\n", ln.Addr())
	fmt.Fprintf(e.stdout, "  KITH_ESP_URL=http://%s KITH_ESP_KEY=%s KITH_SENDGRID_WEBHOOK_KEY=%s\n", ln.Addr(), *key, sim.PublicKey())
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return serveHTTP(ctx, ln, sim, log)
}
