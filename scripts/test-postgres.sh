#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the store tests and prints its URL.
# Usage: eval "$(scripts/test-postgres.sh)"   (exports FINSENTINEL_TEST_POSTGRES_URL)
set -euo pipefail
port="${FINSENTINEL_TEST_PG_PORT:-54329}"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ]; then
  echo "PostgreSQL server binaries not found; install Debian's 'postgresql' package" >&2
  exit 1
fi
url="postgresql+psycopg://postgres@127.0.0.1:${port}/postgres"
if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "export FINSENTINEL_TEST_POSTGRES_URL=$url"
  exit 0
fi
data=$(mktemp -d /tmp/finsentinel-pg.XXXXXX)
run_as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$data"
  run_as=(runuser -u postgres --)
fi
"${run_as[@]}" "$pgbin/initdb" -D "$data" -A trust -U postgres >/dev/null
# fsync off: a test server, thrown away after the run.
"${run_as[@]}" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w start \
  -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
echo "export FINSENTINEL_TEST_POSTGRES_URL=$url"
