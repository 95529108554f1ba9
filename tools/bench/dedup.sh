#!/usr/bin/env bash
# De-duplicates 1,000,000 generated contacts end to end, then adds 1% new ones
# incrementally, and writes the numbers to docs/benchmarks/dedup.md.
#
#   tools/bench/dedup.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o bin/ ./starter
cmd="bin/starter dedup-eval -n 1000000 -incremental 0.01"
out=$($cmd | tee /dev/stderr)
small=$(bin/starter dedup-eval -n 100000 | tee /dev/stderr)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  echo "## dedup: 1,000,000 contacts end to end"
  echo
  echo "Machine: $(nproc) cores, ${cpu}; $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%d). One run of"
  echo "\`$cmd\` (generator setting \"hard\", seed 42); wall time covers blocking, scoring,"
  echo "clustering and golden records (not generating the data). Targets: ≤ 60 s, ≤ 150 comparisons"
  echo "per record, peak RSS ≤ 2 GiB (the peak printed is the process's, generated data included), F1 ≥ 0.97."
  echo
  echo "The \"hard\" setting gained named difficulties on 2026-12-02 (#17: twins, junior/senior, namesakes, sparse"
  echo "records, unrepaired emails; swapped names 3% → 5%). On the old setting this run measured F1 0.9742; on the new"
  echo "one the model before the household-aware changes measured 0.9309 at 100,000 (twins, juniors and namesakes"
  echo "all merged), the current one 0.971 at 100,000 and 0.967 at 1,000,000 (in a larger list the prior of a match is smaller, so more true pairs stay under the threshold). Look-alikes have no true pairs: their line counts the pairs wrongly merged."
  echo '```'
  echo "$out"
  echo '```'
  echo
  echo "The same at 100,000 contacts (\`bin/starter dedup-eval -n 100000\`):"
  echo
  echo '```'
  echo "$small"
  echo '```'
} > docs/benchmarks/dedup.md
echo "wrote docs/benchmarks/dedup.md" >&2
