#!/usr/bin/env bash
# Churn scoring at scale (issue 4, section 6): scores every client of one tenant of 1,000,000
# clients and 5,000,000 purchases (the seeded cluster of bench/scale.sh), and prints the time.
# Target: under 30 s.
# The cluster is reused, never deleted: make it first with
#   BENCH_KEEP=1 BENCH_SEED_ONLY=1 bench/scale.sh
# The server starts once on it, which applies pending tenant migrations (the churn tables).
# Each run starts from no scores (the churn tables of the tenant are emptied), so run 1 is the
# first night (every at-risk client written, alerts raised) and run 2 a night where nothing
# changed, once the server's workers have sent the first night's notifications (the wait is
# printed). BENCH_BIN runs other binaries than a fresh release build; BENCH_RUNS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-packages.sh

if [ -z "${BENCH_BIN:-}" ]; then
    swift build -c release 2>&1 | tail -1
    BIN=$(swift build -c release --show-bin-path)
else
    BIN=$BENCH_BIN
fi

WORK=${BENCH_WORK:-/tmp/clientele-scale}
[ -f "$WORK/seeded" ] || { echo "no seeded cluster in $WORK: run BENCH_KEEP=1 BENCH_SEED_ONLY=1 bench/scale.sh first" >&2; exit 1; }
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55442} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8182} LOG_LEVEL=warning CLIENTELE_POOL_SIZE=4
PGDATA_DIR=$WORK/data/pgdata
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

source bench/server.sh
start_server 600
PSQL=( psql -X -q -At -h "$PGDATA_DIR" -p "$CLIENTELE_PG_PORT" -U postgres -d clientele -v ON_ERROR_STOP=1 )
SCHEMA=$("${PSQL[@]}" -c "SELECT schema_name FROM platform.tenants WHERE slug = 'scale-0'")
echo "== machine: $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
echo "== tenant: $("${PSQL[@]}" -c "SET search_path = $SCHEMA; SELECT format('%s clients (%s actual), %s purchases, %s interactions, %s complaints, %s payments', (SELECT count(*) FROM clients), (SELECT count(*) FROM clients WHERE category = 'actual_client'), (SELECT count(*) FROM purchases), (SELECT count(*) FROM interactions), (SELECT count(*) FROM complaints), (SELECT count(*) FROM payments))")"
# The notification jobs of earlier runs' alerts go with them: left queued, the server's workers
# would be sending them while this run scores.
"${PSQL[@]}" -c "SET search_path = $SCHEMA; TRUNCATE churn_notifications, churn_alerts, churn_score_history, churn_scores; UPDATE churn_settings SET last_scored_at = NULL; DELETE FROM platform.jobs WHERE kind = 'churn.notify' AND tenant_id = (SELECT id FROM platform.tenants WHERE slug = 'scale-0')"
"${PSQL[@]}" -c "VACUUM ANALYZE $SCHEMA.churn_scores, $SCHEMA.churn_score_history, $SCHEMA.churn_alerts"
echo "== scoring the whole tenant, ${BENCH_RUNS:-2} runs (load: $(uptime | sed 's/.*load average: //'))"
"$BIN/clientele-bench" churn-score --tenant scale-0 --runs "${BENCH_RUNS:-2}" --sql sql
echo "== scores: $("${PSQL[@]}" -c "SET search_path = $SCHEMA; SELECT format('%s clients with a score above 0, %s at or above the threshold, %s open alerts', count(*) FILTER (WHERE score > 0), count(*) FILTER (WHERE score >= (SELECT alert_threshold FROM churn_settings)), (SELECT count(*) FROM churn_alerts WHERE state = 'open')) FROM churn_scores")"
echo "== reasons: $("${PSQL[@]}" -c "SET search_path = $SCHEMA; SELECT string_agg(format('%s %s', code, n), ', ' ORDER BY n DESC) FROM (SELECT r->>'code' AS code, count(*) AS n FROM churn_scores, jsonb_array_elements(reasons) r GROUP BY 1) x")"
echo "== load after: $(uptime | sed 's/.*load average: //')"
