// Package crm talks to CRMs: it verifies their webhook signatures and reads
// objects through their REST APIs. HubSpot is the first provider (webhooks v3
// signatures, CRM v3 objects); others plug in behind kith.CRM and the generic
// HMAC signature.
package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxSignatureAge is how old a signed request may be before it is refused as a
// possible replay.
const MaxSignatureAge = 5 * time.Minute

// ErrBadSignature is every signature failure; the reason is in the message.
var ErrBadSignature = errors.New("bad signature")

func badSignature(reason string) error { return errors.Join(ErrBadSignature, errors.New(reason)) }

// SignHubSpotV3 computes HubSpot's v3 signature: base64(HMAC-SHA256(secret,
// method + uri + body + timestamp)), timestamp in Unix milliseconds.
func SignHubSpotV3(secret, method, uri string, body []byte, timestampMS string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + uri))
	m.Write(body)
	m.Write([]byte(timestampMS))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyHubSpotV3 checks the X-HubSpot-Signature-v3 header (signature) and
// X-HubSpot-Request-Timestamp (timestampMS) of a request to uri (the full URL
// HubSpot called, scheme and host included).
func VerifyHubSpotV3(secret, method, uri string, body []byte, signature, timestampMS string, now time.Time) error {
	if signature == "" || timestampMS == "" {
		return badSignature("the X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers are required")
	}
	ms, err := strconv.ParseInt(timestampMS, 10, 64)
	if err != nil {
		return badSignature("the timestamp is not Unix milliseconds")
	}
	if age := now.Sub(time.UnixMilli(ms)); age > MaxSignatureAge || age < -MaxSignatureAge {
		return badSignature("the timestamp is more than 5 minutes from now")
	}
	want := SignHubSpotV3(secret, method, uri, body, timestampMS)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return badSignature("the signature does not match")
	}
	return nil
}

// SignHMAC computes Kith's generic webhook signature for other CRMs, sent as
// X-Kith-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>.
func SignHMAC(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyHMAC checks an X-Kith-Signature header.
func VerifyHMAC(secret string, body []byte, header string, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	if ts == "" || sig == "" {
		return badSignature("the X-Kith-Signature header needs t= and v1=")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return badSignature("t= is not Unix seconds")
	}
	if age := now.Sub(time.Unix(secs, 0)); age > MaxSignatureAge || age < -MaxSignatureAge {
		return badSignature("the timestamp is more than 5 minutes from now")
	}
	want := SignHMAC(secret, body, time.Unix(secs, 0))
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return badSignature("the signature does not match")
	}
	return nil
}
