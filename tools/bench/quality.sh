#!/usr/bin/env bash
# Runs the quality benchmarks and writes their medians to docs/benchmarks/quality.md,
# with the full record path compared against the bare phonenumbers parse + format it
# contains, measured in the same run.
#
#   tools/bench/quality.sh [rounds]     (default 15)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-15}
raw=$(mktemp)
bin=$(mktemp -d)/quality.test
go test -c -o "$bin" ./quality
# Rounds, not -count: every benchmark runs once per round, so the record path and
# its floor see the same machine load (this machine is shared and noisy).
for _ in $(seq "$count"); do
  (cd quality && "$bin" -test.run '^$' -test.bench . -test.benchmem) | grep '^Benchmark' | tee -a "$raw" >&2
done

# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# the value of the metric named $2 in the lines of benchmark $1
metric() { awk -v b="$1" -v m="$2" '{n=$1; sub(/-[0-9]+$/, "", n)} n==b {for (i=3;i<NF;i++) if ($(i+1)==m) print $i}' "$raw"; }

table=$(for b in $(awk '{n=$1; sub(/-[0-9]+$/, "", n); print n}' "$raw" | grep -v VsFloor | sort -u); do
  printf '| %s | %.0f | %s | %s |\n' "${b#Benchmark}" "$(metric "$b" ns/op | median)" \
    "$(metric "$b" B/op | tail -1)" "$(metric "$b" allocs/op | tail -1)"
done)
paired() { # $1 benchmark: median floor ns, record ns, ratio
  printf '%.0f %.0f %.3f' "$(metric "$1" floor-ns/op | median)" "$(metric "$1" record-ns/op | median)" \
    "$(metric "$1" record/floor | median)"
}
read -r f1 r1 q1 <<<"$(paired BenchmarkRecordVsFloor)"
read -r f2 r2 q2 <<<"$(paired BenchmarkRecordVsFloorMix)"
# The separate benchmarks, a ratio per round, then the median.
sep=$(paste <(metric BenchmarkRecord ns/op) <(metric BenchmarkPhoneFloor ns/op) | awk '{print $1/$2}' | median)
sepmix=$(paste <(metric BenchmarkRecordMix ns/op) <(metric BenchmarkPhoneFloorMix ns/op) | awk '{print $1/$2}' | median)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

{
  echo "## quality: record standardization"
  echo
  echo "Machine: $(nproc) cores, ${cpu}; $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%d)."
  echo "Medians of $count rounds of \`go test -bench . -benchmem ./quality\` (each round runs every benchmark once), all in one run."
  echo
  echo "The target: the full record path (email, phone, birth date, country, names, and the"
  echo "completeness score) costs at most 1.2× the bare \`phonenumbers.Parse\` + E.164 \`Format\` of"
  echo "the same number. Measured two ways: the one record every earlier run used, and a mix of"
  echo "36 records (18 countries' example mobile and fixed numbers in national form, countries by"
  echo "name, ambiguous and named-month dates, accented names, role and mistyped emails)."
  echo "\`RecordVsFloor*\` run the floor and the record path alternately, op by op, timing each, so"
  echo "both see the same machine at the same moment; the separate benchmarks a second apart differ"
  echo "by up to 30% on this shared machine on their own."
  echo
  echo "| | floor ns/op | record ns/op | record/floor (median of rounds) |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| one record, paired | $f1 | $r1 | **$(printf %.2f "$q1")×** |"
  echo "| mix of 36, paired | $f2 | $r2 | **$(printf %.2f "$q2")×** |"
  echo "| one record, separate benchmarks | | | $(printf %.2f "$sep")× |"
  echo "| mix of 36, separate benchmarks | | | $(printf %.2f "$sepmix")× |"
  echo
  echo "| benchmark | median ns/op | B/op | allocs/op |"
  echo "| --- | ---: | ---: | ---: |"
  echo "$table"
  echo
  echo "Record keeps its fields in an array (\`quality.Fields\`), not a map, and reads the raw"
  echo "record in one pass; names, countries and dates have one-pass fast paths for the common"
  echo "forms, each held equal to the general path by a test. The phone step validates and types"
  echo "the number with number plans compiled once per region (\`quality/phonetype.go\`), held equal"
  echo "to \`phonenumbers.GetNumberType\` by \`TestNumberPlanAgreesWithLibrary\`. What is left beside"
  echo "the parse is mostly allocation the result needs (the email, the names, the ISO date, the"
  echo "missing-fields list, warnings) and, in the mix, the edit-distance search behind the"
  echo "email typo suggestion."
} > docs/benchmarks/quality.md
echo "wrote docs/benchmarks/quality.md (record/floor paired: one ${q1}, mix ${q2})" >&2
