#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL that the tests start themselves
# (a throwaway cluster in the temporary folder, stopped when the tests end).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-packages.sh
swift build --build-tests
swift test --skip-build "$@"
