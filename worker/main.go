// Command worker runs Kith's Temporal worker: it wires configuration to PostgreSQL
// and the activities, registers every workflow and activity, and polls the kith
// task queue until SIGINT or SIGTERM, finishing the tasks in hand before it exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/crm"
	"github.com/kithhq/kith/esp"
	"github.com/kithhq/kith/lake"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/schemas"
	"github.com/kithhq/kith/telemetry"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	if len(args) > 1 {
		return fmt.Errorf("takes no arguments; configure it with the environment (see README)")
	}
	cfg, err := config.FromEnv(getenv, true)
	if err != nil {
		return err
	}
	log := cfg.Logger()
	if path := getenv("KITH_CPU_PROFILE"); path != "" {
		// A CPU profile of the whole life of the worker, for benchmarks
		// and ops chasing a slow run (go tool pprof reads it).
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("KITH_CPU_PROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("KITH_CPU_PROFILE: %w", err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}

	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()

	tel, err := telemetry.Start(ctx, "kith-worker", cfg.MetricsAddr, getenv, log)
	if err != nil {
		return err
	}
	defer tel.Close(context.Background())
	c, err := cfg.DialTemporal(ctx, log, tel.Temporal)
	if err != nil {
		return err
	}
	defer c.Close()

	w := worker.New(c, workflows.TaskQueue, workflows.WorkerOptions())
	crms := map[string]kith.CRM{}
	if cfg.HubSpotToken != "" {
		crms["hubspot"] = &crm.HubSpot{BaseURL: cfg.HubSpotURL, Token: cfg.HubSpotToken}
	}
	store.UseIdentityHasher(cfg.IdentityHasher())
	store.UseQuarantineCap(cfg.QuarantineBytesPerHour)
	privacy := &activities.Privacy{Store: store, Temporal: c, Namespace: cfg.TemporalNamespace}
	var wh *activities.Warehouse
	if cfg.BigQuery {
		bq, err := warehouse.Open(ctx, cfg.BigQueryProject, cfg.BigQueryDataset, cfg.BigQueryEmulator)
		if err != nil {
			return err
		}
		defer bq.Close()
		bq.UseEventRetention(cfg.EventRetention)
		wh = &activities.Warehouse{Source: store, Target: bq, EventRetention: cfg.EventRetention, Metrics: telemetry.NewWorker(tel.Registry)}
		privacy.Warehouse = bq
	} else {
		log.Warn("BigQuery not configured (set BIGQUERY_PROJECT, or BIGQUERY_EMULATOR_HOST for the emulator): this worker runs no WarehouseLoad")
	}
	triggers, err := kith.LoadTriggers(schemas.Triggers, schemas.Messaging)
	if err != nil {
		return fmt.Errorf("schemas/triggers: %w", err)
	}
	workflows.UseTriggers(triggers)
	forms, err := kith.LoadForms(schemas.Forms, quality.DefaultWeights.Of)
	if err != nil {
		return fmt.Errorf("schemas/forms: %w", err)
	}
	var sender kith.ESP = esp.Unconfigured{}
	switch {
	case cfg.ESPWebhookURL != "":
		sender = &esp.Webhook{URL: cfg.ESPWebhookURL, Secret: cfg.ESPWebhookSecret}
	case cfg.ESPKey != "":
		sender = &esp.SendGrid{BaseURL: cfg.ESPURL, APIKey: cfg.ESPKey, From: cfg.ESPFrom, Templates: cfg.ESPTemplates}
	default:
		log.Warn("no ESP configured (set KITH_ESP_KEY, and KITH_ESP_URL for a SendGrid-compatible server such as starter esp-sim, or KITH_ESP_WEBHOOK_URL and _SECRET): triggered messages go to the dead letter")
	}
	// The raw lake: without a bucket nothing is spooled, archiving fails at
	// once (not retried) and an erasure notes there was no lake.
	lakeActs := &activities.Lake{Store: store, Hasher: cfg.IdentityHasher(), RetentionDays: cfg.LakeRetentionDays, Now: time.Now}
	var spool kith.LakeSpool
	if cfg.LakeBucket != "" {
		b, err := lake.Open(ctx, cfg.LakeBucket, cfg.LakeEmulator)
		if err != nil {
			return err
		}
		defer b.Close()
		lakeActs.Bucket, spool = b, store
	} else {
		log.Warn("no raw lake (set KITH_LAKE_BUCKET, and STORAGE_EMULATOR_HOST for fake-gcs-server): inbound payloads are not archived")
	}
	notifier := &workflows.ContactService{Client: c}
	dedupActs := &activities.Dedup{Store: store, Parts: cfg.DedupParts, PartSize: cfg.DedupPartSize}
	crmActs := &activities.CRM{Clients: crms, Store: store, Quality: quality.Options{DefaultRegion: cfg.DefaultRegion}, Now: time.Now, Lake: spool}
	matcher := &activities.Matcher{Store: store, Notifier: notifier}
	lakeActs.Replay = &activities.Replayer{Store: store, CRM: crmActs, Matcher: matcher}
	workflows.Register(w, workflows.Activities{
		Import:      &activities.Import{Store: store, Lake: spool != nil},
		Contacts:    &activities.Contacts{Store: store, PublicURL: cfg.PublicURL, Notifier: notifier},
		Relay:       &activities.Relay{Store: store, Notifier: notifier},
		Dedup:       dedupActs,
		Matcher:     matcher,
		Cleaning:    &activities.Cleaning{Store: store, Quality: quality.Options{DefaultRegion: cfg.DefaultRegion}, Now: time.Now},
		Archiver:    &activities.Archiver{Store: store, Notifier: notifier, Now: time.Now},
		Warehouse:   wh,
		CRM:         crmActs,
		Personalize: &activities.Personalize{Store: store},
		Deliveries: &activities.Deliveries{Store: store, Recommendations: store, ESP: sender, PurposeFields: triggers.Policy.PurposeFields, Form: forms["profile"],
			Links: kith.Signer{Key: cfg.LinkKey, Old: cfg.LinkKeysOld}, PublicURL: cfg.PublicURL, Now: time.Now},
		Privacy:   privacy,
		Retention: &activities.Retention{Store: store, Events: cfg.EventRetention, Now: time.Now},
		Lake:      lakeActs,
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// The parts of a partitioned de-duplication run: as many at once as this
	// worker has memory for, whatever else it runs.
	parts := worker.New(c, workflows.DedupTaskQueue, worker.Options{
		WorkerStopTimeout: 30 * time.Second, Interceptors: activities.Interceptors(),
		MaxConcurrentActivityExecutionSize: cfg.DedupPartSlots, DisableWorkflowWorker: true,
	})
	parts.RegisterActivity(dedupActs)
	if err := parts.Start(); err != nil {
		return fmt.Errorf("start de-duplication worker: %w", err)
	}
	defer parts.Stop()
	log.Info("worker started", "task_queue", workflows.TaskQueue, "namespace", cfg.TemporalNamespace)
	// The event relay runs as one workflow for the whole deployment: each worker
	// makes sure it is running (a running one is joined, not doubled).
	if _, err := c.ExecuteWorkflow(ctx, workflows.EventRelayStartOptions(), workflows.EventRelayName, workflows.EventRelayInput{}); err != nil {
		log.Warn("event relay not started; events reach contacts once it is", "error", err)
	}
	<-ctx.Done()
	log.Info("worker stopping")
	w.Stop()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
