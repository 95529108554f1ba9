#!/usr/bin/env bash
# Runs Kith's benchmarks and assembles docs/benchmarks.md from their sections in
# docs/benchmarks/. With names, runs only those (the other sections are kept).
#
#   tools/bench.sh [quality] [webhooks] [dedup] [dedup-e2e] [match] [merges] [dedup-parts] [cleaning] [warehouse] [events] [triggers] [recommend] [lake] [ids]
set -euo pipefail
cd "$(dirname "$0")/.."
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(quality webhooks dedup dedup-e2e match merges dedup-parts cleaning warehouse events triggers recommend lake ids)
for s in "${sections[@]}"; do
  [ -x "tools/bench/$s.sh" ] || { echo "tools/bench.sh: no benchmark called $s (have: $(ls tools/bench | grep -v -e common -e kept-pg | sed 's/\.sh//' | tr '\n' ' '))" >&2; exit 2; }
  "tools/bench/$s.sh"
done
{
  echo "# Benchmarks"
  echo
  echo "Written by \`tools/bench.sh\` (\`make bench\`) — do not edit by hand; rerun it."
  for f in docs/benchmarks/*.md; do echo; cat "$f"; done
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
