#!/usr/bin/env bash
# The foundation benchmarks, in one run on a throwaway PostgreSQL cluster:
#   1. tenant provisioning: median time of `tenant create` over 20 tenants;
#   2. GET /v1/clients/{id} with wrk (64 connections) on a tenant of 100,000 clients, next to
#      pgbench running the same tenant-scoped read (BEGIN, set role, set search_path, SELECT,
#      COMMIT) pipelined in one round trip, with each statement planned every time (-M extended)
#      and prepared (-M prepared, as the server's lookup is); the rates and the ratios;
#   3. `migrate` over 1,000 tenants with one pending migration.
# Usage: bench/run.sh [seconds per load test, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
./scripts/ensure-packages.sh
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

swift build -c release 2>&1 | tail -1
BIN=$(swift build -c release --show-bin-path)

WORK=$(mktemp -d /tmp/clientele-bench.XXXXXX)
chmod 755 "$WORK"
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55432} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8181} LOG_LEVEL=warning CLIENTELE_POOL_SIZE=${BENCH_POOL_SIZE:-16}
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

source bench/server.sh
start_server

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GB; PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
echo "== 1. provisioning"
"$BIN/clientele-bench" provision --count 20 --key-file "$WORK/key.txt" --sql sql
echo "== 2. GET /v1/clients/{id}: API (wrk) against pgbench"
SEED=$("$BIN/clientele-bench" seed --tenant bench-0 --clients 100000 --ids-file "$WORK/ids.txt" --sql sql)
echo "$SEED" | head -1
ROLE=$(echo "$SEED" | sed -n 's/^ROLE=\([^ ]*\) .*/\1/p')
SCHEMA=$(echo "$SEED" | sed -n 's/.* SCHEMA=\(.*\)$/\1/p')
# wrk reads one path per line: each seeded client's GET.
sed 's|^|/v1/clients/|' "$WORK/ids.txt" > "$WORK/urls.txt"
export CLIENTELE_KEY=$(cat "$WORK/key.txt") URLS_FILE=$WORK/urls.txt

# Warm up both paths, then measure.
wrk -t2 -c64 -d5s -s bench/urls.lua "http://127.0.0.1:$PORT" > /dev/null
WRK=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s bench/urls.lua "http://127.0.0.1:$PORT")
echo "$WRK" | grep -E "Requests/sec|99%|non-2xx"
API_RPS=$(echo "$WRK" | awk '/Requests\/sec/ {print $2}')
API_P99=$(echo "$WRK" | awk '$1 == "99%" {print $2}')

sed -e "s/ROLE/$ROLE/" -e "s/SCHEMA/$SCHEMA/" bench/tenant-read.pgbench > "$WORK/read.pgbench"
# Two ceilings. Extended: each statement parsed and planned at every run, over TCP as the
# application role (what the server did before it prepared its lookup). Prepared, as the
# server's lookup now is: pgbench prepares a pipeline's statements before its BEGIN, before the
# tenant role is set, and the application role does not inherit the tenant roles' rights, so
# this one connects as the cluster's superuser over the Unix socket (a little faster than TCP:
# that ceiling is, if anything, high) and still runs each transaction as the tenant role.
run_pgbench() {  # label, connection arguments...
    local label=$1; shift
    local PGB=( "$PGBIN/pgbench" "$@" -p "$CLIENTELE_PG_PORT" -n -c 64 -j 2 -f "$WORK/read.pgbench" clientele )
    "${PGB[@]}" -T 5 > /dev/null 2>&1
    # With a per-transaction log, so pgbench's own p99 can be set beside the API's.
    rm -f "$WORK"/pgblog.*
    local OUT TPS
    OUT=$(cd "$WORK" && "${PGB[@]}" -T "$DURATION" -l --log-prefix=pgblog 2>&1)
    TPS=$(echo "$OUT" | awk '/^tps/ {print $3; exit}')
    P99=$(cat "$WORK"/pgblog.* | awk '{print $3}' | sort -n | awk '{v[NR] = $1} END {printf "%.2fms", v[int(NR * 0.99)] / 1000}')
    echo "pgbench $label: $TPS transactions/s, average latency $(echo "$OUT" | awk '/latency average/ {print $4}') ms, p99 $P99" >&2
    echo "$TPS $P99"
}
read -r PG_TPS PG_P99 < <(run_pgbench extended -h 127.0.0.1 -U clientele -M extended)
read -r PGP_TPS PGP_P99 < <(run_pgbench prepared -h "$CLIENTELE_DATA_DIR/pgdata" -U postgres -M prepared)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "RESULT api_rps=$API_RPS api_p99=$API_P99 pgbench_extended_tps=$PG_TPS p99=$PG_P99 ratio=$(ratio "$API_RPS" "$PG_TPS") pgbench_prepared_tps=$PGP_TPS p99=$PGP_P99 ratio=$(ratio "$API_RPS" "$PGP_TPS")"

# At 64 connections the latency is mostly queueing (64 / rate): the same read at 8 connections.
WRK8=$(wrk -t2 -c8 -d"${DURATION}s" --latency -s bench/urls.lua "http://127.0.0.1:$PORT")
echo "API at 8 connections: $(echo "$WRK8" | awk '/Requests\/sec/ {print $2}') requests/s, p99 $(echo "$WRK8" | awk '$1 == "99%" {print $2}')"

echo "== 3. migrate over 1,000 tenants"
"$BIN/clientele-bench" migrate-many --tenants 1000 --concurrency 4 --sql sql
