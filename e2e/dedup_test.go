package e2e_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/dedup"
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

	// Written with the mess real lists have (dedup.WriteCSV), in the list's region.
	path, fileRef := writeList(t, labeled)
	start := time.Now()
	out, err := e.cmd("starter", "import", "-region", "NO", "-batch", "1000", path).CombinedOutput()
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

	// Each labelled row's contact now (merges followed).
	clusters, contacts := rowClusters(t, e, labeled, fileRef)
	product := dedup.Evaluate(labeled, &dedup.Result{ClusterOf: clusters})

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
