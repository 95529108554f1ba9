package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/httpapi"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/schemas"
	"github.com/kithhq/kith/telemetry"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

func runServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "", "listen address (default KITH_HTTP_ADDR or 127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	cfg, err := config.FromEnv(e.getenv, true)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	log := cfg.Logger()
	store, _, err := openMigrated(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	tel, err := telemetry.Start(ctx, "kith-api", cfg.MetricsAddr, e.getenv, log)
	if err != nil {
		return err
	}
	defer tel.Close(context.Background())
	tc, err := cfg.DialTemporal(ctx, log, tel.Temporal)
	if err != nil {
		return err
	}
	defer tc.Close()
	api, err := newAPI(cfg, store, tc, log)
	if err != nil {
		return err
	}
	observe(api, tel, store, log)
	if cfg.BigQuery {
		bq, err := warehouse.Open(ctx, cfg.BigQueryProject, cfg.BigQueryDataset, cfg.BigQueryEmulator)
		if err != nil {
			return err
		}
		defer bq.Close()
		api.WarehouseRows = bq
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	fmt.Fprintf(e.stdout, "serving the Kith API on http://%s (forms at /forms/<form>)\n", ln.Addr())
	return serveHTTP(ctx, ln, api.Handler(), log)
}

// newAPI wires the HTTP API to its stores and the Temporal client.
func newAPI(cfg config.Config, store *postgres.Store, tc client.Client, log *slog.Logger) (*httpapi.Server, error) {
	forms, err := kith.LoadForms(schemas.Forms, quality.DefaultWeights.Of)
	if err != nil {
		return nil, err
	}
	contacts := &workflows.ContactService{Client: tc, Profiles: store, Claims: store, Merges: store, PublicURL: cfg.PublicURL, Now: time.Now}
	hooks := map[string]httpapi.WebhookProvider{}
	if cfg.HubSpotSecret != "" {
		hooks["hubspot"] = httpapi.WebhookProvider{Secret: cfg.HubSpotSecret, Scheme: "hubspot-v3"}
	}
	if cfg.LinkKeyRandom {
		log.Warn("KITH_LINK_KEY is not set: signed links made now stop working when this process ends")
	}
	var sources []httpapi.EventSource
	for _, k := range cfg.WriteKeys {
		sources = append(sources, httpapi.EventSource{Name: k.Source, KeySHA256: k.SHA256, Trusted: slices.Contains(cfg.TrustedSources, k.Source)})
	}
	var admins []httpapi.AdminKey
	for _, k := range cfg.AdminKeys {
		admins = append(admins, httpapi.AdminKey{Name: k.Source, KeySHA256: k.SHA256})
	}
	store.UseIdentityHasher(cfg.IdentityHasher())
	store.UseQuarantineCap(cfg.QuarantineBytesPerHour)
	var espHook *httpapi.ESPWebhook
	if cfg.SendGridWebhookKey != nil {
		espHook = &httpapi.ESPWebhook{Key: cfg.SendGridWebhookKey, Suppressions: store}
	}
	var spool kith.LakeSpool // the raw lake: kept only where a LakeArchive drains it
	if cfg.LakeBucket != "" {
		spool = &postgres.SpoolWriter{Store: store} // a group commit, as the events are
	}
	return &httpapi.Server{
		Lake:        spool,
		ESP:         espHook,
		Events:      &postgres.EventWriter{Log: store},
		Sources:     sources,
		Realtime:    httpapi.DefaultRealtime,
		Forms:       forms,
		Store:       store,
		Contacts:    contacts,
		Syncs:       contacts,
		Links:       kith.Signer{Key: cfg.LinkKey, Old: cfg.LinkKeysOld},
		Webhooks:    hooks,
		PublicURL:   cfg.PublicURL,
		Quality:     quality.Options{DefaultRegion: cfg.DefaultRegion},
		Now:         time.Now,
		Log:         log,
		CORSOrigins: cfg.CORSOrigins,
		Privacy:     &workflows.PrivacyService{Client: tc, Store: store},
		Admins:      admins,
		Erased:      store,
		Exports:     store,
		Reviews:     store,
		Replays:     &workflows.Deliveries{Client: tc, Store: store},
		Unmerges:    contacts,
		Reports:     store,
	}, nil
}

// observe gives the API its metrics (requests, events, and the store's
// figures) and its tracing.
func observe(api *httpapi.Server, tel *telemetry.Process, store *postgres.Store, log *slog.Logger) {
	api.Metrics = telemetry.NewAPI(tel.Registry)
	api.Tracer = tel.Tracer
	tel.Registry.MustRegister(&telemetry.Store{Log: log, Report: func(ctx context.Context) (kith.QualityReport, error) {
		return store.QualityReport(ctx, time.Now())
	}})
}

// serveHTTP serves h on ln until ctx ends, then drains requests in flight.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("HTTP API stopping")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
