package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/api/iterator"

	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/crm/crmsim"
	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/esp/espsim"
	"github.com/kithhq/kith/httpapi"
	"github.com/kithhq/kith/postgres"
	"github.com/kithhq/kith/telemetry"
	"github.com/kithhq/kith/warehouse"
	"github.com/kithhq/kith/workflows"
)

//go:embed testdata/contacts.csv
var sampleContacts []byte

func runDemo(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	exit := fs.Bool("exit", e.getenv("DEMO_EXIT") == "1", "exit when the import is done instead of waiting for Ctrl-C (also DEMO_EXIT=1)")
	dir := fs.String("dir", ".demo", "where the demo keeps its logs and sample file")
	listSize := fs.Int("contacts", envInt(e.getenv("DEMO_CONTACTS"), 20000), "rows of the generated list the demo imports, cleans and scores (also DEMO_CONTACTS)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	abs, _ := filepath.Abs(*dir)
	logf, err := os.Create(filepath.Join(abs, "stack.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }

	say("starting PostgreSQL, the Temporal dev server, the BigQuery emulator and fake-gcs-server (logs: %s)", logf.Name())
	stack, err := devstack.Start(ctx, devstack.Options{Postgres: true, Temporal: true, BigQuery: true, GCS: true, Log: logf, Getenv: e.getenv})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the stack")
		stack.Stop()
	}()

	store, applied, err := openMigrated(ctx, stack.Postgres.URL)
	if err != nil {
		return err
	}
	defer store.Close()
	say("PostgreSQL ready; migrations applied: %v", applied)

	wh, err := warehouse.Open(ctx, stack.BigQuery.Project, "kith", stack.BigQuery.Host)
	if err != nil {
		return err
	}
	defer wh.Close()
	if err := wh.EnsureSchema(ctx); err != nil {
		return err
	}
	var tables []string
	it := wh.Client().Dataset("kith").Tables(ctx)
	for {
		t, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return err
		}
		tables = append(tables, t.TableID)
	}
	say("BigQuery emulator ready; star schema tables: %v", tables)

	// The demo's own payload key: what the worker and this process write to
	// Temporal is encrypted, as in production.
	key, linkKey := make([]byte, 32), make([]byte, 32)
	rand.Read(key)
	rand.Read(linkKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	apiURL := "http://" + ln.Addr().String()
	// The CRM simulator stands in for HubSpot: the worker reads from it, it sends
	// signed webhooks to the API.
	sim := crmsim.New("demo-token", "demo-secret", 250, 42)
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simURL := "http://" + simLn.Addr().String()
	// The ESP simulator stands in for SendGrid: the worker sends triggered
	// messages to it, it sends signed event webhooks to the API.
	espSim := espsim.New("demo-esp-key")
	espLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	espURL := "http://" + espLn.Addr().String()
	demoEnv := append(stack.Env(), "KITH_PAYLOAD_KEYS="+base64.StdEncoding.EncodeToString(key), "KITH_PUBLIC_URL="+apiURL,
		"KITH_HUBSPOT_URL="+simURL, "KITH_HUBSPOT_TOKEN=demo-token", "KITH_HUBSPOT_SECRET=demo-secret",
		"KITH_LINK_KEY="+base64.StdEncoding.EncodeToString(linkKey),
		"KITH_WRITE_KEYS=web:"+demoWebKey+",backend:"+demoBackendKey, "KITH_TRUSTED_SOURCES=backend",
		"KITH_ADMIN_KEYS=ops:"+demoAdminKey, "KITH_CODEC_KEYS=ops:"+demoCodecToken,
		"KITH_ESP_URL="+espURL, "KITH_ESP_KEY=demo-esp-key", "KITH_ESP_FROM=hello@shop.example", "KITH_SENDGRID_WEBHOOK_KEY="+espSim.PublicKey(),
		// Parts of 5000 contacts, so the demo's list is de-duplicated the way
		// a list of millions is: in parts spread over the workers.
		"KITH_DEDUP_PART_SIZE=5000")
	cfg, err := config.FromEnv(envLookup(demoEnv), true)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: cfg.LogLevel}))

	workerBin, err := siblingBinary("worker")
	if err != nil {
		return err
	}
	// The worker serves its metrics on a port of its own.
	workerMetrics, err := freeAddr()
	if err != nil {
		return err
	}
	worker := exec.Command(workerBin)
	worker.Env = append(append(os.Environ(), demoEnv...), "KITH_METRICS_ADDR="+workerMetrics)
	worker.Stdout, worker.Stderr = logf, logf
	worker.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := worker.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer func() {
		worker.Process.Signal(syscall.SIGTERM)
		worker.Wait()
	}()
	say("worker started (pid %d)", worker.Process.Pid)

	sample := filepath.Join(abs, "contacts.csv")
	if err := os.WriteFile(sample, sampleContacts, 0o644); err != nil {
		return err
	}
	tel, err := telemetry.Start(ctx, "kith-api", "127.0.0.1:0", e.getenv, log)
	if err != nil {
		return err
	}
	defer tel.Close(context.Background())
	c, err := cfg.DialTemporal(ctx, log, tel.Temporal)
	if err != nil {
		return err
	}
	defer c.Close()
	api, err := newAPI(cfg, store, c, log)
	if err != nil {
		return err
	}
	observe(api, tel, store, log)
	api.WarehouseRows = wh
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- serveHTTP(serveCtx, ln, api.Handler(), log) }()
	defer func() { stopServing(); <-served }()
	say("HTTP API serving on %s", apiURL)
	simDone := make(chan error, 1)
	go func() { simDone <- serveHTTP(serveCtx, simLn, sim, log) }()
	defer func() { stopServing(); <-simDone }()
	say("CRM simulator (HubSpot API subset, not HubSpot) serving on %s with 250 contacts", simURL)
	espDone := make(chan error, 1)
	go func() { espDone <- serveHTTP(serveCtx, espLn, espSim, log) }()
	defer func() { stopServing(); <-espDone }()
	say("ESP simulator (SendGrid Mail Send subset, not SendGrid) serving on %s", espURL)
	codecSrv, err := newCodecServer(cfg, log)
	if err != nil {
		return err
	}
	codecLn, err := net.Listen("tcp", stack.Temporal.CodecAddr)
	if err != nil {
		return fmt.Errorf("the Web UI's codec endpoint %s: %w", stack.Temporal.CodecAddr, err)
	}
	codecDone := make(chan error, 1)
	go func() { codecDone <- serveHTTP(serveCtx, codecLn, codecSrv.Handler(), log) }()
	defer func() { stopServing(); <-codecDone }()
	say("codec server (starter codec-server) on http://%s: payloads are AES-GCM in Temporal; token holders read them in clear", stack.Temporal.CodecAddr)

	for i, title := range []string{"importing the sample contacts", "importing the same file again (idempotent: nothing new)"} {
		say("%s: %s", title, sample)
		sum, err := importFile(ctx, c, sample, e.stderr)
		if err != nil {
			return err
		}
		printSummary(e.stdout, sum)
		if i == 0 {
			if _, err := printQuarantine(ctx, store, e.stdout, 0); err != nil {
				return err
			}
			var method, country string
			if err := store.DB().QueryRowContext(ctx, `SELECT field_provenance->'phone'->>'method', coalesce(country, '')
				FROM contacts WHERE email IS NULL AND phone IS NOT NULL LIMIT 1`).Scan(&method, &country); err != nil {
				return fmt.Errorf("the row without an email: %w", err)
			}
			fmt.Fprintf(e.stdout, "  a row with a phone and no email became a contact (identity kind record): its national phone was read as %s; country %s inferred from the phone's prefix\n", method, country)
		}
	}

	grace, err := demoVisitor(ctx, apiURL, store, e.stdout)
	if err != nil {
		return err
	}
	if err := demoIdentity(ctx, cfg, apiURL, store, grace, e.stdout); err != nil {
		return err
	}
	if err := demoMatch(ctx, apiURL, store, grace, e.stdout); err != nil {
		return fmt.Errorf("match on write: %w", err)
	}
	if err := demoTracking(ctx, cfg, c, apiURL, store, grace, e.stdout); err != nil {
		return err
	}
	if err := demoTriggers(ctx, c, espSim, apiURL, store, grace, e.stdout); err != nil {
		return err
	}
	if err := demoCRM(ctx, c, sim, apiURL, store, e); err != nil {
		return err
	}
	if err := demoGraceElsewhere(ctx, c, sim, apiURL, grace, abs, e); err != nil {
		return err
	}
	if err := demoShoppers(ctx, apiURL, e.stdout); err != nil {
		return err
	}
	if err := demoList(ctx, c, apiURL, sim, espSim, store, abs, *listSize, e); err != nil {
		return err
	}
	if err := demoWarehouse(ctx, c, wh, e); err != nil {
		return err
	}
	if err := demoUnsubscribe(ctx, cfg, apiURL, store, grace, e.stdout); err != nil {
		return err
	}
	if err := demoLake(ctx, c, cfg, demoEnv, e); err != nil {
		return err
	}
	if err := demoPrivacy(ctx, apiURL, grace, e); err != nil {
		return err
	}
	if err := demoLakeAfterErasure(ctx, c, cfg, "grace.hopper@example.org", e); err != nil {
		return err
	}

	if err := demoReport(ctx, store, wh, apiURL, abs, e.stdout); err != nil {
		return err
	}
	say("Prometheus metrics: the API's %s, the worker's http://%s/metrics (docs/operations.md has the alert rules)", tel.MetricsURL, workerMetrics)
	say("Temporal Web UI: %s/namespaces/%s/workflows", stack.Temporal.UIURL, stack.Temporal.Namespace)
	say("  contacts: %s/namespaces/%s/workflows?query=%s", stack.Temporal.UIURL, stack.Temporal.Namespace,
		url.QueryEscape("WorkflowType='ContactLifecycle'"))
	say("the progressive-profiling form, in a browser: %s/forms/profile", apiURL)
	say("list the workflows: bin/temporal workflow list --address %s", stack.Temporal.Address)
	say("read a workflow's payloads in clear through the codec server: bin/temporal workflow show --address %s -w %s --codec-endpoint http://%s --codec-auth 'Bearer %s'",
		stack.Temporal.Address, workflows.CRMBackfillWorkflowID("hubspot"), stack.Temporal.CodecAddr, demoCodecToken)
	say("  (the Web UI decodes through it when it passes a token: see README, Privacy)")
	say("PostgreSQL: psql '%s'", stack.Postgres.URL)
	if *exit {
		return nil
	}
	say("the stack keeps running; press Ctrl-C to stop it")
	<-ctx.Done()
	return nil
}

func printQuarantine(ctx context.Context, store *postgres.Store, w io.Writer, after int64) (int64, error) {
	qs, last, err := store.QuarantinedSince(ctx, after, 1000)
	if err != nil {
		return after, err
	}
	fmt.Fprintf(w, "quarantined (kept whole in the quarantine table):\n")
	for _, q := range qs {
		reasons := make([]string, len(q.Violations))
		for i, v := range q.Violations {
			reasons[i] = v.Message
			if v.Field != "" {
				reasons[i] = v.Field + ": " + v.Message
			}
		}
		fmt.Fprintf(w, "  %-28s %s\n", q.Ref, strings.Join(reasons, "; "))
	}
	return last, nil
}

// demoReport writes the data-quality report as a static page and says where
// the live one is.
func demoReport(ctx context.Context, store *postgres.Store, wh *warehouse.Warehouse, apiURL, dir string, w io.Writer) error {
	rep, err := httpapi.LoadQualityReport(ctx, store, wh, time.Now())
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "quality-report.html")
	var b bytes.Buffer
	if err := httpapi.WriteQualityReport(&b, rep); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "==> data-quality report: %s/reports/quality (admin key as the password: user ops, password %s)\n", apiURL, demoAdminKey)
	fmt.Fprintf(w, "  static export (starter report -html): %s\n", path)
	printReport(w, rep)
	return nil
}

// envInt reads a number from the environment, def when unset or not one.
func envInt(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n
	}
	return def
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// envLookup reads KEY=value pairs, then the process environment.
func envLookup(pairs []string) func(string) string {
	return func(k string) string {
		for i := len(pairs) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(pairs[i], k+"="); ok {
				return v
			}
		}
		return os.Getenv(k)
	}
}

// siblingBinary finds another Kith binary next to this one (make builds both into bin/).
func siblingBinary(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found next to %s: build it with `make build`", name, self)
	}
	return p, nil
}

// importFile imports a CSV file through the ImportContacts workflow (batches
// of 10) and waits for it, showing progress on w.
func importFile(ctx context.Context, c client.Client, path string, w io.Writer) (workflows.ImportSummary, error) {
	in, err := prepareImport(path, 10)
	if err != nil {
		return workflows.ImportSummary{}, err
	}
	run, err := startImport(ctx, c, in)
	if err != nil {
		return workflows.ImportSummary{}, err
	}
	return waitImport(ctx, c, run, in.Size, w)
}
