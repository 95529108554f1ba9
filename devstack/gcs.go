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

// GCS is a running Cloud Storage JSON API (fake-gcs-server, or one named by
// STORAGE_EMULATOR_HOST) with the lake's bucket name.
type GCS struct {
	Host   string // host:port
	Bucket string
	proc   *proc
}

const gcsStartTimeout = 30 * time.Second

func startGCS(ctx context.Context, getenv func(string) string, log io.Writer) (*GCS, error) {
	bucket := getenv("KITH_LAKE_BUCKET")
	if bucket == "" {
		bucket = "kith-lake"
	}
	if host := getenv("STORAGE_EMULATOR_HOST"); host != "" {
		return &GCS{Host: host, Bucket: bucket}, nil
	}
	bin, err := findBin("fake-gcs-server", getenv)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	// In memory: the stack is ephemeral. -external-url makes resumable
	// uploads come back to this port.
	cmd := exec.Command(bin, "-scheme=http", "-host=127.0.0.1", "-port="+strconv.Itoa(ports[0]),
		"-backend=memory", "-log-level=warn", fmt.Sprintf("-external-url=http://127.0.0.1:%d", ports[0]))
	p, err := startProc("fake-gcs-server", cmd, log)
	if err != nil {
		return nil, err
	}
	g := &GCS{Host: fmt.Sprintf("127.0.0.1:%d", ports[0]), Bucket: bucket, proc: p}
	if err := p.waitReady(ctx, gcsStartTimeout, func(ctx context.Context) bool {
		return httpOK(ctx, "http://"+g.Host+"/storage/v1/b")
	}); err != nil {
		g.stop()
		return nil, err
	}
	return g, nil
}

func (g *GCS) stop() error { return g.proc.stop(syscall.SIGTERM, 5*time.Second) }
