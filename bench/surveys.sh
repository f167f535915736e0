#!/usr/bin/env bash
# Survey dispatch (issue 4, section 6): 100,000 invitations across 100 tenants, delivered by ONE
# `clientele worker` process to a real SMTP server on the loopback (aiosmtpd, bench/smtp_sink.py).
# Prints the time from the worker's start to the last message the SMTP server accepted, and the
# proof of exactly-once delivery: messages counted at the SMTP side, distinct Message-IDs (one
# per invitation), and the invitations the database records as sent.
# Usage: bench/surveys.sh [tenants, default 100] [clients per tenant, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS=${1:-100}
CLIENTS=${2:-1000}
./scripts/ensure-packages.sh
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

swift build -c release 2>&1 | tail -1
BIN=$(swift build -c release --show-bin-path)

WORK=$(mktemp -d /tmp/clientele-bench.XXXXXX)
chmod 755 "$WORK"
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55434} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8184} LOG_LEVEL=warning CLIENTELE_WORKERS=false
SERVER_PID= WORKER_PID= SINK_PID=
cleanup() {
    [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null || true
    [ -n "$SINK_PID" ] && kill -KILL "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The server (no worker of its own) makes the cluster and migrates it.
source bench/server.sh
start_server
PSQL=( "$PGBIN/psql" -h 127.0.0.1 -p "$CLIENTELE_PG_PORT" -U clientele -d clientele -qtAX )
# Tenant schemas are closed to the application role: the superuser (the data folder's socket) reads them.
SUPER=( "$PGBIN/psql" -h "$CLIENTELE_DATA_DIR/pgdata" -p "$CLIENTELE_PG_PORT" -U postgres -d clientele -qtAX )
now_ms() { date +%s%3N; }

mkdir "$WORK/smtp"
# Debian's interpreter: python3-aiosmtpd installs there, not into other Pythons on PATH.
/usr/bin/python3 bench/smtp_sink.py --dir "$WORK/smtp" > "$WORK/smtp.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do [ -f "$WORK/smtp/port" ] && break; sleep 0.1; done
SMTP_PORT=$(cat "$WORK/smtp/port")

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
echo "== setup: $TENANTS tenants of $CLIENTS clients, one manual send each"
"$BIN/clientele-bench" survey-setup --tenants "$TENANTS" --clients "$CLIENTS" --sql sql
JOBS=$("${PSQL[@]}" -c "SELECT count(*) FROM platform.jobs WHERE kind = 'survey.deliver'")
"${PSQL[@]}" -c "VACUUM ANALYZE platform.jobs"

echo "== delivery: $JOBS survey.deliver jobs, one worker process, SMTP on 127.0.0.1:$SMTP_PORT"
START=$(now_ms)
# The survey links are https, as in production (List-Unsubscribe refuses http).
CLIENTELE_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?security=none" CLIENTELE_MAIL_FROM=enquetes@clientele.test \
    CLIENTELE_PUBLIC_URL=https://avis.clientele.test \
    CLIENTELE_POOL_SIZE=${BENCH_POOL_SIZE:-8} CLIENTELE_JOB_CONCURRENCY=${BENCH_CONCURRENCY:-64} \
    "$BIN/clientele" worker > "$WORK/worker.log" 2>&1 &
WORKER_PID=$!
while [ "$("${PSQL[@]}" -c "SELECT count(*) FROM platform.jobs WHERE kind = 'survey.deliver'")" != "0" ]; do sleep 0.2; done
END=$(now_ms)
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=
sleep 0.5

RECEIVED=$(wc -l < "$WORK/smtp/received" 2>/dev/null || echo 0)
if [ "$RECEIVED" = 0 ]; then
    echo "no message reached the SMTP server; the worker said:"; grep -iE "error|fail" "$WORK/worker.log" | head -5; exit 1
fi
DISTINCT=$(awk '{print $2}' "$WORK/smtp/received" | sort -u | wc -l)
LAST=$(awk 'BEGIN {m = 0} $1 > m {m = $1} END {printf "%.0f", m * 1000}' "$WORK/smtp/received")
echo "last message accepted by the SMTP server $(( LAST - START )) ms after the worker started" \
     "($(( RECEIVED * 1000 / (LAST - START) )) messages/s); every delivery job done after $(( END - START )) ms"
echo "SMTP side: $RECEIVED messages, $DISTINCT distinct Message-IDs, $(( RECEIVED - DISTINCT )) duplicates"
STATES=$("${SUPER[@]}" -c "SELECT string_agg(format('SELECT state FROM %I.survey_invitations', schema_name), ' UNION ALL ')
                          FROM platform.tenants WHERE slug LIKE 'sv-%'")
echo "database: invitations by state: $("${SUPER[@]}" -c "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state)
                                                         FROM (SELECT state, count(*) AS n FROM ($STATES) s GROUP BY state) x")"
echo "database: survey.deliver jobs: $("${PSQL[@]}" -c "SELECT format('%s succeeded, %s needed more than one attempt, %s discarded',
    count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE state = 'discarded'))
    FROM platform.job_history WHERE kind = 'survey.deliver'")"
[ "$RECEIVED" = "$DISTINCT" ] && [ "$RECEIVED" = "$JOBS" ] && echo "exactly once: yes" || { echo "exactly once: NO"; grep -i error "$WORK/worker.log" | head -5; exit 1; }
