package e2e_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kithhq/kith/devstack"
)

// TestDemo runs `starter demo` as a newcomer would: it starts its own stack, imports
// the sample twice, and keeps running until Ctrl-C; meanwhile the import is listed
// by `bin/temporal workflow list`. After Ctrl-C nothing it started is left running.
func TestDemo(t *testing.T) {
	devstack.Require(t, stack)
	temporalBin, err := filepath.Abs("../bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	demo := exec.Command(filepath.Join(bins, "starter"), "demo", "-dir", dir)
	demo.Dir = ".." // where a newcomer runs it
	// At debug level every process logs the most it ever will: still no PII.
	// A list of 2,000 rows keeps the run short; make demo imports 20,000.
	demo.Env = append(os.Environ(), "LOG_LEVEL=debug", "DEMO_CONTACTS=2000")
	pr, pw := io.Pipe()
	demo.Stdout, demo.Stderr = pw, pw
	demo.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait(); pw.Close() }()

	var out strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	address := ""
	deadline := time.After(8 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended early:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if m := regexp.MustCompile(`workflow list --address (\S+)`).FindStringSubmatch(l); m != nil {
				address = m[1]
			}
			if strings.Contains(l, "press Ctrl-C") {
				break wait
			}
		case <-deadline:
			demo.Process.Kill()
			t.Fatalf("demo not ready within 8 minutes:\n%s", out.String())
		}
	}
	head := out.String()
	var tail strings.Builder
	drained := make(chan struct{})
	go func() {
		for l := range lines {
			tail.WriteString(l + "\n")
		}
		close(drained)
	}()
	for _, want := range []string{
		"star schema tables: [dim_contact fact_delivery fact_event fact_order fact_ticket]",
		"import done: 37 rows: 29 imported (new), 1 updated, 1 unchanged, 9 with refused values quarantined (6 of them made no contact)",
		"import done: 37 rows: 0 imported (new), 0 updated, 31 unchanged, 9 with refused values quarantined (6 of them made no contact)",
		"row has 3 fields, the header has 9",
		"a row with a phone and no email became a contact (identity kind record): its national phone was read as region GB from postal code; country GB inferred from the phone's prefix",
		"(fixed point after ",
		"Product Clicked events with their categories",
		"ages imputed from behaviour (k nearest neighbours over 7 product categories)",
		"Temporal Web UI: http://127.0.0.1:",
		"schedule warehouse-load-hourly created",
		"BigQuery, purchasers without follow up (docs/analytics.md):",
		"a submission with a NUL character and a repeated key: 422",
		"another browser submits Grace's email with a new phone: 202 (held; no contact id given out); Grace's phone is still +4741234567",
		"opened in a browser other than the claimant's: 404 (this link is not valid); phone +4741234567",
		"opens the link there (200): her phone is now +4746500000",
		"delivery 1 of the same batch of 4: 200 {\"success\":true}",
		"delivery 2 of the same batch of 4: 200 {\"success\":true}",
		"without a write key: 401; without userId or anonymousId: 400",
		"the Product Viewed reached Grace's ContactLifecycle in",
		"email open pixel: 200 image/gif; click: 302 to https://shop.example/sale; a tampered click link: 404, no redirect",
		"Email Link Clicked 1, Email Opened 1, Email Opened (machine) 1, Engaged Time 1, Product Viewed 1, Scroll Depth 1, page 1",
		"trigger rule welcome (schemas/triggers/welcome.json): Grace's confirmation sent template \"welcome\" through the ESP simulator",
		"pending trigger browse_abandonment: started by Product Viewed",
		"ESP event webhook signed with another key: 401",
		"ESP event webhook (SendGrid Signed Event Webhook, ECDSA), delivery 3 of the same 4 events: 200",
		"Email Delivered 1, Email Link Clicked 2, Email Opened 2, Email Opened (machine) 2",
		"pending triggers cancelled: browse_abandonment (consent email_marketing withdrawn)",
		"export without an admin key: 401",
		"Grace's erasure (POST /v1/privacy/erasures): completed; removed per store: postgres ",
		"the form sends Grace's email again: 202 {\"status\":\"not_stored\"",
		"decided merge (POST): 200; Deduplicate applied it: 1 merge",
		"asking to erase her again: 200 (the same receipt)",
		"a generated list of 2000 rows for ",
		"import done: 2000 rows: ",
		"the ESP reported ",
		"==> data-quality report: http://127.0.0.1:",
		"/reports/quality (admin key as the password: user ops, password ",
		"static export (starter report -html): ",
		"==> Prometheus metrics: the API's http://127.0.0.1:",
		"withdrawing with a bare contact id: 403; with the signed link (starter link unsubscribe): page 200, one-click POST (RFC 8058) 200; email marketing is now withdrawn",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("demo output lacks %q:\n%s", want, head)
		}
	}
	// Grace, built by the demo's paths (form, claim, tracking, triggers, CRM,
	// an import the cleaning merges), is in every section of her export.
	if m := regexp.MustCompile(`Grace's export \(GET [^)]*\): 200; profile with provenance for (\d+) fields; (.*)`).FindStringSubmatch(head); m == nil || m[1] == "0" {
		t.Errorf("no export of Grace with provenance in the demo output:\n%s", head)
	} else {
		for _, kind := range []string{"identities", "consents", "events", "form_submissions", "orders", "tickets", "merges", "deliveries"} {
			if !regexp.MustCompile(`\b` + kind + ` [1-9]`).MatchString(m[2]) {
				t.Errorf("Grace's export has no %s: %s", kind, m[2])
			}
		}
	}
	// The generated list's de-duplication, scored against the generator's truth.
	if m := regexp.MustCompile(`de-duplication against the generator's truth: precision ([\d.]+) recall ([\d.]+) F1 ([\d.]+)`).FindStringSubmatch(head); m == nil {
		t.Errorf("no precision and recall of the generated list in the demo output")
	} else if f1, _ := strconv.ParseFloat(m[3], 64); f1 < 0.9 {
		t.Errorf("the demo's de-duplication: %s", m[0])
	}
	// The static report is written, and both metrics endpoints answer with Kith's metrics.
	if m := regexp.MustCompile(`static export \(starter report -html\): (\S+)`).FindStringSubmatch(head); m == nil {
		t.Errorf("no static report path in the demo output")
	} else if b, err := os.ReadFile(m[1]); err != nil || !bytes.Contains(b, []byte(`id="duplicates"`)) {
		t.Errorf("the static report %s: %v", m[1], err)
	}
	if m := regexp.MustCompile(`Prometheus metrics: the API's (\S+), the worker's (\S+) `).FindStringSubmatch(head); m == nil {
		t.Errorf("no metrics URLs in the demo output")
	} else {
		for i, want := range []string{"", "kith_events_total", "kith_warehouse_rows"} {
			if i == 0 {
				continue
			}
			resp, err := http.Get(m[i])
			if err != nil {
				t.Errorf("%s: %v", m[i], err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Contains(b, []byte(want)) || !bytes.Contains(b, []byte("temporal_request_total")) {
				t.Errorf("%s lacks %s or the Temporal SDK's metrics", m[i], want)
			}
		}
	}
	// On the demo's shoppers, reading ages from behaviour beats the country median.
	if m := regexp.MustCompile(`mean absolute error ([\d.]+) years by behaviour vs ([\d.]+) by the country median`).FindStringSubmatch(head); m == nil {
		t.Errorf("no age imputation report in the demo output")
	} else {
		byBehaviour, _ := strconv.ParseFloat(m[1], 64)
		byMedian, _ := strconv.ParseFloat(m[2], 64)
		if byBehaviour >= byMedian {
			t.Errorf("ages by behaviour (MAE %s) are no better than the country median (%s)", m[1], m[2])
		}
	}
	// Each load leaves BigQuery with PostgreSQL's rows; the second loads nothing.
	loads := regexp.MustCompile(`(?m)^  (\w+) +(\d+) rows loaded; BigQuery (\d+) rows = PostgreSQL (\d+)$`).FindAllStringSubmatch(head, -1)
	if len(loads) != 10 {
		t.Errorf("want two loads of five tables in the demo output:\n%s", head)
	}
	for i, m := range loads {
		if m[3] != m[4] || i >= 5 && m[2] != "0" || m[1] == "dim_contact" && m[3] == "0" {
			t.Errorf("load line %q", m[0])
		}
	}
	list, err := exec.Command(temporalBin, "workflow", "list", "--address", address, "--query", "WorkflowType='ImportContacts'").CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow list: %v\n%s", err, list)
	}
	// The sample file twice (one workflow id, two runs), Grace's old list and the generated list.
	if strings.Count(string(list), "ImportContacts") != 4 || strings.Count(string(list), "Completed") != 4 {
		t.Errorf("workflow list shows:\n%s\nwant four completed ImportContacts", list)
	}

	demo.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		<-drained
		if err != nil {
			t.Fatalf("demo exited with %v after Ctrl-C:\n%s%s", err, head, tail.String())
		}
	case <-time.After(time.Minute):
		demo.Process.Kill()
		t.Fatal("demo did not stop within a minute of Ctrl-C")
	}
	piiInLogs(t, filepath.Join(dir, "stack.log"))
	// The stack and the worker are gone: the Temporal address no longer answers.
	if err := exec.Command(temporalBin, "workflow", "list", "--address", address, "--command-timeout", "2s").Run(); err == nil {
		t.Errorf("Temporal at %s still answers after the demo stopped", address)
	}
}

// Email addresses, and phone numbers as people and the demo's data write them
// (E.164, or national with separators: 9 or more digits in one run).
var (
	emailLike = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}`)
	uuidLike  = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	phoneLike = regexp.MustCompile(`\+[1-9][0-9]{7,14}\b|\b[0-9]{2,4}[ .-][0-9]{2,4}[ .-][0-9]{2,4}[ .-]?[0-9]{0,4}\b|\([0-9]{2,4}\) ?[0-9]{2,4}[ .-][0-9]{2,4}\b`)
)

// piiInLogs fails the test for every email address or phone number in the
// log file of a demo run: the worker's, the API's, PostgreSQL's, the Temporal
// dev server's and the BigQuery emulator's logs all go there.
func piiInLogs(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"level":"DEBUG"`)) {
		t.Errorf("%s has no debug lines: was LOG_LEVEL=debug honoured?", path)
	}
	for _, f := range piiIn(b) {
		t.Errorf("%s:%s", filepath.Base(path), f)
	}
}

// piiIn lists the email addresses and phone numbers in log, with their lines.
func piiIn(log []byte) []string {
	var found []string
	for i, line := range strings.Split(string(log), "\n") {
		line = uuidLike.ReplaceAllString(line, "<uuid>") // run and contact ids: digit groups, not phones
		for _, re := range []*regexp.Regexp{emailLike, phoneLike} {
			for _, m := range re.FindAllString(line, -1) {
				if re == phoneLike && !phoneDigits(m) {
					continue
				}
				found = append(found, fmt.Sprintf("%d holds %q: %.300s", i+1, m, line))
			}
		}
	}
	return found
}

func TestPIIGrepFindsWhatALeakWouldLookLike(t *testing.T) {
	leaks := []string{
		`{"level":"DEBUG","msg":"upsert","email":"Grace.Hopper@Example.org"}`,
		`2026-12-02 10:00:00.123 UTC [42] ERROR: duplicate key value violates unique constraint DETAIL: Key (value)=(+4741234567) already exists.`,
		`{"level":"INFO","msg":"sms","to":"412 34 567"}`,
		`{"level":"INFO","phone":"(555) 010-0199"}`,
	}
	for _, l := range leaks {
		if len(piiIn([]byte(l))) == 0 {
			t.Errorf("the grep misses the leak in %s", l)
		}
	}
	clean := `{"time":"2026-12-02T10:59:32.123456789Z","level":"DEBUG","msg":"load","rows":1796209297364905279,"took":"47.273741164s","addr":"127.0.0.1:43947","RunID":"01a2369f-8744-7229-8316-b08c248bde41"}`
	if f := piiIn([]byte(clean)); len(f) > 0 {
		t.Errorf("the grep flags a clean line: %v", f)
	}
}

// phoneDigits tells a phone number from a date, a time or a counter: 8 to 15
// digits not in a date-time's shape.
func phoneDigits(s string) bool {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n >= 8 && n <= 15 && !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`).MatchString(s)
}
