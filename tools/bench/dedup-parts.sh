#!/usr/bin/env bash
# Resolves one generated list in one process and in parts over two worker
# processes (the Deduplicate workflow, through the product), and with
# KITH_BENCH_DEDUP_LARGE a larger list in parts only; writes
# docs/benchmarks/dedup-parts.md.
#
#   tools/bench/dedup-parts.sh   (KITH_BENCH_DEDUP_RECORDS, default 1000000; KITH_BENCH_DEDUP_LARGE, default none)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
n=${KITH_BENCH_DEDUP_RECORDS:-1000000}
large=${KITH_BENCH_DEDUP_LARGE:-0}
raw=$(KITH_BENCH_DEDUP_RECORDS=$n KITH_BENCH_DEDUP_LARGE=$large go test -run '^$' -bench PartitionedDedup -benchtime 1x -timeout 600m ./e2e | tee /dev/stderr)
out=$(grep '^BenchmarkPartitionedDedup' <<<"$raw")
lines=$(grep -E 'one process|parts' <<<"$raw" | sed 's/^ *partition_bench_test.go:[0-9]*: //')
{
  echo "## De-duplication in parts over two workers, beside one process"
  echo
  echo "Machine: $(machine). PostgreSQL, the Temporal dev server and worker processes as in the e2e tests, all on these cores."
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
} > docs/benchmarks/dedup-parts.md
echo "wrote docs/benchmarks/dedup-parts.md" >&2
