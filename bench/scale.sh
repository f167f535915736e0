#!/usr/bin/env bash
# The client-base benchmarks at scale (issue 3, section 8), on a throwaway PostgreSQL cluster:
# one tenant of 1,000,000 clients, 5,000,000 purchases and 2,000,000 interactions, then
#   a. search (?q=) and filtered lists at 16 connections (wrk), p50, p99 and rate per kind;
#   b. every analytics endpoint with its default parameters, median and max of a few runs;
#   c. the client timeline at 16 connections over random clients, and over the heaviest one.
# Targets: search and lists p99 < 50 ms, analytics < 2 s each, timeline p99 < 20 ms.
# Usage: bench/scale.sh [seconds per load test, default 15]
# BENCH_KEEP=1 keeps the cluster (in BENCH_WORK, default /tmp/clientele-scale) and reuses its
# seed on the next run (seeding takes several minutes); BENCH_BIN runs other binaries than a
# fresh release build; BENCH_SEED_ONLY=1 stops after the seed; BENCH_SECTIONS (default "a b c")
# picks the sections below; BENCH_POOL_SIZE sets the server's pool; BENCH_CLIENTS /
# BENCH_PURCHASES / BENCH_INTERACTIONS scale the seed.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
./scripts/ensure-packages.sh
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
command -v jq >/dev/null || { apt-get update && apt-get install -y jq; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

if [ -z "${BENCH_BIN:-}" ]; then
    swift build -c release 2>&1 | tail -1
    BIN=$(swift build -c release --show-bin-path)
else
    BIN=$BENCH_BIN
fi

WORK=${BENCH_WORK:-/tmp/clientele-scale}
[ -f "$WORK/seeded" ] || rm -rf "$WORK"
mkdir -p "$WORK" && chmod 755 "$WORK"
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55442} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8182} LOG_LEVEL=warning
# The server's own pool size (twice the cores) unless BENCH_POOL_SIZE says otherwise.
[ -n "${BENCH_POOL_SIZE:-}" ] && export CLIENTELE_POOL_SIZE=$BENCH_POOL_SIZE
PGDATA_DIR=$WORK/data/pgdata
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    # Make the cluster (migrate starts and stops it), then tune it for one big tenant on this
    # machine: the working set in memory, no JIT (it costs more than it saves under 2 s),
    # two workers per parallel query, SSD costs; no fsync: a throwaway cluster (reads only).
    "$BIN/clientele" migrate > /dev/null
    cat >> "$PGDATA_DIR/postgresql.conf" <<'CONF'
# bench/scale.sh
shared_buffers = 4GB
effective_cache_size = 12GB
work_mem = 32MB
maintenance_work_mem = 1GB
max_parallel_workers_per_gather = 2
random_page_cost = 1.1
effective_io_concurrency = 200
jit = off
max_wal_size = 16GB
checkpoint_timeout = 30min
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

source bench/server.sh
start_server 600
PSQL=( psql -X -q -At -h "$PGDATA_DIR" -p "$CLIENTELE_PG_PORT" -U postgres -d clientele -v ON_ERROR_STOP=1 )

if [ ! -f "$WORK/seeded" ]; then
    "$BIN/clientele-bench" provision --count 1 --prefix scale --key-file "$WORK/key.txt" --sql sql
    SCHEMA=$("${PSQL[@]}" -c "SELECT schema_name FROM platform.tenants WHERE slug = 'scale-0'")
    echo "== seeding $SCHEMA"
    START=$(date +%s)
    "${PSQL[@]}" -v schema="$SCHEMA" -v clients="${BENCH_CLIENTS:-1000000}" \
        -v purchases="${BENCH_PURCHASES:-5000000}" -v interactions="${BENCH_INTERACTIONS:-2000000}" \
        -f bench/seed-scale.sql > "$WORK/seed.log" || { cat "$WORK/seed.log"; exit 1; }
    grep -v '^Time: [0-9.]* ms$' "$WORK/seed.log"
    "${PSQL[@]}" -c "SET search_path = $SCHEMA" -c "VACUUM ANALYZE"
    echo "seeded in $(( $(date +%s) - START )) s"
    touch "$WORK/seeded"
fi
[ "${BENCH_SEED_ONLY:-0}" = 1 ] && exit 0
SCHEMA=$("${PSQL[@]}" -c "SELECT schema_name FROM platform.tenants WHERE slug = 'scale-0'")
export CLIENTELE_KEY=$(cat "$WORK/key.txt")
BASE="http://127.0.0.1:$PORT"
Q=( "${PSQL[@]}" -c )

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GB; PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'); load: $(uptime | sed 's/.*load average: //')"
echo "== tenant: $("${Q[@]}" "SET search_path = $SCHEMA; SELECT format('%s clients, %s purchases, %s interactions, %s complaints, %s payments', (SELECT count(*) FROM clients), (SELECT count(*) FROM purchases), (SELECT count(*) FROM interactions), (SELECT count(*) FROM complaints), (SELECT count(*) FROM payments))")"

# Real values to search for, from the data: a phone's first digits, an email's local part.
PHONE=$("${Q[@]}" "SET search_path = $SCHEMA; SELECT left(phone, 8) FROM clients WHERE phone IS NOT NULL ORDER BY id LIMIT 1 OFFSET 4321")
EMAIL=$("${Q[@]}" "SET search_path = $SCHEMA; SELECT split_part(email, '@', 1) FROM clients WHERE email IS NOT NULL ORDER BY id LIMIT 1 OFFSET 1234")
urlencode() { jq -rn --arg v "$1" '$v | @uri'; }
page2() { curl -s -H "Authorization: Bearer $CLIENTELE_KEY" "$BASE$1" | jq -r '.next_cursor // empty'; }

mkdir -p "$WORK/urls"
kind() { local name=$1; shift; printf '%s\n' "$@" > "$WORK/urls/$name"; }
kind search-name "/v1/clients?q=dupont" "/v1/clients?q=martin" "/v1/clients?q=girard" "/v1/clients?q=fontaine" "/v1/clients?q=$(urlencode 'le goff')"
kind search-accent "/v1/clients?q=$(urlencode 'Lefèvre')" "/v1/clients?q=$(urlencode 'Jérôme')" "/v1/clients?q=$(urlencode 'Hélène Guérin')" "/v1/clients?q=lefevre" "/v1/clients?q=$(urlencode 'gaelle')"
kind search-typo "/v1/clients?q=duponr" "/v1/clients?q=lefebre" "/v1/clients?q=fontene" "/v1/clients?q=chevallie" "/v1/clients?q=guerrin"
kind search-email "/v1/clients?q=$(urlencode "$EMAIL")" "/v1/clients?q=$(urlencode '@laposte')" "/v1/clients?q=$(urlencode 'orange.fr')"
kind search-phone "/v1/clients?q=$(urlencode "$PHONE")" "/v1/clients?q=$(urlencode "+33 ${PHONE:1}")"
kind list-city "/v1/clients?city=paris" "/v1/clients?city=$(urlencode 'saint-etienne')" "/v1/clients?city=$(urlencode 'Nîmes')" "/v1/clients?city=lyon&category=actual_client"
kind list-category "/v1/clients?category=prospect" "/v1/clients?category=former_client" "/v1/clients?category=prescriber&kind=business"
kind list-tag "/v1/clients?tag=vip" "/v1/clients?tag=fidele" "/v1/clients?tag=$(urlencode 'fidèle')&tag=vip" "/v1/clients?tag=export"
kind list-postal "/v1/clients?postal_code=75" "/v1/clients?postal_code=69003" "/v1/clients?postal_code=2"
kind sort-name "/v1/clients?sort=name" "/v1/clients?sort=name&category=actual_client" "/v1/clients?sort=name&city=paris"
kind sort-last-purchase "/v1/clients?sort=last_purchase" "/v1/clients?sort=last_purchase&category=former_client" "/v1/clients?sort=last_purchase&tag=vip"
CURSORS=()
for first in "/v1/clients?category=prospect" "/v1/clients?sort=name" "/v1/clients?sort=last_purchase" "/v1/clients?q=dupont" "/v1/clients?city=paris&sort=name"; do
    cursor=$(page2 "$first")
    [ -n "$cursor" ] && CURSORS+=( "$first&cursor=$cursor" )
done
kind page-2 "${CURSORS[@]}"

measure() {  # kind url-file connections
    local out
    out=$(URLS_FILE=$2 wrk -t2 -c"$3" -d"${DURATION}s" --timeout 10s --latency -s bench/urls.lua "$BASE")
    printf '%-20s p50 %8s  p99 %8s  %8s req/s  %s\n' "$1" \
        "$(echo "$out" | awk '$1 == "50%" {print $2}')" "$(echo "$out" | awk '$1 == "99%" {print $2}')" \
        "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | grep -o 'non-2xx or errors: .*')"
}

if [[ " ${BENCH_SECTIONS:-a b c} " == *" a "* ]]; then
echo "== a. search and filtered lists, 16 connections, ${DURATION} s each (load: $(uptime | sed 's/.*load average: //'))"
cat "$WORK"/urls/* > "$WORK/urls.all"
URLS_FILE=$WORK/urls.all wrk -t2 -c16 -d5s -s bench/urls.lua "$BASE" > /dev/null  # warm up
for file in "$WORK"/urls/*; do measure "$(basename "$file")" "$file" 16; done
measure "all kinds mixed" "$WORK/urls.all" 16

fi
if [[ " ${BENCH_SECTIONS:-a b c} " == *" b "* ]]; then
echo "== b. analytics, default parameters, 3 runs each: median / max (load: $(uptime | sed 's/.*load average: //'))"
for report in pareto market-share seniority acquisition difficult-clients conquest-retention rfm personas commercial-effort; do
    times=()
    for _ in 1 2 3; do
        times+=( "$(curl -s -o "$WORK/report.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $CLIENTELE_KEY" "$BASE/v1/analytics/$report")" )
    done
    printf '%s\n' "${times[@]}" | sort -k2 -n | awk -v name="$report" '
        { t[NR] = $2 * 1000; if ($1 != 200) bad++ } END {
            printf "%-20s median %7.0f ms  max %7.0f ms%s\n", name, t[int((NR + 1) / 2)], t[NR], bad ? "  NON-200: " bad : "" }'
done

fi
if [[ " ${BENCH_SECTIONS:-a b c} " == *" c "* ]]; then
echo "== c. timeline, 16 connections, ${DURATION} s (load: $(uptime | sed 's/.*load average: //'))"
"${Q[@]}" "SET search_path = $SCHEMA; SELECT '/v1/clients/' || id || '/timeline' FROM clients TABLESAMPLE SYSTEM (2) LIMIT 10000" > "$WORK/timeline.urls"
HEAVY=$("${Q[@]}" "SET search_path = $SCHEMA; SELECT buyer_id FROM purchases GROUP BY buyer_id ORDER BY count(*) DESC LIMIT 1")
echo "heavy client: $("${Q[@]}" "SET search_path = $SCHEMA; SELECT format('%s purchases, %s interactions, %s payments', (SELECT count(*) FROM purchases WHERE buyer_id = '$HEAVY'), (SELECT count(*) FROM interactions WHERE client_id = '$HEAVY'), (SELECT count(*) FROM payments WHERE client_id = '$HEAVY'))")"
echo "/v1/clients/$HEAVY/timeline" > "$WORK/timeline-heavy.urls"
URLS_FILE=$WORK/timeline.urls wrk -t2 -c16 -d5s -s bench/urls.lua "$BASE" > /dev/null
measure "timeline random" "$WORK/timeline.urls" 16
measure "timeline heavy" "$WORK/timeline-heavy.urls" 16
fi
echo "== load after: $(uptime | sed 's/.*load average: //')"
