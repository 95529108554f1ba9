package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/postgres"
)

// demoAnswers are what the scripted visitor types.
var demoAnswers = map[string]string{
	"email": "Grace.Hopper@Example.org", "phone": "+47 412 34 567", "birth_date": "09.12.1986",
	"first_name": "grace", "last_name": "HOPPER", "country": "Norway", "city": "oslo", "postal_code": "0150",
}

// demoVisitor walks a visitor through the profile form over HTTP, the way the
// hosted page does: inline validation, two visits, a double opt-in confirmed.
func demoVisitor(ctx context.Context, api string, store *postgres.Store, w io.Writer) (string, error) {
	say := func(format string, a ...any) { fmt.Fprintf(w, "==> "+format+"\n", a...) }
	call := func(method, path string, body, out any) (int, error) {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, api+path, r)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode, nil
	}
	const visitor = "demo-visitor-0001"

	var check struct {
		Violations kith.Violations `json:"violations"`
	}
	if _, err := call("POST", "/v1/validate", map[string]string{"field": "phone", "value": "+47 12"}, &check); err != nil {
		return "", err
	}
	if len(check.Violations) > 0 {
		say("inline validation of phone %q: %s", "+47 12", check.Violations[0].Message)
	}

	contactID := ""
	for visit := 1; visit <= 2; visit++ {
		var next struct {
			kith.NextStep
		}
		if _, err := call("GET", "/v1/forms/profile/next?anonymous_id="+visitor, nil, &next); err != nil {
			return "", err
		}
		body := map[string]any{"submission_id": fmt.Sprintf("%s-visit-%d", visitor, visit), "anonymous_id": visitor, "fields": map[string]string{}}
		var asked []string
		for _, s := range next.Steps {
			for _, f := range s.Fields {
				asked = append(asked, string(f.Field))
				body["fields"].(map[string]string)[string(f.Field)] = demoAnswers[string(f.Field)]
			}
		}
		if visit == 1 {
			body["consents"] = map[string]any{}
			for _, c := range next.Consents {
				body["consents"].(map[string]any)[c.Purpose] = map[string]any{"granted": true, "text_version": c.Version}
			}
		}
		var res struct {
			ContactID    string                        `json:"contact_id"`
			Completeness int                           `json:"completeness"`
			Consents     map[string]kith.ConsentStatus `json:"consents"`
			Error        *struct{ Message string }     `json:"error"`
		}
		code, err := call("POST", "/v1/forms/profile/submissions", body, &res)
		if err != nil {
			return "", err
		}
		if code != 200 {
			return "", fmt.Errorf("demo submission answered %d", code)
		}
		contactID = res.ContactID
		say("form visit %d asked %s; profile %d%% complete; consents %v (contact %s)",
			visit, strings.Join(asked, ", "), res.Completeness, res.Consents, res.ContactID)

		if visit == 1 {
			msgs, err := store.Outbox(ctx, res.ContactID, "double_opt_in")
			if err != nil || len(msgs) == 0 {
				return "", fmt.Errorf("double opt-in message: %v", err)
			}
			var msg struct{ Link string }
			json.Unmarshal(msgs[0].Payload, &msg)
			say("double opt-in message queued in the outbox; following its link")
			resp, err := http.Get(msg.Link)
			if err != nil {
				return "", err
			}
			resp.Body.Close()
			for range 50 {
				cur, err := store.Consents(ctx, res.ContactID)
				if err != nil {
					return "", err
				}
				if cur["email_marketing"].Status == kith.ConsentGranted {
					say("email marketing consent confirmed and recorded")
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return contactID, nil
}
