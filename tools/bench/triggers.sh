#!/usr/bin/env bash
# Measures personalization triggers end to end (event → rule → consent check →
# delivery → ESP simulator) beside bare Signal-With-Start calls on the same
# Temporal dev server, and writes docs/benchmarks/triggers.md.
#
#   tools/bench/triggers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
out=$(go test -run '^$' -bench TriggersVsBareSignal -benchtime 1x -timeout 30m ./httpapi | tee /dev/stderr | grep '^BenchmarkTriggersVsBareSignal')
tr=$(metric trigger_events_per_s); br=$(metric bare_signals_per_s); pct=$(metric trigger_pct_of_bare)
calls=$(metric bare_calls_answered_per_s)
p50=$(metric event_to_esp_p50_ms); p99=$(metric event_to_esp_p99_ms); load=$(metric latency_load_events_per_s)
callpct=$(awk -v t="$tr" -v c="$calls" 'BEGIN{printf "%.1f", 100*t/c}')
verdict="met"
awk -v p="$pct" -v l="$p99" 'BEGIN{exit !(p >= 80 && l < 2000)}' || verdict="not met"
{
  echo "## Personalization triggers: event to ESP, beside bare Signal-With-Start"
  echo
  echo "Machine: $(machine). Temporal CLI dev server (SQLite), PostgreSQL and the ESP"
  echo "simulator started by the benchmark; the worker runs in the benchmark's process."
  echo "\`go test -bench TriggersVsBareSignal ./httpapi\`: a zero-wait rule; 5 rounds of 200 subscribed contacts, each sent"
  echo "one triggering event by Signal-With-Start (as the event relay does) at concurrency 16, the round timed until the"
  echo "ESP simulator has received every message (the rule evaluated in ContactLifecycle, consent checked again in"
  echo "PostgreSQL, the delivery recorded, Mail Send) and every workflow task is done; each round followed by 200 bare"
  echo "Signal-With-Start calls of the same workflow with an event no rule takes, timed until their workflow tasks are"
  echo "done too. Medians of rounds. Latency (event sent → ESP received) is measured afterwards over 100 events at a"
  echo "steady ${load} events/s, a quarter of the trigger rate, so it is not a burst's queue."
  echo
  echo "| | events/s |"
  echo "| --- | ---: |"
  echo "| triggered, end to end | $tr |"
  echo "| bare Signal-With-Start, sustained (workflow task done) | $br |"
  echo "| bare Signal-With-Start, calls answered only | $calls |"
  echo
  echo "Triggered events run at **${pct}%** of the sustained bare rate; event → ESP latency p50 **${p50} ms**, p99 **${p99} ms**."
  echo "Target ≥ 80% and p99 < 2 s: **${verdict}**. Against the calls answered only, which leave their workflow tasks"
  echo "queued behind the clock (a backlog that grows at that rate, so not a sustained one): ${callpct}%."
  echo
  echo "Why these end points: until 2026-12-02 the bare round stopped its clock when the calls were answered, and the"
  echo "200 workflow tasks it left queued ran during the next trigger round and the latency run: that is where the"
  echo "4–5 s p99 came from (41% of the bare rate, p99 3.8 s with the same code). Each new contact's first workflow task"
  echo "also wrote six visibility updates (three version markers each upsert TemporalChangeVersion, and a zero-wait"
  echo "trigger was published as pending and then cleared); runs begun since \`one-version-marker\` write two. The delivery"
  echo "runs as a local activity in the workflow task that decides it (a regular activity measured 16% of the bare"
  echo "rate: three more server round trips per message)."
} > docs/benchmarks/triggers.md
echo "wrote docs/benchmarks/triggers.md" >&2
