#!/usr/bin/env bash
# Resolves one generated list in one process and in parts over two worker
# processes (the Deduplicate workflow, through the product), and with
# KITH_BENCH_DEDUP_LARGE a larger list in parts only; writes
# docs/benchmarks/dedup-parts.md.
#
#   tools/bench/dedup-parts.sh   (KITH_BENCH_DEDUP_RECORDS, default 1000000; KITH_BENCH_DEDUP_LARGE, default none;
#                                 KITH_BENCH_SAVED=FILE: write the section from a saved run's output instead)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
n=${KITH_BENCH_DEDUP_RECORDS:-1000000}
# PostgreSQL as a production server would be set for a list this size (a
# quarter of the machine's memory for its buffers), not the test stack's 128 MB.
export KITH_PG_SETTINGS=${KITH_PG_SETTINGS:-shared_buffers=4GB}
large=${KITH_BENCH_DEDUP_LARGE:-0}
if [ -n "${KITH_BENCH_SAVED:-}" ]; then
  raw=$(cat "$KITH_BENCH_SAVED") # the output of a run made before with the same settings
else
  raw=$(KITH_BENCH_DEDUP_RECORDS=$n KITH_BENCH_DEDUP_LARGE=$large go test -run '^$' -bench PartitionedDedup -benchtime 1x -timeout 600m ./e2e | tee /dev/stderr)
fi
out=$(grep '^BenchmarkPartitionedDedup' <<<"$raw")
lines=$(grep -E 'one process|parts' <<<"$raw" | sed 's/^ *partition_bench_test.go:[0-9]*: //')
{
  echo "## De-duplication in parts over two workers, beside one process"
  echo
  echo "Machine: $(machine). PostgreSQL (settings: $KITH_PG_SETTINGS), the Temporal dev server and worker processes as in the e2e tests, all on these cores."
  echo "\`KITH_BENCH_DEDUP_RECORDS=$n KITH_BENCH_DEDUP_LARGE=$large go test -bench PartitionedDedup ./e2e\`: the \"hard\" generated"
  echo "set (seed 42) written as a messy CSV and imported with \`starter import\`; then the Deduplicate workflow over two copies"
  echo "of that database: one worker in one process (\`KITH_DEDUP_PARTS=1\`), and two worker processes with the product's"
  echo "parts of 100,000 contacts. Wall time is the workflow's, all rounds and merges included; peak RSS is each worker's"
  echo "VmHWM; \"by step\" adds up each activity's time (parts running side by side add up to more than the wall time)."
  echo
  echo "| | wall s | peak RSS MiB (largest worker) |"
  echo "| --- | ---: | ---: |"
  echo "| one process | $(metric single_s) | $(metric single_peak_MiB) |"
  echo "| parts over two workers | $(metric parts_s) | $(metric parts_peak_MiB) |"
  if [ "$large" -gt 0 ]; then
    echo "| $(printf "%'d" "$large") records in parts over two workers | $(metric large_s) | $(metric large_peak_MiB) |"
  fi
  echo
  echo '```'
  echo "$lines"
  echo '```'
  echo
  echo "State on 2026-12-02 (session 12): the issue's target, 10,000,000 records in parts over two workers in ≤ 15 minutes"
  echo "with ≤ 2 GiB a worker, is not met and the 10M run not made. At 1,000,000 records the parts' activities added up to"
  echo "about 9 minutes for 792,000 contacts (histograms 1m51s, model 23s, scoring 3m42s, merges 3m12s), two at a time on"
  echo "two cores shared with PostgreSQL: 0.7 ms of activity time a contact, so ten times the list would take about 45"
  echo "minutes as the code stands (and its import about as long again). Against one process the"
  echo "parts' clusters scored F1 0.998 at 1M (0.9994–1.0 on the e2e test's 3,000 contacts and 0.9998 at 200,000): both"
  echo "equally close to the truth (0.9669 and 0.9667), the difference comes from the parts' model (u from a sample)."
} > docs/benchmarks/dedup-parts.md
echo "wrote docs/benchmarks/dedup-parts.md" >&2
