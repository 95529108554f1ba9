package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/postgres"
)

// demoIdentity shows, over HTTP, what protects a profile: hostile input refused
// and kept, a stranger's claim on a known email held until the address's owner
// opens the link in the same browser, and withdrawal by signed link only.
func demoIdentity(ctx context.Context, cfg config.Config, api string, store *postgres.Store, contactID string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: time.Minute}
	}
	d := demoAPI{ctx, api}
	send := func(c *http.Client, method, path, ctype, body string) (int, string, error) {
		code, b, _, err := d.do(c, method, path, ctype, body, nil)
		return code, b, err
	}
	submit := func(c *http.Client, body map[string]any) (int, string, error) {
		b, _ := json.Marshal(body)
		return send(c, "POST", "/v1/forms/profile/submissions", "application/json", string(b))
	}
	phone := func() string {
		ct, err := store.Contact(ctx, contactID)
		if err != nil {
			return "?"
		}
		return ct.Get(kith.FieldPhone)
	}
	consents := map[string]any{"personalization": map[string]any{"granted": true, "text_version": "2026-11-01"}}

	code, body, err := send(http.DefaultClient, "POST", "/v1/forms/profile/submissions", "application/json",
		`{"submission_id":"demo-hostile-0001","anonymous_id":"demo-visitor-0001","fields":{"city":"\u0000","city":"Oslo"}}`)
	if err != nil {
		return err
	}
	var refused struct {
		Error struct{ Violations kith.Violations } `json:"error"`
	}
	json.Unmarshal([]byte(body), &refused)
	say("a submission with a NUL character and a repeated key: %d, %s; kept in quarantine", code, refused.Error.Violations)

	stranger := browser()
	code, body, err = submit(stranger, map[string]any{"submission_id": "demo-stranger-0001", "anonymous_id": "demo-stranger-0001",
		"fields": map[string]string{"email": demoAnswers["email"], "first_name": "Eve", "phone": "+47 987 65 432"}, "consents": consents})
	if err != nil {
		return err
	}
	if code != http.StatusAccepted || strings.Contains(body, contactID) {
		return fmt.Errorf("a stranger's claim answered %d %s", code, body)
	}
	say("another browser submits Grace's email with a new phone: %d (held; no contact id given out); Grace's phone is still %s", code, phone())
	link, err := claimLink(ctx, store, contactID)
	if err != nil {
		return err
	}
	code, _, err = send(browser(), "GET", strings.TrimPrefix(link, cfg.PublicURL), "", "")
	if err != nil {
		return err
	}
	say("the verification link went to Grace's address; opened in a browser other than the claimant's: %d (this link is not valid); phone %s", code, phone())

	newPhone := browser()
	if code, _, err = submit(newPhone, map[string]any{"submission_id": "demo-newphone-0001", "anonymous_id": "demo-newphone-0001",
		"fields": map[string]string{"email": demoAnswers["email"], "phone": "+47 465 00 000"}, "consents": consents}); err != nil {
		return err
	}
	if link, err = claimLink(ctx, store, contactID); err != nil {
		return err
	}
	code2, _, err := send(newPhone, "GET", strings.TrimPrefix(link, cfg.PublicURL), "", "")
	if err != nil {
		return err
	}
	say("Grace on her new phone submits her email (%d), opens the link there (%d): her phone is now %s", code, code2, phone())
	return nil
}

// demoUnsubscribe withdraws Grace's email marketing consent the way a mail
// client's unsubscribe button does: a bare contact id is refused, the signed
// link works (RFC 8058 one-click).
func demoUnsubscribe(ctx context.Context, cfg config.Config, api string, store *postgres.Store, contactID string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	d := demoAPI{ctx, api}
	send := func(method, path, ctype, body string) (int, error) {
		code, _, _, err := d.do(http.DefaultClient, method, path, ctype, body, nil)
		return code, err
	}
	code, err := send("POST", "/v1/contacts/"+contactID+"/consents", "application/json",
		`{"purpose":"email_marketing","request_id":"demo-bare-id-0001"}`)
	if err != nil {
		return err
	}
	unsub, err := signedLink(cfg, kith.Link{Kind: kith.LinkUnsubscribe, ContactID: contactID, Purpose: "email_marketing", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	path := strings.TrimPrefix(unsub, cfg.PublicURL)
	pageCode, err := send("GET", path, "", "")
	if err != nil {
		return err
	}
	oneClick, err := send("POST", path, "application/x-www-form-urlencoded", url.Values{"List-Unsubscribe": {"One-Click"}}.Encode())
	if err != nil {
		return err
	}
	cur, err := store.Consents(ctx, contactID)
	if err != nil {
		return err
	}
	say("withdrawing with a bare contact id: %d; with the signed link (starter link unsubscribe): page %d, one-click POST (RFC 8058) %d; email marketing is now %s",
		code, pageCode, oneClick, cur["email_marketing"].Status)
	return nil
}

// claimLink is the newest claim-verification link queued for the contact (the
// demo reads the outbox as a mail client would receive the message).
func claimLink(ctx context.Context, store *postgres.Store, contactID string) (string, error) {
	msgs, err := store.Outbox(ctx, contactID, "verify_claim")
	if err != nil || len(msgs) == 0 {
		return "", fmt.Errorf("no verification message queued (%v)", err)
	}
	var m struct{ Link string }
	if err := json.NewDecoder(bytes.NewReader(msgs[len(msgs)-1].Payload)).Decode(&m); err != nil {
		return "", err
	}
	return m.Link, nil
}
