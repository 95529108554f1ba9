package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/kithhq/kith/codec"
)

func key() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func TestSealsAndOpensWithRotatedKeys(t *testing.T) {
	oldKey, newKey := key(), key()
	old, _ := codec.New(oldKey)
	rotated, err := codec.New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := "ada.lovelace@example.com"
	p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"email": secret})

	sealed, err := old.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed[0].Data, []byte(secret)) || string(sealed[0].Metadata["encoding"]) != codec.Encoding {
		t.Fatalf("payload not sealed: %q", sealed[0].Data)
	}
	opened, err := rotated.Decode(sealed) // a process with the new and the old key reads old payloads
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := converter.GetDefaultDataConverter().FromPayload(opened[0], &got); err != nil || got["email"] != secret {
		t.Errorf("round trip gave %v (%v)", got, err)
	}

	// Tampering, or a key the process lacks, is an error, never garbage.
	tampered := []*commonpb.Payload{{Metadata: sealed[0].Metadata, Data: append(bytes.Clone(sealed[0].Data[:len(sealed[0].Data)-1]), sealed[0].Data[len(sealed[0].Data)-1]^1)}}
	if _, err := rotated.Decode(tampered); err == nil {
		t.Error("tampered payload decoded")
	}
	stranger, _ := codec.New(key())
	if _, err := stranger.Decode(sealed); err == nil {
		t.Error("payload decoded without its key")
	}
	// Payloads written before encryption was turned on still read.
	if plain, err := rotated.Decode([]*commonpb.Payload{p}); err != nil || plain[0] != p {
		t.Errorf("plain payload: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(key())
	if keys, err := codec.ParseKeys(k + "," + base64.StdEncoding.EncodeToString(key())); err != nil || len(keys) != 2 {
		t.Errorf("two keys: %d, %v", len(keys), err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := codec.ParseKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
