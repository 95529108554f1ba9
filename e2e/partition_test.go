package e2e_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/workflows"
)

// TestPartitionedDedupGivesTheSameClusters imports one generated list into
// four databases and de-duplicates it with the Deduplicate workflow: in one
// process, then split into 8 parts of the key space with one worker, with two
// worker processes, and with two of which one is killed while it runs a part.
// Every partitioned run must give the single process's clusters (pairwise F1
// between them ≥ 0.999).
func TestPartitionedDedupGivesTheSameClusters(t *testing.T) {
	labeled := dedup.Generate(4000, dedup.Difficulties["hard"], 42)
	ctx := context.Background()
	c := temporalClient(t)

	// The list is imported once; each run resolves a copy of that database,
	// so all of them see the same contacts with the same ids. resolve
	// returns each row's contact afterwards.
	base, fileRef, _ := importedOnce(t, labeled, "1000")
	resolve := func(t *testing.T, parts string, workers int, kill bool, history string) (map[string]string, activities.DedupSummary) {
		e := newEnvFrom(t, base.name, "")
		e.vars = append(e.vars, "KITH_DEDUP_PARTS="+parts)
		var ws []*exec.Cmd
		for range workers {
			ws = append(ws, e.startWorker())
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "dedup/" + t.Name(), TaskQueue: workflows.TaskQueue}, workflows.DeduplicateName)
		if err != nil {
			t.Fatal(err)
		}
		if kill {
			victim := fmt.Sprintf("%d@", ws[0].Process.Pid)
			waitFor(t, "the first worker to run a part", 2*time.Minute, func() bool {
				d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
				if err != nil {
					return false
				}
				for _, a := range d.PendingActivities {
					if strings.HasPrefix(a.LastWorkerIdentity, victim) && a.ActivityType.GetName() == "ScorePart" {
						return true
					}
				}
				return false
			})
			if err := ws[0].Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed worker %d while it scored a part", ws[0].Process.Pid)
		}
		var s activities.DedupSummary
		wait, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := run.Get(wait, &s); err != nil {
			t.Fatal(err)
		}
		if history != "" {
			recordHistory(t, run.GetID(), run.GetRunID(), history)
		}
		out, _ := rowClusters(t, e, labeled, fileRef)
		var links, queued int
		e.store.DB().Get(&queued, `SELECT count(*) FROM merge_reviews`)
		t.Logf("%d pairs in the review queue", queued)
		e.store.DB().Get(&links, `SELECT count(*) FROM dedup_links`)
		if links != 0 {
			t.Errorf("%d links left behind", links)
		}
		// The run's figure is its merge records', a retried part's included.
		if recorded := e.count(`SELECT count(*) FROM merges WHERE actor = 'dedup'`); recorded != s.Merges {
			t.Errorf("the run says %d merged, its merge records %d", s.Merges, recorded)
		}
		return out, s
	}

	var single map[string]string
	t.Run("one process", func(t *testing.T) {
		var s activities.DedupSummary
		single, s = resolve(t, "1", 1, false, "")
		t.Logf("one process: %d contacts, %d merged in %d rounds, %d pairs to review, %.1f comparisons per record",
			s.Contacts, s.Merges, s.Rounds, s.Review, s.Stats.PerRecord)
	})
	if single == nil {
		t.FailNow()
	}
	ids, entities := asTruth(labeled, single)
	for _, tc := range []struct {
		name    string
		workers int
		kill    bool
		history string
	}{{"8 parts, one worker", 1, false, ""}, {"8 parts, two workers", 2, false, "deduplicate_round_parts.json"}, {"8 parts, a worker killed", 2, true, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			got, s := resolve(t, "8", tc.workers, tc.kill, tc.history)
			ev := dedup.EvaluateIDs(ids, entities, &dedup.Result{ClusterOf: got})
			t.Logf("%s: %d merged in %d rounds, %d pairs to review, %.1f comparisons per record; against one process: F1 %.5f (precision %.5f, recall %.5f over %d pairs)",
				tc.name, s.Merges, s.Rounds, s.Review, s.Stats.PerRecord, ev.F1, ev.Precision, ev.Recall, ev.TruePairs)
			if s.Parts != 8 {
				t.Errorf("the run had %d parts, want 8", s.Parts)
			}
			if ev.TruePairs == 0 || ev.F1 < 0.999 {
				t.Errorf("pairwise F1 against the single process %.5f, want ≥ 0.999", ev.F1)
			}
		})
	}
}
