package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Temporal is a running Temporal server.
type Temporal struct {
	Address   string // host:port of the frontend gRPC service
	Namespace string
	UIURL     string // empty when TEMPORAL_ADDRESS named an existing server
	// DBFile is the dev server's SQLite file (empty when TEMPORAL_ADDRESS named
	// an existing server): erasure tests read it for what should be gone.
	DBFile string
	// CodecAddr is where the Web UI looks for Kith's codec server
	// (--ui-codec-endpoint): start `starter codec-server` there to read
	// encrypted payloads in the UI (empty with TEMPORAL_ADDRESS).
	CodecAddr string
	proc      *proc
}

const temporalStartTimeout = 90 * time.Second

// SearchAttributes are Kith's custom search attributes, registered at start so
// ops can find contacts and jobs in the Web UI.
var SearchAttributes = []string{
	"KithCompleteness=Double",
	"KithConsentStatus=Keyword",
	"KithPendingTriggers=KeywordList",
	"KithContacts=KeywordList",
	"KithLifecycleStage=Keyword",
	"KithSource=Keyword",
}

func startTemporal(ctx context.Context, dir string, getenv func(string) string, log io.Writer) (*Temporal, error) {
	ns := getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	if addr := getenv("TEMPORAL_ADDRESS"); addr != "" {
		return &Temporal{Address: addr, Namespace: ns}, nil
	}
	bin, err := findBin("temporal", getenv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	grpc, ui, httpPort, metrics, codec := ports[0], ports[1], ports[2], ports[3], ports[4]
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(grpc),
		"--ui-port", strconv.Itoa(ui),
		"--http-port", strconv.Itoa(httpPort),
		"--metrics-port", strconv.Itoa(metrics),
		"--db-filename", dir + "/temporal.db",
		// Deleted histories are overwritten, not left in free pages: an erased
		// person's data must leave the file.
		"--sqlite-pragma", "secure_delete=on",
		"--ui-codec-endpoint", fmt.Sprintf("http://127.0.0.1:%d", codec),
		"--log-level", "warn",
		// Forms submit with Update-With-Start; older servers keep it behind a flag.
		"--dynamic-config-value", "frontend.enableExecuteMultiOperation=true",
		"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true",
	}
	if ns != "default" {
		args = append(args, "--namespace", ns)
	}
	for _, sa := range SearchAttributes {
		args = append(args, "--search-attribute", sa)
	}
	p, err := startProc("temporal", exec.Command(bin, args...), log)
	if err != nil {
		return nil, err
	}
	t := &Temporal{
		Address:   fmt.Sprintf("127.0.0.1:%d", grpc),
		Namespace: ns,
		UIURL:     fmt.Sprintf("http://127.0.0.1:%d", ui),
		DBFile:    dir + "/temporal.db",
		CodecAddr: fmt.Sprintf("127.0.0.1:%d", codec),
		proc:      p,
	}
	// The HTTP API answers for a namespace only once the server can serve it.
	nsURL := fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces/%s", httpPort, ns)
	if err := p.waitReady(ctx, temporalStartTimeout, func(ctx context.Context) bool { return httpOK(ctx, nsURL) }); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

func (t *Temporal) stop() error {
	return t.proc.stop(syscall.SIGTERM, 20*time.Second)
}
