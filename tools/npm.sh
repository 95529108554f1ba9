#!/usr/bin/env bash
# Installs the pinned npm packages Kith's tests drive (tools/npm/package.json and
# its lock file) into a per-user cache keyed by the lock file, and links them as
# tools/npm/node_modules. A fresh clone on the same machine reuses the cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/tools/npm
command -v npm >/dev/null || { echo "tools/npm.sh: npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
key=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kith/npm-$key
if [ ! -d "$cache/node_modules" ]; then
  echo ">> installing the test clients from npm (tools/npm/package.json)" >&2
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  cp "$dir/package.json" "$dir/package-lock.json" "$cache.tmp/"
  (cd "$cache.tmp" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
ln -sfn "$cache/node_modules" "$dir/node_modules"
