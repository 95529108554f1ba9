package kith

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Link kinds a Signer signs.
const (
	// LinkUnsubscribe withdraws one purpose (or every purpose, "*"): the
	// unsubscribe link and the List-Unsubscribe header of every message.
	LinkUnsubscribe = "unsubscribe"
	// LinkProfile identifies a contact to a form: "complete your profile" links in
	// messages Kith sent to the contact's address.
	LinkProfile = "profile"
	// LinkOpen is an email's open pixel; LinkClick a tracked link in an email,
	// signed over its destination so it can never redirect anywhere else.
	LinkOpen  = "open"
	LinkClick = "click"
)

// Link is what a signed link grants: Kind for ContactID (and Purpose, for an
// unsubscribe link) until Expires.
type Link struct {
	Kind      string    `json:"k"`
	ContactID string    `json:"c"`
	Purpose   string    `json:"p,omitempty"`
	Delivery  string    `json:"d,omitempty"` // the message (or campaign) an open or click belongs to
	URL       string    `json:"u,omitempty"` // a click's destination
	Expires   time.Time `json:"e"`
}

// Signer signs and checks the links Kith puts in messages (HMAC-SHA256 with a
// secret key, KITH_LINK_KEY), and hashes browser cookies with the same key, so a
// bare contact id is never enough to act for a contact.
type Signer struct {
	Key []byte // 32 random bytes or more; never logged
	// Old keys still verify (links already sent keep working while keys rotate);
	// only Key signs.
	Old [][]byte
}

// Sign returns the token of l: base64url(JSON) "." base64url(MAC).
func (s Signer) Sign(l Link) string {
	b, _ := json.Marshal(l) // a struct of strings and a time: cannot fail
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("link", payload))
}

// Verify returns the link a token grants, when the token is Kith's, of kind, and
// not expired at now; otherwise an error with CodeNotFound (the same whatever
// was wrong, so a link tells nothing about who exists).
func (s Signer) Verify(token, kind string, now time.Time) (Link, error) {
	notValid := Errorf(CodeNotFound, "this link is not valid or has expired")
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(s.Key) == 0 {
		return Link{}, notValid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return Link{}, notValid
	}
	ok = hmac.Equal(got, s.mac("link", payload))
	for _, k := range s.Old {
		ok = hmac.Equal(got, Signer{Key: k}.mac("link", payload)) || ok
	}
	if !ok {
		return Link{}, notValid
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var l Link
	if err != nil || json.Unmarshal(b, &l) != nil || l.Kind != kind || l.ContactID == "" || !now.Before(l.Expires) {
		return Link{}, notValid
	}
	return l, nil
}

// Browser is the keyed hash of a browser cookie's value: what Kith stores to
// recognise the browser again without keeping the cookie itself.
func (s Signer) Browser(cookie string) string {
	return hex.EncodeToString(s.mac("browser", cookie))
}

func (s Signer) mac(domain, msg string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("kith/" + domain + "/v1\x00"))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// URL is the address of the signed link l on the API at publicURL.
func (s Signer) URL(publicURL string, l Link) (string, error) {
	switch l.Kind {
	case LinkUnsubscribe:
		return publicURL + "/v1/unsubscribe?" + url.Values{"token": {s.Sign(l)}}.Encode(), nil
	case LinkProfile:
		l.Purpose = ""
		return publicURL + "/forms/profile?" + url.Values{"kith_token": {s.Sign(l)}}.Encode(), nil
	case LinkOpen:
		l.Purpose = ""
		return publicURL + "/v1/o/" + s.Sign(l) + ".gif", nil
	case LinkClick:
		if !strings.HasPrefix(l.URL, "https://") && !strings.HasPrefix(l.URL, "http://") {
			return "", fmt.Errorf("a click link needs an http(s) URL, not %q", l.URL)
		}
		l.Purpose = ""
		return publicURL + "/v1/c/" + s.Sign(l), nil
	}
	return "", fmt.Errorf("unknown link %q: unsubscribe, profile, open or click", l.Kind)
}
