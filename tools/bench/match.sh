#!/usr/bin/env bash
# Measures matching one new contact on write against about 1,000,000 stored
# contacts (1,450,000 generated records; KITH_BENCH_MATCH_RECORDS to change it)
# beside reading one contact by id in the same run, and writes
# docs/benchmarks/match.md.
#
#   tools/bench/match.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
n=${KITH_BENCH_MATCH_RECORDS:-1450000}
raw=$(KITH_BENCH_MATCH_RECORDS=$n go test -run '^$' -bench MatchOnWrite -benchtime 1x -timeout 90m ./postgres | tee /dev/stderr)
out=$(grep '^BenchmarkMatchOnWrite' <<<"$raw")
store=$(grep 'store:' <<<"$raw" | sed 's/.*store: //')
{
  echo "## Match on write: one new contact against the contacts of $(printf "%'d" "$n") generated records"
  echo
  echo "Machine: $(machine). PostgreSQL 15 started by the benchmark."
  echo "\`KITH_BENCH_MATCH_RECORDS=$n go test -bench MatchOnWrite ./postgres\`: the \"hard\" generated set (seed 7), those"
  echo "with an email imported with \`UpsertContacts\` as a list is (keys written in the same transactions); the model"
  echo "estimated from the stored records and stored, as the nightly run does; every 1000th generated record held out,"
  echo "then written as a new contact and matched alone (\`Matcher.MatchContact\`: candidates from \`contact_keys\`,"
  echo "at most 40 per key, with their source records and decisions; scored; merged or queued). Baseline in the same"
  echo "run: reading one contact by id (\`Store.Contact\`). Target: match p99 < 50 ms."
  echo
  echo "| | p50 ms | p99 ms |"
  echo "| --- | ---: | ---: |"
  echo "| match on write | $(metric match_p50_ms) | $(metric match_p99_ms) |"
  echo "| read one contact (baseline) | $(metric read_p50_ms) | $(metric read_p99_ms) |"
  echo
  echo "Store and run: $store."
} > docs/benchmarks/match.md
echo "wrote docs/benchmarks/match.md" >&2
