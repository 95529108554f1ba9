#!/usr/bin/env bash
# Checks the machine packages Kith's tests and demo need, and installs the missing
# ones from Debian when run as root; otherwise prints the one command to run.
#
#   tools/prereqs.sh postgres clang chromium compose promtool
set -euo pipefail

declare -A pkg=( [postgres]=postgresql [clang]=clang [chromium]=chromium [compose]=docker-compose [promtool]=prometheus )
declare -A present=(
  [postgres]='compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null'
  [clang]='command -v clang >/dev/null && command -v clang++ >/dev/null'
  [chromium]='command -v chromium >/dev/null'
  [compose]='command -v docker-compose >/dev/null'
  [promtool]='command -v promtool >/dev/null'
)

missing=()
for want in "$@"; do
  [ -n "${pkg[$want]:-}" ] || { echo "tools/prereqs.sh: unknown prerequisite $want" >&2; exit 2; }
  eval "${present[$want]}" || missing+=("${pkg[$want]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo ">> installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Kith needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
