#!/usr/bin/env bash
# Measures merging a generated list's duplicates into their survivors, by one
# writer and by two side by side, against the contacts of 1,000,000 generated
# records (KITH_BENCH_MERGE_RECORDS to change it), and writes
# docs/benchmarks/merges.md.
#
#   tools/bench/merges.sh   (KITH_BENCH_SAVED=FILE: write the section from a saved run's output instead)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
n=${KITH_BENCH_MERGE_RECORDS:-1000000}
if [ -n "${KITH_BENCH_SAVED:-}" ]; then
  raw=$(cat "$KITH_BENCH_SAVED") # the output of a run made before with the same settings
else
  raw=$(KITH_BENCH_MERGE_RECORDS=$n go test -run '^$' -bench MergeContacts -benchtime 1x -timeout 90m ./postgres | tee /dev/stderr)
fi
out=$(grep '^BenchmarkMergeContacts' <<<"$raw")
store=$(grep 'store:' <<<"$raw" | sed 's/.*store: //')
{
  echo "## Merges: a list's duplicates folded into their survivors"
  echo
  echo "Machine: $(machine). PostgreSQL 15 started by the benchmark."
  echo "\`KITH_BENCH_MERGE_RECORDS=$n go test -bench MergeContacts ./postgres\`: the \"hard\" generated set (seed 11),"
  echo "those with an email loaded with \`UpsertContacts\` as a list is; each true person's contacts merged into the first"
  echo "(\`MergeContacts\`, batches of 200 clusters as a de-duplication run writes them, with a golden record, the undo"
  echo "snapshot, identities, rows and blocking keys moved). The first half of the clusters by one writer, the second half"
  echo "by two side by side, as a run's merge parts do; the load of the same run beside them."
  echo
  echo "| | per second |"
  echo "| --- | ---: |"
  echo "| merges, one writer | $(metric merges/s) |"
  echo "| merges, two writers side by side | $(metric merges_2writers/s) |"
  echo "| contacts loaded (baseline: \`UpsertContacts\`, batches of 2,000) | $(metric loaded_contacts/s) |"
  echo
  echo "Store and run: $store."
  echo
  cat <<'STATE'
Since 2026-12-04 (session 24) a merge writes only the blocking keys its survivor gains, computed from the values it
folds, instead of moving every key of the merged contact through the key index. In this run merges went at 0.58 of
the load's rate by one writer and 0.81 by two (the run of 2026-12-02 before it: 0.56 and 0.78). At 1M the database is in
memory and moving the keys cost little. At 10M, larger than memory, it was a third of the merges' database time:
see "De-duplication in parts".

Before 2026-12-02 (session 12) a batch of 200 merges took about 1.2 s against a million contacts (160 merges/s
through the product): JIT compiled a recursive query whose estimate reached millions of rows (190 of 210 ms at
60,000 contacts), the source records a survivor holds were found by reading all of `contacts` (no index on
`merged_into`), and every merge recomputed its survivor's blocking keys from its records.
STATE
} > docs/benchmarks/merges.md
echo "wrote docs/benchmarks/merges.md" >&2
