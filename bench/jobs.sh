#!/usr/bin/env bash
# The job runner's benchmarks, on a throwaway PostgreSQL cluster (issue 4, section 6):
#   1. no-op jobs: the enqueue rate in batches of 100 (the batch API), and one transaction per
#      job (16 connections), then the work
#      rate of ONE `clientele worker` process draining them; beside it, pgbench running the
#      worker's own claiming statement and the completion into the history, batch for batch,
#      as the ceiling; and the ratio;
#   2. noisy neighbour: one tenant enqueues 100,000 jobs of 5 ms while 99 tenants enqueue 5 each
#      over 10 s; the quiet tenants' p99 wait from due time to start.
# Usage: bench/jobs.sh [jobs for part 1, default 200000]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-200000}
./scripts/ensure-packages.sh
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

swift build -c release 2>&1 | tail -1
BIN=$(swift build -c release --show-bin-path)

WORK=$(mktemp -d /tmp/clientele-bench.XXXXXX)
chmod 755 "$WORK"
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55433} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8183} LOG_LEVEL=warning CLIENTELE_WORKERS=false
SERVER_PID= WORKER_PID=
cleanup() {
    [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The server (no worker of its own) makes the cluster and migrates it.
source bench/server.sh
start_server
PSQL=( "$PGBIN/psql" -h 127.0.0.1 -p "$CLIENTELE_PG_PORT" -U clientele -d clientele -qtAX )
count_pending() { "${PSQL[@]}" -c "SELECT count(*) FROM platform.jobs"; }
now_ms() { date +%s%3N; }
start_worker() {
    CLIENTELE_POOL_SIZE=8 CLIENTELE_BENCH_JOBS=true CLIENTELE_JOB_CONCURRENCY=$1 \
        "$BIN/clientele" worker > "$WORK/worker.log" 2>&1 &
    WORKER_PID=$!
}
stop_worker() { kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=; }
wait_empty() { while [ "$(count_pending)" != "0" ]; do sleep 0.05; done; }

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
echo "== 1. no-op jobs ($COUNT)"
# The batch API first (100 jobs per statement, as a campaign's deliveries), then cleared.
"$BIN/clientele-bench" enqueue-jobs --count "$COUNT" --concurrency 4 --batch 100 --sql sql
"${PSQL[@]}" -c "TRUNCATE platform.jobs"
"$BIN/clientele-bench" enqueue-jobs --count "$COUNT" --concurrency 16 --sql sql
"${PSQL[@]}" -c "VACUUM ANALYZE platform.jobs"
START=$(now_ms)
start_worker 1000
wait_empty
END=$(now_ms)
stop_worker
WORK_RATE=$(( COUNT * 1000 / (END - START) ))
echo "one worker process: $COUNT jobs worked in $(( END - START )) ms (start-up included): $WORK_RATE jobs/s"

# The ceiling: the same statements under pgbench, 2 clients (one per core), batches of 500.
"${PSQL[@]}" -c "TRUNCATE platform.job_history"
"${PSQL[@]}" -c "INSERT INTO platform.jobs (kind) SELECT 'noop' FROM generate_series(1, $COUNT)"
"${PSQL[@]}" -c "VACUUM ANALYZE platform.jobs"
"$BIN/clientele-bench" job-pgbench-script --batch 500 > "$WORK/claim.pgbench"
# Enough transactions for every job; the rate is jobs completed over the wall-clock time.
TRANSACTIONS=$(( COUNT / 500 ))
START=$(now_ms)
"$PGBIN/pgbench" -h 127.0.0.1 -p "$CLIENTELE_PG_PORT" -U clientele -n -c 2 -j 2 -t "$TRANSACTIONS" \
    -f "$WORK/claim.pgbench" clientele > "$WORK/pgbench.log" 2>&1
END=$(now_ms)
DONE=$("${PSQL[@]}" -c "SELECT count(*) FROM platform.job_history")
CEILING=$(( DONE * 1000 / (END - START) ))
echo "pgbench ceiling (same claim + completion, batches of 500, 2 clients): $DONE jobs in $(( END - START )) ms: $CEILING jobs/s"
echo "worker / ceiling: $(awk -v w="$WORK_RATE" -v c="$CEILING" 'BEGIN {printf "%.2f", w / c}')"

echo "== 2. noisy neighbour"
"${PSQL[@]}" -c "TRUNCATE platform.jobs, platform.job_history"
"$BIN/clientele-bench" provision --count 100 --prefix nn --key-file "$WORK/key.txt" --sql sql > /dev/null
NOISY=$("${PSQL[@]}" -c "SELECT id FROM platform.tenants WHERE slug = 'nn-0'")
QUIET=$("${PSQL[@]}" -c "SELECT string_agg(id::text, ',') FROM platform.tenants WHERE slug LIKE 'nn-%' AND slug <> 'nn-0'")
start_worker 32
"${PSQL[@]}" -c "INSERT INTO platform.jobs (tenant_id, kind, payload) SELECT $NOISY, 'bench.sleep', '{\"ms\": 5}' FROM generate_series(1, 100000)"
"$BIN/clientele-bench" enqueue-jobs --count 495 --tenants "$QUIET" --kind bench.sleep --payload '{"ms": 5}' \
    --concurrency 4 --spread 10 --sql sql > /dev/null
BACKLOG=$("${PSQL[@]}" -c "SELECT count(*) FROM platform.jobs WHERE tenant_id = $NOISY")
wait_empty
stop_worker
"${PSQL[@]}" -c "
    SELECT format('quiet tenants: %s jobs, wait from due to start p50 %s ms, p99 %s ms, max %s ms', count(*),
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY w)), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY w)), round(max(w)))
    FROM (SELECT extract(epoch FROM started_at - run_at) * 1000 AS w FROM platform.job_history WHERE tenant_id <> $NOISY) q"
echo "(the noisy tenant still had $BACKLOG jobs waiting when the quiet tenants' last job was enqueued)"
