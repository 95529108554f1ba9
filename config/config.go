// Package config is Kith's typed configuration, read once at the edge (flags and
// environment) by the worker and starter mains and validated before anything
// starts. Nothing deeper reads the environment.
package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/codec"
	"github.com/kithhq/kith/esp"
)

// Config is everything a Kith process needs to reach its dependencies.
type Config struct {
	DatabaseURL string // DATABASE_URL

	TemporalAddress   string // TEMPORAL_ADDRESS, host:port
	TemporalNamespace string // TEMPORAL_NAMESPACE
	TemporalTLSCert   string // TEMPORAL_TLS_CERT, client certificate file (mTLS)
	TemporalTLSKey    string // TEMPORAL_TLS_KEY
	TemporalAPIKey    string // TEMPORAL_API_KEY (Temporal Cloud); never logged

	BigQueryProject  string // BIGQUERY_PROJECT
	BigQueryDataset  string // BIGQUERY_DATASET
	BigQueryEmulator string // BIGQUERY_EMULATOR_HOST, host:port; empty for real BigQuery
	// BigQuery is true when BIGQUERY_PROJECT or BIGQUERY_EMULATOR_HOST is set: the
	// worker then runs the warehouse load.
	BigQuery bool

	// The raw lake: every inbound payload archived to this GCS bucket
	// (KITH_LAKE_BUCKET; empty: no lake), on fake-gcs-server when
	// STORAGE_EMULATOR_HOST (host:port) is set; objects of days older than
	// KITH_LAKE_RETENTION_DAYS are deleted (0, the default: kept).
	LakeBucket        string
	LakeEmulator      string
	LakeRetentionDays int

	HTTPAddr string // KITH_HTTP_ADDR, where starter serve listens
	// MetricsAddr is where starter serve and the worker serve Prometheus's
	// /metrics (KITH_METRICS_ADDR; empty: not served). Apart from the API's port,
	// so the public API never shows it.
	MetricsAddr   string
	PublicURL     string   // KITH_PUBLIC_URL, how people reach the API (confirmation links)
	CORSOrigins   []string // KITH_CORS_ORIGINS, comma-separated origins allowed to call the API
	DefaultRegion string   // KITH_DEFAULT_REGION, ISO country for national phones and dates

	// HubSpot (or a server speaking its API, such as starter crm-sim).
	HubSpotURL    string // KITH_HUBSPOT_URL
	HubSpotToken  string // KITH_HUBSPOT_TOKEN, private app access token; never logged
	HubSpotSecret string // KITH_HUBSPOT_SECRET, app secret that signs webhooks; never logged

	// The ESP triggered messages go through: SendGrid's v3 API (or a server
	// speaking it, such as starter esp-sim). Without a key the worker records
	// trigger decisions and puts every send in the dead letter.
	ESPURL       string            // KITH_ESP_URL
	ESPKey       string            // KITH_ESP_KEY, a Mail Send API key; never logged
	ESPFrom      string            // KITH_ESP_FROM, the verified sender address
	ESPTemplates map[string]string // KITH_ESP_TEMPLATES, comma-separated name=d-… template ids
	// A campaign tool instead of SendGrid: each message a signed JSON POST.
	ESPWebhookURL    string // KITH_ESP_WEBHOOK_URL
	ESPWebhookSecret string // KITH_ESP_WEBHOOK_SECRET, signs them; never logged
	// SendGridWebhookKey verifies SendGrid's Signed Event Webhook
	// (KITH_SENDGRID_WEBHOOK_KEY: the verification key SendGrid shows, base64
	// DER); without it the API takes no ESP events.
	SendGridWebhookKey *ecdsa.PublicKey

	// PayloadKeys encrypt Temporal payloads (KITH_PAYLOAD_KEYS: comma-separated
	// base64 32-byte keys, the first encrypts); never logged. Every worker and
	// starter of a deployment needs the same keys.
	PayloadKeys [][]byte

	// LinkKey signs the links Kith sends (unsubscribe, profile) and hashes
	// browser cookies (KITH_LINK_KEY: base64 of 32 bytes or more); never logged.
	// Without it a process makes a random key: links then die with the process.
	LinkKey       []byte
	LinkKeysOld   [][]byte // still verify while keys rotate
	LinkKeyRandom bool

	// WriteKeys are the events API's sources (KITH_WRITE_KEYS: comma-separated
	// source:key, or source:sha256:<hex of the key's SHA-256> to keep no key in
	// the configuration); only the hashes are kept. TrustedSources
	// (KITH_TRUSTED_SOURCES) are server-side sources whose identify calls may
	// name a known contact's email without a claim.
	WriteKeys      []WriteKey
	TrustedSources []string

	// AdminKeys open the admin endpoints (privacy requests): KITH_ADMIN_KEYS,
	// comma-separated name:key or name:sha256:<hex>, like the write keys; the
	// name is what the audit log records. Only the hashes are kept.
	AdminKeys []WriteKey

	// CodecKeys are the bearer tokens of the codec server (starter
	// codec-server, at KITH_CODEC_ADDR), which decrypts payloads for the
	// Temporal Web UI (KITH_CODEC_ORIGINS, CORS) and CLI: KITH_CODEC_KEYS,
	// name:token like the admin keys. Each key list may come from a file
	// instead: KITH_WRITE_KEYS_FILE, KITH_ADMIN_KEYS_FILE, KITH_CODEC_KEYS_FILE.
	CodecKeys    []WriteKey
	CodecAddr    string
	CodecOrigins []string

	// QuarantineBytesPerHour caps what one anonymous client (an IP) can put in
	// quarantine per hour (KITH_QUARANTINE_BYTES_PER_HOUR, default 1 MiB);
	// refusals over it are answered but only counted.
	QuarantineBytesPerHour int64
	// EventRetention is how long behavioural events are kept, in PostgreSQL
	// (the Retention workflow) and BigQuery (partition expiry):
	// KITH_EVENT_RETENTION_DAYS, default 395 (13 months); 0 keeps them.
	EventRetention time.Duration
	// DedupParts splits a de-duplication run into that many parts of the key
	// space, spread over the workers (KITH_DEDUP_PARTS; default 0: one part per
	// KITH_DEDUP_PART_SIZE active contacts, default 100000, so a list that
	// size or smaller runs in one process). DedupPartSlots is how many parts
	// one worker runs at once (KITH_DEDUP_PART_SLOTS, default 1: memory is
	// what bounds it).
	DedupParts, DedupPartSize, DedupPartSlots int

	LogLevel slog.Level // LOG_LEVEL: debug, info, warn, error
}

// WriteKey is one source of the events API and the SHA-256 of its key.
type WriteKey struct {
	Source string
	SHA256 [32]byte
}

// parseWriteKeys reads source:key and source:sha256:<hex> pairs.
func parseWriteKeys(v string) ([]WriteKey, error) {
	var out []WriteKey
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		source, key, ok := strings.Cut(pair, ":")
		if !ok || source == "" || key == "" {
			return nil, fmt.Errorf("%q is not source:key", redact(pair))
		}
		if seen[source] {
			return nil, fmt.Errorf("source %q is given twice", source)
		}
		seen[source] = true
		wk := WriteKey{Source: source}
		if h, ok := strings.CutPrefix(key, "sha256:"); ok {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("source %q: sha256: takes 64 hex digits", source)
			}
			copy(wk.SHA256[:], b)
		} else {
			if len(key) < 16 {
				return nil, fmt.Errorf("source %q: a write key needs at least 16 characters", source)
			}
			wk.SHA256 = sha256.Sum256([]byte(key))
		}
		out = append(out, wk)
	}
	return out, nil
}

// keysFrom reads the keys named by env var name, or by the file name_FILE
// names (one name:key per line or comma-separated; # starts a comment), so a
// secret store can mount them instead of putting them in the environment.
func keysFrom(get func(k, def string) string, name string) ([]WriteKey, error) {
	v, file := get(name, ""), get(name+"_FILE", "")
	if v != "" && file != "" {
		return nil, fmt.Errorf("%s and %s_FILE: set one, not both", name, name)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s_FILE: %v", name, err)
		}
		var lines []string
		for _, line := range strings.Split(string(b), "\n") {
			if i := strings.Index(line, "#"); i >= 0 {
				line = line[:i]
			}
			lines = append(lines, line)
		}
		v, name = strings.Join(lines, ","), name+"_FILE"
	}
	keys, err := parseWriteKeys(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return keys, nil
}

// redact shows a source:key pair without its key.
func redact(pair string) string {
	if source, _, ok := strings.Cut(pair, ":"); ok {
		return source + ":…"
	}
	return "…"
}

// FromEnv reads the configuration from getenv and validates it. needDB says
// whether this process needs PostgreSQL.
func FromEnv(getenv func(string) string, needDB bool) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:       get("DATABASE_URL", ""),
		TemporalAddress:   get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: get("TEMPORAL_NAMESPACE", "default"),
		TemporalTLSCert:   get("TEMPORAL_TLS_CERT", ""),
		TemporalTLSKey:    get("TEMPORAL_TLS_KEY", ""),
		TemporalAPIKey:    get("TEMPORAL_API_KEY", ""),
		BigQueryProject:   get("BIGQUERY_PROJECT", "kith-local"),
		BigQueryDataset:   get("BIGQUERY_DATASET", "kith"),
		BigQueryEmulator:  get("BIGQUERY_EMULATOR_HOST", ""),
		LakeBucket:        get("KITH_LAKE_BUCKET", ""),
		LakeEmulator:      get("STORAGE_EMULATOR_HOST", ""),
		HTTPAddr:          get("KITH_HTTP_ADDR", "127.0.0.1:8080"),
		MetricsAddr:       get("KITH_METRICS_ADDR", ""),
		DefaultRegion:     strings.ToUpper(get("KITH_DEFAULT_REGION", "")),
		HubSpotURL:        get("KITH_HUBSPOT_URL", "https://api.hubapi.com"),
		HubSpotToken:      get("KITH_HUBSPOT_TOKEN", ""),
		HubSpotSecret:     get("KITH_HUBSPOT_SECRET", ""),
		ESPURL:            get("KITH_ESP_URL", "https://api.sendgrid.com"),
		ESPKey:            get("KITH_ESP_KEY", ""),
		ESPFrom:           get("KITH_ESP_FROM", "hello@example.com"),
		ESPTemplates:      map[string]string{},
		ESPWebhookURL:     get("KITH_ESP_WEBHOOK_URL", ""),
		ESPWebhookSecret:  get("KITH_ESP_WEBHOOK_SECRET", ""),
	}
	c.BigQuery = getenv("BIGQUERY_PROJECT") != "" || c.BigQueryEmulator != ""
	c.PublicURL = strings.TrimSuffix(get("KITH_PUBLIC_URL", "http://"+c.HTTPAddr), "/")
	for _, o := range strings.Split(get("KITH_CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	var errs []error
	if needDB && c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is not set: point it at PostgreSQL, e.g. postgres://user@host:5432/kith?sslmode=disable"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL must be a postgres:// URL"))
	}
	if !strings.Contains(c.TemporalAddress, ":") {
		errs = append(errs, fmt.Errorf("TEMPORAL_ADDRESS %q must be host:port", c.TemporalAddress))
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither"))
	}
	if keys := get("KITH_PAYLOAD_KEYS", ""); keys != "" {
		var err error
		if c.PayloadKeys, err = codec.ParseKeys(keys); err != nil {
			errs = append(errs, fmt.Errorf("KITH_PAYLOAD_KEYS: %w", err))
		}
	}
	if ks := get("KITH_LINK_KEY", ""); ks != "" {
		for i, k := range strings.Split(ks, ",") {
			key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
			if err != nil || len(key) < 32 {
				errs = append(errs, errors.New("KITH_LINK_KEY must be base64 of at least 32 random bytes (comma-separated while rotating: the first signs), e.g. the output of: openssl rand -base64 32"))
				break
			}
			if i == 0 {
				c.LinkKey = key
			} else {
				c.LinkKeysOld = append(c.LinkKeysOld, key)
			}
		}
	} else {
		c.LinkKey, c.LinkKeyRandom = make([]byte, 32), true
		rand.Read(c.LinkKey)
	}
	for _, k := range []struct {
		name string
		keys *[]WriteKey
	}{{"KITH_WRITE_KEYS", &c.WriteKeys}, {"KITH_ADMIN_KEYS", &c.AdminKeys}, {"KITH_CODEC_KEYS", &c.CodecKeys}} {
		var err error
		if *k.keys, err = keysFrom(get, k.name); err != nil {
			errs = append(errs, err)
		}
	}
	c.CodecAddr = get("KITH_CODEC_ADDR", "127.0.0.1:8081")
	for _, o := range strings.Split(get("KITH_CODEC_ORIGINS", "http://localhost:8233,http://127.0.0.1:8233"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CodecOrigins = append(c.CodecOrigins, o)
		}
	}
	if k := get("KITH_SENDGRID_WEBHOOK_KEY", ""); k != "" {
		var err error
		if c.SendGridWebhookKey, err = esp.ParsePublicKey(k); err != nil {
			errs = append(errs, fmt.Errorf("KITH_SENDGRID_WEBHOOK_KEY: %w (copy the Verification Key from SendGrid's Event Webhook settings)", err))
		}
	}
	if (c.ESPWebhookURL == "") != (c.ESPWebhookSecret == "") {
		errs = append(errs, errors.New("KITH_ESP_WEBHOOK_URL and KITH_ESP_WEBHOOK_SECRET go together: set both or neither"))
	}
	for _, kv := range strings.Split(get("KITH_ESP_TEMPLATES", ""), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, id, ok := strings.Cut(kv, "=")
		if !ok || name == "" || id == "" {
			errs = append(errs, fmt.Errorf("KITH_ESP_TEMPLATES: %q is not name=template-id", kv))
			continue
		}
		c.ESPTemplates[name] = id
	}
	for _, t := range strings.Split(get("KITH_TRUSTED_SOURCES", ""), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.TrustedSources = append(c.TrustedSources, t)
		}
	}
	if c.DefaultRegion != "" && len(c.DefaultRegion) != 2 {
		errs = append(errs, fmt.Errorf("KITH_DEFAULT_REGION %q must be a two-letter country code like US", c.DefaultRegion))
	}
	{
		v := get("KITH_QUARANTINE_BYTES_PER_HOUR", "1048576")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 64<<10 {
			errs = append(errs, fmt.Errorf("KITH_QUARANTINE_BYTES_PER_HOUR %q must be a number of bytes, at least 65536 (one full request)", v))
		}
		c.QuarantineBytesPerHour = n
	}
	{
		v := get("KITH_EVENT_RETENTION_DAYS", "395")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("KITH_EVENT_RETENTION_DAYS %q must be a whole number of days (0 keeps events forever)", v))
		}
		c.EventRetention = time.Duration(n) * 24 * time.Hour
	}
	for _, v := range []struct {
		name, def string
		min       int
		into      *int
		say       string
	}{
		{"KITH_DEDUP_PARTS", "0", 0, &c.DedupParts, "a number of parts (0 decides by the list's size)"},
		{"KITH_LAKE_RETENTION_DAYS", "0", 0, &c.LakeRetentionDays, "a whole number of days (0 keeps the lake forever)"},
		{"KITH_DEDUP_PART_SIZE", "100000", 1000, &c.DedupPartSize, "a number of contacts, at least 1000"},
		{"KITH_DEDUP_PART_SLOTS", "1", 1, &c.DedupPartSlots, "how many parts a worker runs at once, at least 1"},
	} {
		n, err := strconv.Atoi(get(v.name, v.def))
		if err != nil || n < v.min {
			errs = append(errs, fmt.Errorf("%s %q must be %s", v.name, get(v.name, v.def), v.say))
		}
		*v.into = n
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %v (use debug, info, warn or error)", err))
	}
	return c, errors.Join(errs...)
}

// Logger returns the JSON logger every Kith process writes to stderr.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// DialTemporal connects to the configured Temporal server.
func (c Config) DialTemporal(ctx context.Context, log *slog.Logger, with ...func(*client.Options)) (client.Client, error) {
	o, err := c.TemporalOptions(log)
	if err != nil {
		return nil, err
	}
	for _, f := range with {
		f(&o)
	}
	cl, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", c.TemporalAddress, err)
	}
	return cl, nil
}

// TemporalOptions returns the client options for the configured Temporal server.
func (c Config) TemporalOptions(log *slog.Logger) (client.Options, error) {
	o := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(log),
	}
	if len(c.PayloadKeys) > 0 {
		aes, err := codec.New(c.PayloadKeys...)
		if err != nil {
			return o, err
		}
		o.DataConverter = aes.DataConverter()
		// Failure messages and stack traces are encrypted too: an error can
		// quote a value (an email in a refused row).
		o.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: o.DataConverter, EncodeCommonAttributes: true})
	} else {
		log.Warn("Temporal payloads are not encrypted: set KITH_PAYLOAD_KEYS before real personal data flows")
	}
	if c.TemporalTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey)
		if err != nil {
			return o, fmt.Errorf("TEMPORAL_TLS_CERT/KEY: %w", err)
		}
		o.ConnectionOptions.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if c.TemporalAPIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(c.TemporalAPIKey)
		if o.ConnectionOptions.TLS == nil {
			o.ConnectionOptions.TLS = &tls.Config{}
		}
	}
	return o, nil
}

// IdentityHasher hashes erased people's identifiers with the link key (and
// the old ones while it rotates). Without KITH_LINK_KEY it has no key: a
// random one would differ between processes, so erasure refuses to run and
// nothing is checked.
func (c Config) IdentityHasher() kith.IdentityHasher {
	if c.LinkKeyRandom {
		return kith.IdentityHasher{}
	}
	return kith.IdentityHasher{Keys: append([][]byte{c.LinkKey}, c.LinkKeysOld...)}
}
