# Sourced by the bench scripts: starts `$BIN/clientele serve` (its log in $WORK/server.log),
# waits until it listens (up to $1 half-seconds: a first start makes the cluster), and
# exports DATABASE_URL and PGPASSWORD for the tools that follow. Sets SERVER_PID.
start_server() {
    "$BIN/clientele" serve > "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 "${1:-120}"); do
        grep -q "listening on" "$WORK/server.log" && break
        sleep 0.5
    done
    grep -q "listening on" "$WORK/server.log" || { cat "$WORK/server.log"; exit 1; }
    PGPASSWORD=$(cat "$CLIENTELE_DATA_DIR/db-password")
    export PGPASSWORD
    export DATABASE_URL="postgres://clientele:$PGPASSWORD@127.0.0.1:$CLIENTELE_PG_PORT/clientele"
}
