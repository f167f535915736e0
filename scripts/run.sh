#!/usr/bin/env bash
# Runs the Clientele server. With no DATABASE_URL it starts a private PostgreSQL cluster in
# ./.clientele (created on first run, with a demo tenant) and prints how to call the API.
# Arguments are passed to `clientele` (default command: serve).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-packages.sh
swift build --product clientele
exec .build/debug/clientele "$@"
