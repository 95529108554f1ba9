// Package codec encrypts Temporal payloads, so the personal data that workflows
// carry (form answers, consent records, contact state) is stored in Temporal's
// history only as AES-256-GCM ciphertext. Workflow IDs, search attributes and
// memo-less metadata are not payloads and are never encrypted: they must hold no
// personal data, which is why contact ids are opaque UUIDs.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Encoding marks an encrypted payload in its metadata.
const Encoding = "binary/encrypted"

const (
	metaEncoding = "encoding"
	metaKeyID    = "encryption-key-id"
)

// AES is a converter.PayloadCodec that seals each payload (metadata and data)
// with AES-256-GCM. It decrypts with any of its keys, found by key id, so keys
// can be rotated: the first key encrypts.
type AES struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// New returns a codec for the given 32-byte keys; the first one encrypts.
func New(keys ...[]byte) (*AES, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no key")
	}
	c := &AES{aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("codec: a key must be 32 bytes, not %d", len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		id := hex.EncodeToString(sum[:4]) // names the key, never reveals it
		c.ids = append(c.ids, id)
		c.aeads[id] = aead
	}
	return c, nil
}

// ParseKeys reads comma-separated base64 keys (KITH_PAYLOAD_KEYS).
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range splitComma(s) {
		k, err := base64.StdEncoding.DecodeString(part)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("key %d is not 32 bytes of base64 (make one with: openssl rand -base64 32)", i+1)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if part := s[start:i]; part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	return out
}

// Encode implements converter.PayloadCodec.
func (c *AES) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.ids[0]
	aead := c.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metaEncoding: []byte(Encoding), metaKeyID: []byte(id)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. Payloads that are not encrypted
// (written before encryption was turned on) pass through.
func (c *AES) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metaEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[metaKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with key %s, which this process does not have", id)
		}
		n := aead.NonceSize()
		if len(p.Data) < n {
			return nil, errors.New("codec: encrypted payload is truncated")
		}
		plain, err := aead.Open(nil, p.Data[:n], p.Data[n:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not decrypt with key %s: %w", id, err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, err
		}
		out[i] = &dec
	}
	return out, nil
}

// DataConverter is Temporal's default converter with payloads sealed by c.
func (c *AES) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}
