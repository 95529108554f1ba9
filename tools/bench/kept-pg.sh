#!/usr/bin/env bash
# A PostgreSQL server for benchmarks whose data outlives one run: the ten-million
# list of dedup-parts.sh is imported by one run (KITH_BENCH_DEDUP_STAGE=import)
# and resolved by a later one, so that neither has to fit in one session.
#
#   tools/bench/kept-pg.sh start   create the cluster if needed, start it, print its DATABASE_URL
#   tools/bench/kept-pg.sh stop    stop it (its data stays)
#   tools/bench/kept-pg.sh url     print its DATABASE_URL
#
# KITH_BENCH_PG_DIR (default /var/tmp/kith-bench-pg), KITH_BENCH_PG_PORT (default
# 55432); KITH_PG_SETTINGS as for the test stack. The settings are the test
# stack's (no fsync: benchmark data, not a production server's).
set -euo pipefail
dir=${KITH_BENCH_PG_DIR:-/var/tmp/kith-bench-pg}
port=${KITH_BENCH_PG_PORT:-55432}
url="postgres://kith@127.0.0.1:${port}/postgres?sslmode=disable"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "no PostgreSQL server under /usr/lib/postgresql: apt-get install -y postgresql (as root)" >&2
  exit 1
fi
# initdb and postgres refuse to run as root.
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_server "$bin/initdb" -D "$dir/data" -U kith --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
  fi
  if ! as_server "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c log_error_verbosity=terse -c log_min_error_statement=panic"
    for kv in ${KITH_PG_SETTINGS:-}; do opts="$opts -c $kv"; done
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w start >/dev/null
  fi
  echo "$url"
  ;;
stop)
  as_server "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
  ;;
url)
  echo "$url"
  ;;
*)
  echo "usage: tools/bench/kept-pg.sh start|stop|url" >&2
  exit 2
  ;;
esac
