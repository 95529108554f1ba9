package e2e_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/quality"
	"github.com/kithhq/kith/workflows"
)

// TestDedupThroughTheProduct measures de-duplication the way a customer meets
// it: the labelled generator's "hard" set written as a CSV (some emails wrapped
// the way forms and spreadsheets wrap them), imported with `starter import`,
// cleaned by the Cleaning workflow, and the clusters read back from the store,
// scored beside the library path on the same records. A second Cleaning must
// change nothing. KITH_DEDUP_E2E_N sets the size (tools/bench/dedup-e2e.sh
// runs 20,000; CI a smaller set).
func TestDedupThroughTheProduct(t *testing.T) {
	n := 3000
	if v := os.Getenv("KITH_DEDUP_E2E_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			t.Fatalf("KITH_DEDUP_E2E_N=%q: want a number ≥ 100", v)
		}
	}
	e := newEnv(t)
	e.startWorker()
	ctx := context.Background()
	labeled := dedup.Generate(n, dedup.Difficulties["hard"], 42)

	// The library path on the same records.
	lib := dedup.Evaluate(labeled, dedup.Resolve(dedup.Records(labeled), dedup.Config{}))

	path := filepath.Join(t.TempDir(), "hard.csv")
	writeLabelled(t, path, labeled)
	start := time.Now()
	out, err := e.cmd("starter", "import", "-batch", "1000", path).CombinedOutput()
	if err != nil {
		t.Fatalf("starter import: %v\n%s", err, out)
	}
	imported := time.Since(start)
	summary := regexp.MustCompile(`import done: .*`).Find(out)
	c := temporalClient(t)
	clean := func(id string) workflows.CleaningSummary {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.CleaningName, workflows.CleaningInput{})
		if err != nil {
			t.Fatal(err)
		}
		var sum workflows.CleaningSummary
		if err := run.Get(ctx, &sum); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return sum
	}
	start = time.Now()
	first := clean("cleaning/dedup-e2e-1")
	cleaned := time.Since(start)

	// Each labelled row's contact: found by the identity the import gave it
	// (its standardized email, or its record key), which merges move to the
	// survivor. A row that made no contact is a cluster of its own.
	ids, entities := make([]string, len(labeled)), make([]int, len(labeled))
	res := &dedup.Result{ClusterOf: map[string]string{}}
	contacts := 0
	now := time.Now()
	for i, l := range labeled {
		ids[i], entities[i] = l.ID, l.Entity
		kind, value := identityOf(l.Record, now)
		var id string
		err := e.store.DB().QueryRowContext(ctx, `SELECT contact_id::text FROM identities WHERE kind = $1 AND namespace = '' AND value = $2`, kind, value).Scan(&id)
		if err != nil {
			id = "row:" + l.ID
		} else {
			contacts++
		}
		res.ClusterOf[l.ID] = id
	}
	product := dedup.EvaluateIDs(ids, entities, res)

	var codes []struct {
		Code string `db:"code"`
		N    int    `db:"n"`
	}
	if err := e.store.DB().SelectContext(ctx, &codes, `SELECT v->>'field' || ':' || (v->>'code') AS code, count(*) AS n
		FROM quarantine, jsonb_array_elements(violations) v GROUP BY 1 ORDER BY 2 DESC, 1`); err != nil {
		t.Fatal(err)
	}
	second := clean("cleaning/dedup-e2e-2")
	line := func(name string, ev dedup.Evaluation) string {
		return fmt.Sprintf("%s: precision %.4f recall %.4f F1 %.4f (%d true pairs, %d predicted, %d correct)",
			name, ev.Precision, ev.Recall, ev.F1, ev.TruePairs, ev.PredictedPairs, ev.CorrectPairs)
	}
	for _, l := range []string{
		fmt.Sprintf("records %d (hard, seed 42), written as CSV and imported with starter import in %.1f s: %s", len(labeled), imported.Seconds(), summary),
		fmt.Sprintf("rows that became contacts: %d of %d (%.1f%%)", contacts, len(labeled), 100*float64(contacts)/float64(len(labeled))),
		fmt.Sprintf("first Cleaning in %.1f s: %d checked, %d changed, %d merges in %d rounds, %d pairs to review",
			cleaned.Seconds(), first.Standardized.Checked, first.Standardized.Changed, first.Deduplicated.Merges, first.Deduplicated.Rounds, first.Deduplicated.Review),
		line("library path (dedup.Resolve on the same records)", lib),
		line("product path (import, Cleaning, clusters read from the store)", product),
		fmt.Sprintf("quarantined values by field and code: %v", codes),
		fmt.Sprintf("second Cleaning: %d changed, %d merges, %d new pairs to review", second.Standardized.Changed, second.Deduplicated.Merges, second.Deduplicated.Review-first.Deduplicated.Review),
	} {
		fmt.Println("dedup-e2e: " + l) // tools/bench/dedup-e2e.sh reads these lines
		t.Log(l)
	}

	if second.Deduplicated.Merges != 0 || second.Standardized.Changed != 0 {
		t.Errorf("a second Cleaning right after the first changed %d contacts and merged %d: resolution did not reach a fixed point",
			second.Standardized.Changed, second.Deduplicated.Merges)
	}
	if product.F1 < 0.97 || lib.F1 < 0.97 {
		t.Errorf("F1 through the product %.4f, of the library %.4f: want ≥ 0.97 both ways", product.F1, lib.F1)
	}
	if float64(contacts) < 0.97*float64(len(labeled)) {
		t.Errorf("only %d of %d rows became contacts", contacts, len(labeled))
	}
}

// writeLabelled writes labelled records as a contacts CSV. Some emails arrive
// wrapped the way people and spreadsheets wrap them; the import repairs them.
func writeLabelled(t *testing.T, path string, labeled []dedup.Labeled) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"email", "phone", "first_name", "last_name", "birth_date", "postal_code", "city", "address", "label"})
	for i, l := range labeled {
		email := l.Email
		switch {
		case email == "":
		case i%10 == 3:
			email = fmt.Sprintf("%q <%s>", l.LastName+", "+l.FirstName, email)
		case i%10 == 7:
			email = "mailto:" + email
		case i%17 == 5:
			email = " " + email + ".\u00a0"
		}
		w.Write([]string{email, l.Phone, l.FirstName, l.LastName, l.BirthDate, l.PostalCode, l.City, l.Address, strconv.Itoa(l.Entity)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// identityOf is the identity the import gives a clean labelled record: its
// email, or without one the record key of its standardized values.
func identityOf(r dedup.Record, now time.Time) (string, string) {
	raw := map[kith.Field]string{kith.FieldEmail: r.Email, kith.FieldPhone: r.Phone, kith.FieldFirstName: r.FirstName,
		kith.FieldLastName: r.LastName, kith.FieldBirthDate: r.BirthDate, kith.FieldPostalCode: r.PostalCode,
		kith.FieldCity: r.City, kith.FieldAddress: r.Address}
	res := quality.Record(raw, quality.Options{Now: now})
	if e := res.Fields.Get(kith.FieldEmail); e != "" {
		return string(kith.IdentityEmail), e
	}
	return string(kith.IdentityRecord), kith.RecordKey(kith.SourceImport, res.Values(kith.Provenance{}, nil))
}
