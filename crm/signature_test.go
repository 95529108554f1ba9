package crm_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/kithhq/kith/crm"
)

// HubSpot's documented example request (developers.hubspot.com, "Validating
// requests"): its v1 hash proves the body below is byte for byte the documented
// one; the v3 value was computed step by step from the documented algorithm with
// openssl, independently of this package:
//
//	printf '%s' "POSThttps://www.example.com/webhook_uri${body}1564113600000" |
//	  openssl dgst -sha256 -hmac "$secret" -binary | base64
const (
	docSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	docBody   = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	docV1     = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
	docV3     = "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="
	docURI    = "https://www.example.com/webhook_uri"
	docTS     = "1564113600000"
)

func TestHubSpotV3AgainstTheDocumentedExample(t *testing.T) {
	sum := sha256.Sum256([]byte(docSecret + docBody))
	if hex.EncodeToString(sum[:]) != docV1 {
		t.Fatal("the example body is not HubSpot's documented one")
	}
	if got := crm.SignHubSpotV3(docSecret, "POST", docURI, []byte(docBody), docTS); got != docV3 {
		t.Errorf("v3 signature %s, want %s", got, docV3)
	}
	at := time.UnixMilli(1564113600000).Add(2 * time.Minute)
	if err := crm.VerifyHubSpotV3(docSecret, "POST", docURI, []byte(docBody), docV3, docTS, at); err != nil {
		t.Errorf("documented request refused: %v", err)
	}
	for name, tc := range map[string]struct {
		sig, ts, body string
		at            time.Time
	}{
		"stale timestamp":  {docV3, docTS, docBody, at.Add(5 * time.Minute)},
		"changed body":     {docV3, docTS, docBody + " ", at},
		"wrong signature":  {"x" + docV3[1:], docTS, docBody, at},
		"missing header":   {"", docTS, docBody, at},
		"bad timestamp":    {docV3, "yesterday", docBody, at},
		"future timestamp": {docV3, docTS, docBody, at.Add(-20 * time.Minute)},
	} {
		if err := crm.VerifyHubSpotV3(docSecret, "POST", docURI, []byte(tc.body), tc.sig, tc.ts, tc.at); !errors.Is(err, crm.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGenericHMAC(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	h := crm.SignHMAC("s3cret", []byte(`{"a":1}`), now)
	if err := crm.VerifyHMAC("s3cret", []byte(`{"a":1}`), h, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other secret": crm.VerifyHMAC("other", []byte(`{"a":1}`), h, now),
		"other body":   crm.VerifyHMAC("s3cret", []byte(`{"a":2}`), h, now),
		"stale":        crm.VerifyHMAC("s3cret", []byte(`{"a":1}`), h, now.Add(6*time.Minute)),
		"garbage":      crm.VerifyHMAC("s3cret", []byte(`{"a":1}`), "v1=abc", now),
	} {
		if !errors.Is(err, crm.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
