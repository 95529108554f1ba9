package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/dedup"
	"github.com/kithhq/kith/workflows"
)

// BenchmarkPartitionedDedup resolves one generated list (KITH_BENCH_DEDUP_RECORDS
// records of the "hard" set, default 20,000), imported with starter import, with
// the Deduplicate workflow twice over copies of that database: in one process
// (one worker, KITH_DEDUP_PARTS=1), and in parts of KITH_BENCH_DEDUP_PART_SIZE
// contacts (default 100,000, the product's) over two worker processes. It
// reports wall time, comparisons per contact and each worker's peak resident
// memory (VmHWM), and the pairwise F1 of the partitioned clusters against the
// single process's.
func BenchmarkPartitionedDedup(b *testing.B) {
	n := envInt("KITH_BENCH_DEDUP_RECORDS", 20000)
	partSize := envInt("KITH_BENCH_DEDUP_PART_SIZE", activities.DefaultPartSize)
	labeled := dedup.Generate(n, dedup.Difficulties["hard"], 42)
	ctx := context.Background()
	c := temporalClient(b)

	base, fileRef, imported := importedOnce(b, labeled, "5000")
	contacts := base.count(`SELECT count(*) FROM contacts WHERE status = 'active'`)

	type outcome struct {
		took    time.Duration
		sum     activities.DedupSummary
		rss     []int64 // peak resident memory of each worker, bytes
		cluster map[string]string
		phases  string
	}
	resolve := func(name string, env []string, workers int) outcome {
		e := newEnvFrom(b, base.name, name)
		e.vars = append(e.vars, env...)
		e.vars = append(e.vars, "KITH_METRICS_ADDR=127.0.0.1:0")
		var ws []*exec.Cmd
		for range workers {
			ws = append(ws, e.startWorker())
		}
		start := time.Now()
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "dedup-bench/" + name, TaskQueue: workflows.TaskQueue}, workflows.DeduplicateName)
		if err != nil {
			b.Fatal(err)
		}
		var o outcome
		if err := wr.Get(ctx, &o.sum); err != nil {
			b.Fatal(err)
		}
		o.took = time.Since(start)
		o.phases = phases(b, c, wr.GetID(), wr.GetRunID())
		for _, w := range ws {
			o.rss = append(o.rss, peakRSS(w.Process.Pid))
			stopWorker(w)
		}
		o.cluster, _ = rowClusters(b, e, labeled, fileRef)
		return o
	}
	var single, parted outcome
	for b.Loop() {
		single = resolve("single", []string{"KITH_DEDUP_PARTS=1"}, 1)
		parted = resolve("parts", []string{"KITH_DEDUP_PARTS=0", fmt.Sprintf("KITH_DEDUP_PART_SIZE=%d", partSize)}, 2)
	}
	b.StopTimer()
	ids, entities := asTruth(labeled, single.cluster)
	ev := dedup.EvaluateIDs(ids, entities, &dedup.Result{ClusterOf: parted.cluster})
	mib := func(x int64) float64 { return float64(x) / (1 << 20) }
	b.ReportMetric(single.took.Seconds(), "single_s")
	b.ReportMetric(parted.took.Seconds(), "parts_s")
	b.ReportMetric(mib(single.rss[0]), "single_peak_MiB")
	b.ReportMetric(mib(max(parted.rss[0], parted.rss[1])), "parts_peak_MiB")
	b.ReportMetric(ev.F1, "f1_vs_single")
	b.Logf("list: %d records, %d contacts, imported in %s", n, contacts, imported.Round(time.Second))
	for _, o := range []struct {
		name string
		o    outcome
	}{{"one process", single}, {"parts", parted}} {
		rss := make([]string, len(o.o.rss))
		for i, r := range o.o.rss {
			rss[i] = fmt.Sprintf("%.0f MiB", mib(r))
		}
		b.Logf("%s: %s; %d parts; %.1f comparisons per contact; %d merged in %d rounds; %d pairs to review; workers' peak RSS %s",
			o.name, o.o.took.Round(100*time.Millisecond), max(o.o.sum.Parts, 1), o.o.sum.Stats.PerRecord, o.o.sum.Merges, o.o.sum.Rounds,
			o.o.sum.Review, strings.Join(rss, ", "))
		b.Logf("%s, by step: %s", o.name, o.o.phases)
	}
	b.Logf("parts against one process: pairwise F1 %.5f (precision %.5f, recall %.5f)", ev.F1, ev.Precision, ev.Recall)
}

// peakRSS is a running process's peak resident memory (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// phases sums a workflow's activities by type, in the order they first ran:
// how many ran and their time added up (parts running side by side add up to
// more than the wall time).
func phases(b *testing.B, c client.Client, id, runID string) string {
	kinds := map[int64]string{}
	started := map[int64]time.Time{}
	busy := map[string]time.Duration{}
	runs := map[string]int{}
	var order []string
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		at := e.GetEventTime().AsTime()
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			kinds[e.GetEventId()] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case e.GetActivityTaskStartedEventAttributes() != nil:
			started[e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()] = at
		case e.GetActivityTaskCompletedEventAttributes() != nil:
			sched := e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
			k := kinds[sched]
			if runs[k] == 0 {
				order = append(order, k)
			}
			runs[k]++
			busy[k] += at.Sub(started[sched])
		}
	}
	var out []string
	for _, k := range order {
		out = append(out, fmt.Sprintf("%s %d× %s", k, runs[k], busy[k].Round(100*time.Millisecond)))
	}
	return strings.Join(out, ", ")
}
