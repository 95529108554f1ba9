#!/usr/bin/env bash
# Measures the CRM webhook endpoint's accept rate and latency beside bare
# StartWorkflow calls of the same workflow against the same Temporal dev server,
# in alternating rounds, and writes docs/benchmarks/webhooks.md.
#
#   tools/bench/webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
out=$(go test -run '^$' -bench WebhookVsBareStart -benchtime 1x -timeout 20m ./httpapi | tee /dev/stderr | grep '^BenchmarkWebhookVsBareStart')
wr=$(metric webhook_per_s); br=$(metric bare_start_per_s)
w50=$(metric webhook_p50_ms); b50=$(metric bare_start_p50_ms)
w99=$(metric webhook_p99_ms); b99=$(metric bare_start_p99_ms)
{
  echo "## CRM webhooks: accept rate beside bare StartWorkflow"
  echo
  echo "Machine: $(machine). Temporal CLI dev server"
  echo "(SQLite) and PostgreSQL started by the benchmark, a worker running the started syncs."
  echo "\`go test -bench WebhookVsBareStart ./httpapi\`: 3 alternating rounds per mode of 400 operations"
  echo "at concurrency 16. Webhook = a signed HubSpot-style delivery of one event over HTTP,"
  echo "verified, its CRMSync start made durable, answered 200. Bare = \`client.ExecuteWorkflow\`"
  echo "of the same workflow with the same options. Rates are the median round; latencies over all operations."
  echo
  echo "| | accepted/s | p50 ms | p99 ms |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| webhook | $wr | $w50 | $w99 |"
  echo "| bare StartWorkflow | $br | $b50 | $b99 |"
  echo
  echo "Webhook rate: **$(awk -v a="$wr" -v b="$br" 'BEGIN{printf "%.0f", 100*a/b}')%** of the bare start rate (target ≥ 80%);"
  echo "webhook p99: **$(awk -v a="$w99" -v b="$b99" 'BEGIN{printf "%.2f", a/b}')×** the bare p99 (target < 2×)."
  echo "The server, not Kith, is the limit here: each start is a durable SQLite write on this machine."
} > docs/benchmarks/webhooks.md
echo "wrote docs/benchmarks/webhooks.md" >&2
