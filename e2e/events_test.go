package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSegmentNodeClientIsStoredAsSent points Segment's own Node client,
// @segment/analytics-node from npm, at `starter serve` and checks that what
// Kith stored equals what the client sent: ids, names, properties, timestamps.
func TestSegmentNodeClientIsStoredAsSent(t *testing.T) {
	modules, _ := filepath.Abs("../tools/npm/node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@segment", "analytics-node")); err != nil {
		t.Fatal("@segment/analytics-node is not installed: run tools/npm.sh (make test does)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: apt-get install -y nodejs")
	}
	e := newEnv(t)
	e.startWorker()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e.vars = append(e.vars, "KITH_HTTP_ADDR="+addr, "KITH_WRITE_KEYS=node:node-write-key-000001", "KITH_TRUSTED_SOURCES=node",
		"KITH_LINK_KEY=dGhpcyBpcyBhIHRlc3QgbGluayBrZXkgb2YgMzIgYnl0ZXM=")
	serve := e.cmd("starter", "serve")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Signal(os.Interrupt); serve.Wait() })
	waitFor(t, "starter serve to answer", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/segment_client.js")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "KITH_HOST=http://"+addr, "KITH_WRITE_KEY=node-write-key-000001")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, out)
	}
	var run struct {
		Sent []struct {
			Call, MessageID, Event, Name string
			AnonymousID, UserID          string
			Timestamp                    time.Time
			Properties                   map[string]any
		}
		Errors []string
	}
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(run.Errors) > 0 {
		t.Fatalf("the client reported errors: %v", run.Errors)
	}
	for _, m := range run.Sent {
		var got struct {
			Type, Call, Anon, User string
			Props                  []byte
			At                     time.Time
		}
		err := e.store.DB().QueryRow(`SELECT type, call, coalesce(anonymous_id, ''), coalesce(user_id, ''), properties, occurred_at
			FROM events WHERE event_id = $1`, "node/"+m.MessageID).Scan(&got.Type, &got.Call, &got.Anon, &got.User, &got.Props, &got.At)
		if err != nil {
			t.Errorf("%s (%s): not stored: %v", m.MessageID, m.Call, err)
			continue
		}
		want := m.Event
		if m.Call != "track" {
			want = m.Call
		}
		var props map[string]any
		json.Unmarshal(got.Props, &props)
		if got.Type != want || got.Call != m.Call || got.Anon != m.AnonymousID || got.User != m.UserID {
			t.Errorf("%s: stored %s/%s anon %q user %q; sent %s %q %q", m.MessageID, got.Call, got.Type, got.Anon, got.User, want, m.AnonymousID, m.UserID)
		}
		for k, v := range m.Properties {
			if fmt.Sprint(props[k]) != fmt.Sprint(v) {
				t.Errorf("%s: property %s = %v, sent %v", m.MessageID, k, props[k], v)
			}
		}
		// Same clock on both sides: the corrected time is the sent one, give or
		// take the request's own time.
		if d := got.At.Sub(m.Timestamp); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%s: stored at %s, sent with timestamp %s", m.MessageID, got.At, m.Timestamp)
		}
	}
	if n := e.count("SELECT count(*) FROM events WHERE write_source = 'node'"); n != len(run.Sent) {
		t.Errorf("%d events stored, %d sent", n, len(run.Sent))
	}
	// The identify (a trusted server source) made the anonymous visitor a contact.
	if n := e.count("SELECT count(*) FROM identities i JOIN contacts c ON c.id = i.contact_id WHERE i.kind = 'anonymous' AND i.value = 'node-anon-0001' AND c.email = 'node.client@example.com'"); n != 1 {
		t.Errorf("the identify did not link the anonymous id to the contact of its email")
	}
}
