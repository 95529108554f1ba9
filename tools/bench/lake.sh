#!/usr/bin/env bash
# Measures the raw lake's archive (the LakeArchive activity: seal lines in
# PostgreSQL, read them, encode gzipped NDJSON, upload to fake-gcs-server)
# beside bare uploads of the same objects in the same run, and writes
# docs/benchmarks/lake.md.
#
#   tools/bench/lake.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/bench/common.sh
lines=${KITH_BENCH_LAKE_LINES:-50000}
per=${KITH_BENCH_LAKE_OBJECT:-5000}
rounds=${KITH_BENCH_LAKE_ROUNDS:-5}
raw=$(KITH_BENCH_LAKE_LINES=$lines KITH_BENCH_LAKE_OBJECT=$per KITH_BENCH_LAKE_ROUNDS=$rounds \
  go test -run '^$' -bench Archive -benchtime 1x -timeout 30m ./lake | tee /dev/stderr)
out=$(grep '^BenchmarkArchive' <<<"$raw")
{
  echo "## Raw lake: archive throughput"
  echo
  echo "Machine: $(machine). PostgreSQL 15 and fake-gcs-server (memory backend, loopback) started by the benchmark."
  echo "\`go test -bench Archive ./lake\`: $lines lines of events API batches ($(metric payload_bytes/line) bytes of JSON each,"
  echo "$(metric gzip_bytes/line) bytes gzipped) spooled, then archived in objects of $per lines by the \`ArchiveSpool\` activity."
  echo "Beside it, in the same rounds, the same objects' bytes uploaded bare, and the same lines encoded and uploaded from memory."
  echo "Medians of $rounds alternating rounds."
  echo
  echo "| | lines per second |"
  echo "| --- | ---: |"
  echo "| archive (seal, read, encode, upload, record) | $(metric archive_lines/s) |"
  echo "| bare upload of the same gzipped bytes | $(metric bare_upload_lines/s) |"
  echo "| the same lines encoded and uploaded from memory | $(metric memory_upload_lines/s) |"
  echo "| spooling (the request path's insert, 500 lines a statement) | $(metric spool_lines/s) |"
  echo
  echo "The archive runs at **$(metric pct_of_bare)% of the bare upload** and $(metric pct_of_memory)% of encoding and"
  echo "uploading from memory. **The issue's target (70% of a bare upload) is not met.** Where the archive's time goes:"
  echo "sealing $(metric pct_seal)%, reading the lines from PostgreSQL $(metric pct_read)%, encoding $(metric pct_encode)%,"
  echo "uploading $(metric pct_upload)%. On loopback the emulator takes an object of $per lines in"
  echo "$(awk -v r="$(metric bare_upload_lines/s)" -v n="$per" 'BEGIN { printf "%.0f", 1000 * n / r }') ms, so the bare upload"
  echo "measures little more than an HTTP round trip, and the spool's PostgreSQL work (which is what makes the archive durable"
  echo "and exactly-once) is the floor. Against real GCS, where an upload costs tens of milliseconds, the ratio is higher;"
  echo "not measured here."
  echo
  echo "Sealing by id ranges (2026-12-02) replaced updating every line twice (its object, then archived): on a repetitive"
  echo "test set of 345-byte events, 25,000 lines/s before, 83,000-95,000 after."
} > docs/benchmarks/lake.md
echo "wrote docs/benchmarks/lake.md" >&2
