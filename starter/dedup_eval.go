package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/kithhq/kith/dedup"
)

// runDedupEval generates labeled contacts, resolves them and prints how well and
// how fast: pairwise precision, recall and F1, cluster metrics, comparisons per
// record, wall time and peak memory. With -incremental it then adds that share of
// new records to the resolved index and times that alone.
func runDedupEval(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("dedup-eval", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	n := fs.Int("n", 100000, "how many contacts to generate")
	difficulty := fs.String("difficulty", "hard", "generator setting: easy or hard")
	seed := fs.Uint64("seed", 42, "generator seed")
	incremental := fs.Float64("incremental", 0, "then add this share of new records (e.g. 0.01) incrementally")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	d, ok := dedup.Difficulties[*difficulty]
	if !ok {
		return usagef("-difficulty must be easy or hard")
	}
	if *n < 2 {
		return usagef("-n must be at least 2")
	}
	extra := int(float64(*n) * *incremental)
	all := dedup.Generate(*n+extra, d, *seed)
	cut := min(*n, len(all))
	ids, entities, tags := make([]string, len(all)), make([]int, len(all)), make([]dedup.Tag, len(all))
	for i := range all {
		ids[i], entities[i], tags[i] = all[i].ID, all[i].Entity, all[i].Tags
	}
	records, added := dedup.Records(all[:cut]), dedup.Records(all[cut:])
	all = nil // only the records and the labels are kept
	runtime.GC()

	start := time.Now()
	idx := dedup.NewIndex(records, dedup.Config{})
	res := idx.Result()
	elapsed := time.Since(start)
	ev := dedup.EvaluateIDs(ids[:cut], entities[:cut], res)
	st := res.Stats
	fmt.Fprintf(e.stdout, "records %d (%s, seed %d)\n", st.Records, *difficulty, *seed)
	fmt.Fprintf(e.stdout, "pairwise: precision %.4f  recall %.4f  F1 %.4f  (%d true pairs, %d predicted, %d correct)\n",
		ev.Precision, ev.Recall, ev.F1, ev.TruePairs, ev.PredictedPairs, ev.CorrectPairs)
	fmt.Fprintf(e.stdout, "by difficulty (pairs with at least one record showing it):\n")
	for _, te := range dedup.EvaluateTags(ids[:cut], entities[:cut], tags[:cut], res) {
		recall := fmt.Sprintf("%.4f", te.Recall)
		if te.TruePairs == 0 {
			recall = "  n/a " // look-alikes: other people, with no true pairs
		}
		fmt.Fprintf(e.stdout, "  %-17s %7d records  precision %.4f  recall %s  (%d true pairs, %d predicted, %d correct)\n",
			te.Tag, te.Records, te.Precision, recall, te.TruePairs, te.PredictedPairs, te.CorrectPairs)
	}
	fmt.Fprintf(e.stdout, "clusters: %d people with several records, %d resolved into exactly their own cluster (%.1f%%)\n",
		ev.MultiRecordPeople, ev.ExactClusters, 100*float64(ev.ExactClusters)/float64(max(ev.MultiRecordPeople, 1)))
	fmt.Fprintf(e.stdout, "work: %d comparisons (%.2f per record), %d oversized blocks windowed, %d links, %d pairs for review, %d clusters, %d split off chains\n",
		st.Comparisons, st.PerRecord, st.OversizedBlocks, st.Links, st.Review, st.Clusters, st.Split)
	fmt.Fprintf(e.stdout, "time: %.2f s end to end (blocking, scoring, clustering, golden records) on %d cores; peak RSS %s\n",
		elapsed.Seconds(), runtime.GOMAXPROCS(0), peakRSS())

	if len(added) > 0 {
		before := make(map[string]string, len(res.ClusterOf))
		for id, c := range res.ClusterOf {
			before[id] = c
		}
		start := time.Now()
		res2 := idx.Add(added)
		inc := time.Since(start)
		changed := 0
		for id, c := range before {
			if res2.ClusterOf[id] != c {
				changed++
			}
		}
		ev2 := dedup.EvaluateIDs(ids, entities, res2)
		fmt.Fprintf(e.stdout, "incremental: %d new records in %.2f s (%.1f%% of the full run); %d existing records changed cluster; F1 after %.4f\n",
			len(added), inc.Seconds(), 100*inc.Seconds()/elapsed.Seconds(), changed, ev2.F1)
	}
	return nil
}

// peakRSS is this process's peak resident memory (Linux VmHWM).
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
