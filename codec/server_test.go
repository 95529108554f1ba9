package codec_test

import (
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/kithhq/kith/codec"
)

const codecToken = "ops-codec-token-0123456789"

func codecServer(t *testing.T, aes *codec.AES) *httptest.Server {
	t.Helper()
	srv := &codec.Server{
		Codec:   aes,
		Tokens:  []codec.Token{{Name: "ops", SHA256: sha256.Sum256([]byte(codecToken))}},
		Origins: []string{"http://ui.example"},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// remote is the SDK's own client of a codec server (what the CLI uses).
func remote(url, token string) converter.PayloadCodec {
	return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: url,
		ModifyRequest: func(r *http.Request) error {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		},
	})
}

func TestCodecServerDecodesForTokenHoldersOnly(t *testing.T) {
	aes, _ := codec.New(key())
	ts := codecServer(t, aes)
	const secret = "ada.lovelace@example.com"
	p, _ := converter.GetDefaultDataConverter().ToPayload(secret)
	sealed, err := aes.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}

	opened, err := remote(ts.URL, codecToken).Decode(sealed)
	if err != nil {
		t.Fatalf("a token holder's decode failed: %v", err)
	}
	var got string
	if err := converter.GetDefaultDataConverter().FromPayload(opened[0], &got); err != nil || got != secret {
		t.Fatalf("decoded %q (%v), want %q", got, err, secret)
	}
	// The server's encode is the inverse of its decode.
	resealed, err := remote(ts.URL, codecToken).Encode(opened)
	if err != nil || string(resealed[0].Metadata["encoding"]) != codec.Encoding {
		t.Fatalf("encode gave %v, %v", resealed, err)
	}

	for _, token := range []string{"", "wrong-token-0123456789"} {
		_, err := remote(ts.URL, token).Decode(sealed)
		if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("token %q: decode answered %v, want a 401", token, err)
		}
	}
}

func TestCodecServerAnswersTheWebUIsPreflight(t *testing.T) {
	aes, _ := codec.New(key())
	ts := codecServer(t, aes)
	for origin, allowed := range map[string]bool{"http://ui.example": true, "http://evil.example": false} {
		req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin") == origin &&
			strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") &&
			strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")
		if got != allowed {
			t.Errorf("origin %s: allowed=%v, want %v (headers %v)", origin, got, allowed, resp.Header)
		}
	}
}
