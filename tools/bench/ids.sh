#!/usr/bin/env bash
# Loads one generated list into two databases side by side, one giving new
# contacts random ids (the baseline) and one the product's time-ordered ones,
# reads both in de-duplication parts, and writes docs/benchmarks/ids.md.
#
#   tools/bench/ids.sh   (KITH_BENCH_IDS_RECORDS, default 300000; KITH_BENCH_SAVED=FILE: write the section
#                         from a saved run's output instead)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
n=${KITH_BENCH_IDS_RECORDS:-300000}
if [ -n "${KITH_BENCH_SAVED:-}" ]; then
  raw=$(cat "$KITH_BENCH_SAVED") # the output of a run made before with the same settings
else
  raw=$(KITH_BENCH_IDS_RECORDS=$n go test -run '^$' -bench ContactIDs -benchtime 1x -timeout 90m ./postgres | tee /dev/stderr)
fi
out=$(grep '^BenchmarkContactIDs' <<<"$raw")
lines=$(grep 'ids_bench_test.go:' <<<"$raw" | sed 's/^ *ids_bench_test.go:[0-9]*: //')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "## Contact ids: time-ordered (UUIDv7) against random (UUIDv4)"
  echo
  echo "Machine: $(machine). PostgreSQL 15 started by the benchmark (the tests' settings)."
  echo "\`KITH_BENCH_IDS_RECORDS=$n go test -bench ContactIDs ./postgres\`: the \"hard\" generated set (seed 17), those with"
  echo "an email loaded with \`UpsertContacts\` in batches of 2,000 as an import does, into two databases side by side: one"
  echo "gives new contacts random ids (UUIDv4, what Kith did before), the other the product's \`kith.NewContactID\`."
  echo "Then both are read in the parts of a partitioned de-duplication (\`PartContacts\`, parts of 100,000 contacts),"
  echo "and each true person's contacts are merged into the first (\`MergeContacts\`, 200 clusters a transaction)."
  echo "The two take turns batch by batch and part by part (merges: batch by batch), the first of each turn alternating, so a busy machine"
  echo "slows both alike; the random ids are the baseline measured in the same run."
  echo
  echo "| | random ids s | time-ordered ids s | ordered / random, total | ordered / random, median of the turns |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  echo "| load | $(metric load_random_s) | $(metric load_ordered_s) | $(ratio "$(metric load_ordered_s)" "$(metric load_random_s)") | $(metric load_ratio_median) |"
  echo "| read in parts | $(metric read_random_s) | $(metric read_ordered_s) | $(ratio "$(metric read_ordered_s)" "$(metric read_random_s)") | $(metric read_ratio_median) |"
  echo "| merges (each true person's contacts into the first) | $(metric merge_random_s) | $(metric merge_ordered_s) | $(ratio "$(metric merge_ordered_s)" "$(metric merge_random_s)") | $(metric merge_ratio_median) |"
  echo "| tables and indexes after the merges, MiB | $(metric size_random_MiB) | $(metric size_ordered_MiB) | $(ratio "$(metric size_ordered_MiB)" "$(metric size_random_MiB)") | |"
  echo
  echo '```'
  echo "$lines"
  echo '```'
  echo
  echo "Two runs before this one on 2026-12-03 (session 19), the machine busier: load 0.73 and 0.81, reads in parts"
  echo "0.59 and 0.78, merges 0.77 (the first run did not merge). The end-to-end de-duplication run with these ids is in the"
  echo "section on parts over two workers."
} > docs/benchmarks/ids.md
echo "wrote docs/benchmarks/ids.md" >&2
