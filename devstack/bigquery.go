package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BigQuery is a running BigQuery API (the emulator, or one named by
// BIGQUERY_EMULATOR_HOST).
type BigQuery struct {
	Host    string // host:port of the REST API
	Project string
	proc    *proc
	shield  *http.Server
}

// Endpoint is the REST endpoint a client passes to option.WithEndpoint.
func (b *BigQuery) Endpoint() string { return "http://" + b.Host }

const bigqueryStartTimeout = 60 * time.Second

func startBigQuery(ctx context.Context, getenv func(string) string, log io.Writer) (*BigQuery, error) {
	project := getenv("BIGQUERY_PROJECT")
	if project == "" {
		project = "kith-local"
	}
	if host := getenv("BIGQUERY_EMULATOR_HOST"); host != "" {
		return &BigQuery{Host: host, Project: project}, nil
	}
	bin, err := findBin("bigquery-emulator", getenv)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--project="+project, "--host=127.0.0.1",
		"--port="+strconv.Itoa(ports[0]), "--grpc-port="+strconv.Itoa(ports[1]), "--log-level=warn")
	p, err := startProc("bigquery-emulator", cmd, log)
	if err != nil {
		return nil, err
	}
	b := &BigQuery{Host: fmt.Sprintf("127.0.0.1:%d", ports[0]), Project: project, proc: p}
	url := fmt.Sprintf("%s/bigquery/v2/projects/%s/datasets", b.Endpoint(), project)
	if err := p.waitReady(ctx, bigqueryStartTimeout, func(ctx context.Context) bool { return httpOK(ctx, url) }); err != nil {
		b.stop()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.stop()
		return nil, err
	}
	b.shield = &http.Server{Handler: shield{emulator: b.Host, proxy: ln.Addr().String()}}
	go b.shield.Serve(ln)
	b.Host = ln.Addr().String()
	return b, nil
}

func (b *BigQuery) stop() error {
	if b.shield != nil {
		b.shield.Close()
	}
	return b.proc.stop(syscall.SIGTERM, 10*time.Second)
}

// shield fronts the emulator the way BigQuery's own front end behaves: a request
// is read whole before it is passed on (a cut-off upload creates no job), and
// once passed on it completes even if the client goes away. The emulator itself
// does neither: a client killed while a load job is being inserted leaves it
// answering "sql: connection is already closed" to every later request, which
// would make every crash test fail on the emulator rather than on Kith.
type shield struct {
	emulator string // host:port
	proxy    string // host:port clients use
}

func (s shield) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away mid-request: nothing reaches the emulator
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method,
		"http://"+s.emulator+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			// A resumable upload's next request goes to the Location given: here.
			w.Header().Add(k, strings.ReplaceAll(v, s.emulator, s.proxy))
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
