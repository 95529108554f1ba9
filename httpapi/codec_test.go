package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/codec"
	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/devstack"
	"github.com/kithhq/kith/workflows"
)

func TestPersonalDataIsEncryptedInTemporalHistory(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	aes, err := codec.New(key)
	if err != nil {
		t.Fatal(err)
	}
	k := newKith(t, workflows.ContactInput{}, func(o *client.Options) { o.DataConverter = aes.DataConverter() })
	const email = "private.person@example.com"
	var res submitResponse
	if code := k.postJSON(t, "/v1/forms/profile/submissions", map[string]any{
		"submission_id": "codec-sub-1", "fields": map[string]string{"email": email, "phone": "+47 412 34 567"}, "consents": consentsGiven,
	}, &res); code != 200 {
		t.Fatalf("submission answered %d", code)
	}
	if view := queryContact(t, k, res.ContactID); view.Fields["email"].Value != email {
		t.Fatalf("the workflow (through the codec) sees %q", view.Fields["email"].Value)
	}

	// What Temporal stores, read without the key: no email, no phone.
	plain, err := client.DialContext(context.Background(), client.Options{HostPort: stack.Temporal.Address, Namespace: stack.Temporal.Namespace, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var h historypb.History
	it := plain.GetWorkflowHistory(context.Background(), workflows.ContactWorkflowID(res.ContactID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	raw, _ := protojson.Marshal(&h)
	for _, secret := range []string{email, "4741234567", "private.person"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("history holds %q in the clear", secret)
		}
	}
	if !strings.Contains(string(raw), "YmluYXJ5L2VuY3J5cHRlZA") { // base64 of binary/encrypted
		t.Errorf("no encrypted payloads in the history")
	}
	if len(h.Events) < 5 {
		t.Errorf("history has %d events", len(h.Events))
	}
}

// temporalFileHolds lists which of values the Temporal dev server's database
// file (and its write-ahead log) holds in the clear.
func temporalFileHolds(t *testing.T, values ...string) []string {
	t.Helper()
	if stack.Temporal.DBFile == "" {
		t.Fatal("this test reads the dev server's file: run it on the stack devstack starts (unset TEMPORAL_ADDRESS)")
	}
	var held []string
	for _, f := range []string{stack.Temporal.DBFile, stack.Temporal.DBFile + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) && !slices.Contains(held, v) {
				held = append(held, v)
			}
		}
	}
	return held
}

// bounce is an activity whose error names the recipient, as an ESP's does.
func bounce(_ context.Context, email string) error {
	return temporal.NewNonRetryableApplicationError("mailbox "+email+" does not exist", "Bounce", nil)
}

func sendOnce(ctx workflow.Context, email string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, bounce, email).Get(ctx, nil)
}

// failWith runs sendOnce on its own task queue with the client options that
// config builds for env, and returns the workflow's error as the client reads it.
func failWith(t *testing.T, env map[string]string, email string) error {
	t.Helper()
	env["TEMPORAL_ADDRESS"], env["TEMPORAL_NAMESPACE"] = stack.Temporal.Address, stack.Temporal.Namespace
	cfg, err := config.FromEnv(func(k string) string { return env[k] }, false)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.TemporalOptions(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quietLogger{}
	c, err := client.DialContext(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "codec-failure-" + uuid.NewString()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(sendOnce)
	w.RegisterActivity(bounce)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue, ID: queue}, sendOnce, email)
	if err != nil {
		t.Fatal(err)
	}
	return run.Get(context.Background(), nil)
}

func TestActivityFailureNamingAnEmailIsEncryptedWithTheCodecOn(t *testing.T) {
	devstack.Require(t, stack)
	key := make([]byte, 32)
	rand.Read(key)
	plainEmail, sealedEmail := "plain."+uuid.NewString()[:8]+"@example.com", "sealed."+uuid.NewString()[:8]+"@example.com"

	// Without payload keys the message is stored as it is: what the grep must find.
	if err := failWith(t, map[string]string{}, plainEmail); err == nil || !strings.Contains(err.Error(), plainEmail) {
		t.Fatalf("the plain run's error is %v", err)
	}
	// With them, the client that holds the key still reads the message.
	err := failWith(t, map[string]string{"KITH_PAYLOAD_KEYS": base64.StdEncoding.EncodeToString(key)}, sealedEmail)
	if err == nil || !strings.Contains(err.Error(), sealedEmail) {
		t.Fatalf("the codec run's error, decoded, is %v", err)
	}
	eventually(t, "the plain run's failure reaches the server's file", func() bool {
		return len(temporalFileHolds(t, plainEmail)) == 1
	})
	if held := temporalFileHolds(t, sealedEmail, strings.Split(sealedEmail, "@")[0]); len(held) > 0 {
		t.Errorf("with the codec on, the server's file holds %v in the clear", held)
	}
}

// uiText opens a workflow's page in the Temporal Web UI and returns its text
// once it shows the text shown, with headers sent on every request (the
// UI's "pass the access token" sends Authorization to the codec server).
func uiText(t *testing.T, url string, headers map[string]any, shown string) string {
	t.Helper()
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers(headers)})
			return err
		}),
		chromedp.Navigate(url),
	)
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.body.innerText.includes(%q)`, shown), chromedp.WithPollingTimeout(45*time.Second)))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Sleep(2*time.Second)) // the codec's answer replaces the raw payload
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("the Web UI at %s: %v (page: %.2000s)", url, err, text)
	}
	return text
}

func TestWebUIShowsPayloadsInClearOnlyThroughTheCodecServer(t *testing.T) {
	devstack.Require(t, stack)
	if stack.Temporal.UIURL == "" || stack.Temporal.CodecAddr == "" {
		t.Fatal("this test drives the dev server's Web UI: run it on the stack devstack starts (unset TEMPORAL_ADDRESS)")
	}
	key := make([]byte, 32)
	rand.Read(key)
	aes, _ := codec.New(key)
	const token = "ops-ui-codec-token-0123456789"
	srv := &codec.Server{
		Codec:   aes,
		Tokens:  []codec.Token{{Name: "ops", SHA256: sha256.Sum256([]byte(token))}},
		Origins: []string{stack.Temporal.UIURL},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ln, err := net.Listen("tcp", stack.Temporal.CodecAddr)
	if err != nil {
		t.Fatalf("the UI's codec endpoint %s: %v", stack.Temporal.CodecAddr, err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	// A contact's run as continue-as-new starts it: its input holds the profile.
	c, err := client.DialContext(context.Background(), client.Options{HostPort: stack.Temporal.Address, Namespace: stack.Temporal.Namespace,
		Logger: quietLogger{}, DataConverter: aes.DataConverter()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := uuid.NewString()
	email := "ui." + id[:8] + "@example.com"
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflows.ContactWorkflowID(id), TaskQueue: "codec-ui-" + id},
		workflows.ContactLifecycleName, workflows.ContactInput{ContactID: id, State: &workflows.ContactState{Fields: map[kith.Field]kith.Value{"email": {Value: email}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })
	page := fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", stack.Temporal.UIURL, stack.Temporal.Namespace, url.PathEscape(run.GetID()), run.GetRunID())

	clear := uiText(t, page, map[string]any{"Authorization": "Bearer " + token}, email)
	if !strings.Contains(clear, email) {
		t.Errorf("with a codec token the UI does not show the input in clear; it shows:\n%.3000s", clear)
	}
	sealed := uiText(t, page, map[string]any{"Authorization": "Bearer not-the-token-0123456789"}, "YmluYXJ5L2VuY3J5cHRlZA") // "binary/encrypted", as the UI shows metadata
	if strings.Contains(sealed, email) {
		t.Error("without a codec token the UI shows the email")
	}
}
