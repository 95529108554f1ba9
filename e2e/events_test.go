package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
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
	addr := freeAddr(t)
	e.vars = append(e.vars, "KITH_WRITE_KEYS=node:node-write-key-000001", "KITH_TRUSTED_SOURCES=node",
		"KITH_LINK_KEY=dGhpcyBpcyBhIHRlc3QgbGluayBrZXkgb2YgMzIgYnl0ZXM=")
	e.serve(addr)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/segment_client.js")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "KITH_HOST=http://"+addr, "KITH_WRITE_KEY=node-write-key-000001")
	cmd.Stderr = os.Stderr
	began := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, out)
	}
	t.Logf("the node client ran for %s", time.Since(began).Round(time.Millisecond))
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

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts `starter serve` on addr and waits until it answers; it is
// stopped at the end of the test (or killed by the test).
func (e *env) serve(addr string) *exec.Cmd {
	e.t.Helper()
	cmd := e.cmd("starter", "serve")
	cmd.Env = append(cmd.Env, "KITH_HTTP_ADDR="+addr)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	waitFor(e.t, "starter serve to answer", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return cmd
}

// TestEventsSurviveAKilledServer: 16 senders post batches of 20 while the
// server is killed (SIGKILL) and started again; every message answered 200 is
// stored, and after the senders retry what was not acknowledged every message
// is stored exactly once.
func TestEventsSurviveAKilledServer(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	e.vars = append(e.vars, "KITH_WRITE_KEYS=load:load-write-key-00000001")
	first := e.serve(addr)
	var mu sync.Mutex
	acked := map[string]bool{}
	var unacked [][]byte
	send := func(body []byte) bool {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("load-write-key-00000001", "")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []map[string]any
				var ids []string
				for m := range 20 {
					id := fmt.Sprintf("g%02d-b%05d-m%02d", g, b, m)
					ids = append(ids, id)
					batch = append(batch, map[string]any{"type": "track", "messageId": id, "anonymousId": fmt.Sprintf("load-%02d", g), "event": "Load Test"})
				}
				body, _ := json.Marshal(map[string]any{"batch": batch})
				ok := send(body)
				mu.Lock()
				if ok {
					for _, id := range ids {
						acked[id] = true
					}
				} else {
					unacked = append(unacked, body)
				}
				mu.Unlock()
				if !ok {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	mu.Lock()
	atKill := len(acked)
	mu.Unlock()
	time.Sleep(500 * time.Millisecond) // senders meet a dead server
	e.serve(addr)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for id := range acked {
		var n int
		e.store.DB().Get(&n, `SELECT count(*) FROM events WHERE event_id = $1`, "load/"+id)
		if n != 1 {
			missing++
		}
	}
	if missing > 0 || atKill == 0 || len(unacked) == 0 {
		t.Fatalf("%d of %d acknowledged messages not stored (%d acknowledged before the kill, %d batches refused)", missing, len(acked), atKill, len(unacked))
	}
	// The senders retry every batch that was not acknowledged.
	for _, body := range unacked {
		if !send(body) {
			t.Fatal("a retried batch was refused")
		}
		var b struct {
			Batch []struct{ MessageID string }
		}
		json.Unmarshal(body, &b)
		for _, m := range b.Batch {
			acked[m.MessageID] = true
		}
	}
	if n := e.count(`SELECT count(*) FROM events WHERE write_source = 'load'`); n != len(acked) {
		t.Errorf("%d events stored, %d distinct messages sent: want each exactly once", n, len(acked))
	}
	t.Logf("%d messages acknowledged before the kill, %d batches refused while it was down, %d messages in all", atKill, len(unacked), len(acked))
}
