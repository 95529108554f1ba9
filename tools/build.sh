#!/usr/bin/env bash
# Builds one pinned tool from its module under tools/<name>/ into a per-user cache
# keyed by tool, version and the module's go.sum, then links it into bin/.
# A fresh clone on the same machine (CI is one) reuses the cached binary.
#
#   tools/build.sh temporal
#   tools/build.sh bigquery-emulator
set -euo pipefail

name=${1:?usage: tools/build.sh temporal|bigquery-emulator|fake-gcs-server|workflowcheck}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/tools/$name
[ -f "$dir/go.mod" ] || { echo "tools/build.sh: no module at tools/$name" >&2; exit 2; }

pkg=$(awk '/^tool /{print $2; exit}' "$dir/go.mod")
bin=$(basename "$pkg")
key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kith/tools/$name-$key
mkdir -p "$root/bin"

if [ ! -x "$cache/$bin" ]; then
  mkdir -p "$cache"
  env_extra=()
  if [ "$name" = bigquery-emulator ]; then
    # ZetaSQL's C++ builds with clang only (g++ 12 fails on it).
    command -v clang >/dev/null || { echo "tools/build.sh: clang is missing: apt-get install -y clang" >&2; exit 1; }
    env_extra=(CGO_ENABLED=1 CC=clang CXX=clang++)
    echo ">> building $bin (cgo, compiles ZetaSQL C++: 30-60 minutes the first time on 2 cores)" >&2
  else
    env_extra=(CGO_ENABLED=0)
    echo ">> building $bin (about 10 minutes the first time)" >&2
  fi
  start=$(date +%s)
  # Print a heartbeat so a long first build does not look hung.
  ( while sleep 60; do echo ">> still building $bin ($(( ($(date +%s) - start) / 60 )) min)" >&2; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null' EXIT
  (cd "$dir" && env "${env_extra[@]}" GOFLAGS=-mod=mod go build -trimpath -o "$cache/$bin.tmp" "$pkg")
  mv "$cache/$bin.tmp" "$cache/$bin"
  echo ">> built $bin in $(( $(date +%s) - start ))s -> $cache" >&2
fi
ln -sf "$cache/$bin" "$root/bin/$bin"
