package config_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
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

func TestKeysComeFromTheEnvironmentOrAFileAndOnlyTheirHashesAreKept(t *testing.T) {
	file := filepath.Join(t.TempDir(), "admin-keys")
	os.WriteFile(file, []byte("# ops keys\nalice:alice-key-0123456789abcdef\nbob:sha256:"+strings.Repeat("ab", 32)+"  # rotated\n"), 0o600)
	c, err := config.FromEnv(env(map[string]string{
		"KITH_ADMIN_KEYS_FILE": file,
		"KITH_CODEC_KEYS":      "ops:codec-token-0123456789",
	}), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AdminKeys) != 2 || c.AdminKeys[0].Source != "alice" || c.AdminKeys[0].SHA256 != sha256.Sum256([]byte("alice-key-0123456789abcdef")) || c.AdminKeys[1].Source != "bob" {
		t.Errorf("admin keys from the file = %+v", c.AdminKeys)
	}
	if len(c.CodecKeys) != 1 || c.CodecKeys[0].Source != "ops" {
		t.Errorf("codec keys = %+v", c.CodecKeys)
	}
	if strings.Contains(fmt.Sprintf("%+v", c), "alice-key") {
		t.Error("the configuration keeps a key in the clear")
	}

	_, err = config.FromEnv(env(map[string]string{"KITH_WRITE_KEYS": "web:short", "KITH_ADMIN_KEYS": "a:aaaaaaaaaaaaaaaaaaaa", "KITH_ADMIN_KEYS_FILE": file}), false)
	for _, want := range []string{"KITH_WRITE_KEYS", "web", "at least 16", "KITH_ADMIN_KEYS and KITH_ADMIN_KEYS_FILE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "short") {
		t.Errorf("the error repeats the key: %v", err)
	}
}
