#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the store tests and prints its URL.
# Usage: eval "$(scripts/test-postgres.sh)"   (exports FINSENTINEL_TEST_POSTGRES_URL, and
#        FINSENTINEL_TEST_PG_DATA when it started a server: its data folder, empty when a
#        server was already running on the port and is reused)
#        scripts/test-postgres.sh --stop "$FINSENTINEL_TEST_PG_DATA"   (stops it, deletes it)
set -euo pipefail
port="${FINSENTINEL_TEST_PG_PORT:-54329}"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ]; then
  echo "PostgreSQL server binaries not found; install Debian's 'postgresql' package" >&2
  exit 1
fi
run_as=()
[ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
cd /  # the postgres user may not enter the caller's folder (pg_ctl warns when it cannot)
if [ "${1:-}" = "--stop" ]; then
  data="${2:?usage: test-postgres.sh --stop DATA_FOLDER}"
  "${run_as[@]}" "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  rm -rf "$data"
  exit 0
fi
url="postgresql+psycopg://postgres@127.0.0.1:${port}/postgres"
if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "export FINSENTINEL_TEST_POSTGRES_URL=$url FINSENTINEL_TEST_PG_DATA="
  exit 0
fi
data=$(mktemp -d /tmp/finsentinel-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$data"
"${run_as[@]}" "$pgbin/initdb" -D "$data" -A trust -U postgres >/dev/null
# fsync off: a test server, thrown away after the run.
"${run_as[@]}" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w start \
  -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
echo "export FINSENTINEL_TEST_POSTGRES_URL=$url FINSENTINEL_TEST_PG_DATA=$data"
