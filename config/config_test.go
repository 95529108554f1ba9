package config_test

import (
	"strings"
	"testing"

	"github.com/kithhq/kith/config"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestFromEnvDefaults(t *testing.T) {
	c, err := config.FromEnv(env(map[string]string{"DATABASE_URL": "postgres://u@h/db"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "127.0.0.1:7233" || c.TemporalNamespace != "default" || c.BigQueryDataset != "kith" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFromEnvSaysWhatIsWrong(t *testing.T) {
	_, err := config.FromEnv(env(map[string]string{
		"TEMPORAL_ADDRESS": "nohostport", "TEMPORAL_TLS_CERT": "c.pem", "LOG_LEVEL": "loud",
	}), true)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"DATABASE_URL is not set", "TEMPORAL_ADDRESS", "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := config.FromEnv(env(nil), false); err != nil {
		t.Errorf("starter without a database: %v", err)
	}
}
