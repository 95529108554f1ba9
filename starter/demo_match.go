package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
)

// demoMatch shows matching on write over HTTP: Grace, from a new browser with
// a new email, lands in her contact before the form answers; someone typing her
// name, phone and birth date with their own email lands there too, but learns
// nothing and redirects nothing, and ops undo that merge.
func demoMatch(ctx context.Context, api string, store *postgres.Store, grace string, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	d := demoAPI{ctx, api}
	g, err := store.Contact(ctx, grace)
	if err != nil {
		return err
	}
	phone := g.Get(kith.FieldPhone) // as she gave it last
	submit := func(id, email string) (string, error) {
		jar, _ := cookiejar.New(nil)
		b, _ := json.Marshal(map[string]any{"submission_id": id, "anonymous_id": id, "fields": map[string]string{
			"email": email, "first_name": "Grace", "last_name": "Hopper", "phone": phone, "birth_date": demoAnswers["birth_date"]},
			"consents": map[string]any{"personalization": map[string]any{"granted": true, "text_version": "2026-11-01"}}})
		code, body, _, err := d.do(&http.Client{Jar: jar, Timeout: time.Minute}, "POST", "/v1/forms/profile/submissions", "application/json", string(b), nil)
		if err != nil {
			return "", err
		}
		if code != http.StatusOK {
			return "", fmt.Errorf("the form answered %d: %s", code, body)
		}
		var res struct {
			ContactID string `json:"contact_id"`
		}
		json.Unmarshal([]byte(body), &res)
		return res.ContactID, nil
	}
	merge := func(merged string) (id int64, survivor, actor string, score float64, err error) {
		err = store.DB().QueryRowContext(ctx, `SELECT id, survivor_id::text, actor, score FROM merges WHERE merged_id = $1 AND undone_at IS NULL`, merged).
			Scan(&id, &survivor, &actor, &score)
		return
	}
	active := func() int {
		var n int
		store.DB().GetContext(ctx, &n, `SELECT count(*) FROM contacts WHERE status = 'active' AND last_name = 'Hopper' AND first_name = 'Grace'`)
		return n
	}
	email := func() string {
		c, _ := store.Contact(ctx, grace)
		return c.Get(kith.FieldEmail)
	}

	newJob, err := submit("demo-match-grace-newjob", "grace@newjob.example")
	if err != nil {
		return err
	}
	id, survivor, actor, score, err := merge(newJob)
	if err != nil {
		return fmt.Errorf("Grace's new submission was not matched: %w", err)
	}
	say("Grace, from a new browser with a new email (same name, phone, birth date): merged into her contact before the form answered (merge #%d by %s, weakest link p=%.3f, into %s); active Grace Hoppers: %d",
		id, actor, score, survivor[:8]+"…", active())
	say("her email stays %s; grace@newjob.example now finds her (the merged contact's workflow points at hers, hers took over the submission)", email())

	eve, err := submit("demo-match-eve-0001", "eve@attacker.example")
	if err != nil {
		return err
	}
	id, _, _, _, err = merge(eve)
	if err != nil {
		return fmt.Errorf("the look-alike submission was not matched: %w", err)
	}
	say("someone else types Grace's name, phone and birth date with their own email: merged too (#%d), but the answer shows nothing of her, her email stays %s, and their browser stays with the contact it typed into", id, email())
	code, body, _, err := d.do(nil, "POST", fmt.Sprintf("/v1/admin/merges/%d/undo", id), "", "",
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+demoAdminKey) })
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("undo answered %d: %s", code, body)
	}
	say("ops undo it: POST /v1/admin/merges/%d/undo → %d %s; active Grace Hoppers: %d, the pair kept apart from then on", id, code, body, active())
	return nil
}
