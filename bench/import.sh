#!/usr/bin/env bash
# CSV import benchmark: generates 100,000 client rows (French Excel style: ';', a mapping),
# posts them to POST /v1/imports/clients on a throwaway cluster and server, and prints the
# total time and the rate. Then posts the same file again (every row found, left unchanged).
# Usage: bench/import.sh [rows, default 100000]   (BENCH_CONFIGURATION=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
CONFIGURATION=${BENCH_CONFIGURATION:-release}
./scripts/ensure-packages.sh

swift build -c "$CONFIGURATION" 2>&1 | tail -1
BIN=$(swift build -c "$CONFIGURATION" --show-bin-path)

WORK=$(mktemp -d /tmp/clientele-import-bench.XXXXXX)
chmod 755 "$WORK"
export CLIENTELE_DATA_DIR=$WORK/data CLIENTELE_PG_PORT=${BENCH_PG_PORT:-55433} CLIENTELE_SQL_DIR=$PWD/sql
export PORT=${BENCH_HTTP_PORT:-8182} LOG_LEVEL=warning
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

source bench/server.sh
start_server
"$BIN/clientele-bench" provision --count 1 --prefix import --key-file "$WORK/key.txt" --sql sql > /dev/null

# Every row distinct (email, phone, external_ref), with quoting, accents and a few categories.
awk -v rows="$ROWS" 'BEGIN {
    srand(42)
    split("prospect actual_client competitor_client prescriber", categories, " ")
    split("Lyon;Paris;Saint-Étienne;Villeurbanne;Nice", cities, ";")
    print "Code client;Type;Nom;Prénom;Courriel;Téléphone;Ville;Code postal;Catégorie;Étiquettes;Remarques"
    for (i = 1; i <= rows; i++) {
        printf "C%07d;individual;Nom%d;Prénom %d;client%d@example.fr;06 %02d %02d %02d %02d;%s;69%03d;%s;\"vip,fidèle\";\"Note \"\"%d\"\"; rappeler\"\n",
            i, i, i, i, (i / 1000000) % 100, (i / 10000) % 100, (i / 100) % 100, i % 100,
            cities[1 + i % 5], i % 1000, categories[1 + i % 4], i
    }
}' > "$WORK/clients.csv"
MAPPING='{"Code client":"external_ref","Type":"kind","Nom":"last_name","Prénom":"first_name","Courriel":"email","Téléphone":"phone","Ville":"city","Code postal":"postal_code","Catégorie":"category","Étiquettes":"tags","Remarques":"notes"}'
ENCODED=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$MAPPING")
echo "== $ROWS rows, $(du -h "$WORK/clients.csv" | cut -f1) of CSV; $(nproc) cores; $CONFIGURATION build"

run() {
    local label=$1
    local out
    out=$(curl -s -o "$WORK/report.json" -w '%{http_code} %{time_total}' -X POST \
        -H "Authorization: Bearer $(cat "$WORK/key.txt")" -H 'Content-Type: text/csv' \
        --data-binary @"$WORK/clients.csv" "http://127.0.0.1:$PORT/v1/imports/clients?mapping=$ENCODED")
    local status=${out% *} seconds=${out#* }
    echo "$label: HTTP $status in ${seconds}s, $(awk -v r="$ROWS" -v s="$seconds" 'BEGIN {printf "%.0f", r / s}') rows/s"
    head -c 300 "$WORK/report.json"; echo
}
run "first import (creates)"
run "second import (all unchanged)"
