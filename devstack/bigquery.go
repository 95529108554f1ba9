package devstack

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// BigQuery is a running BigQuery API (the emulator, or one named by
// BIGQUERY_EMULATOR_HOST).
type BigQuery struct {
	Host    string // host:port of the REST API
	Project string
	proc    *proc
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
	return b, nil
}

func (b *BigQuery) stop() error {
	return b.proc.stop(syscall.SIGTERM, 10*time.Second)
}
