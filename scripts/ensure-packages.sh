#!/usr/bin/env bash
# Installs what Clientele needs beyond Swift, if it is missing: libpq (headers and library),
# pkg-config, and the PostgreSQL server programs (for the private cluster and the tests).
set -euo pipefail

have_libpq() { pkg-config --exists libpq 2>/dev/null; }
have_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if have_libpq && have_server; then
    exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
        echo "error: libpq-dev and postgresql are missing and this user cannot install them (no sudo)" >&2
        exit 1
    fi
fi
echo "Installing libpq-dev, pkg-config and postgresql..." >&2
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y libpq-dev pkg-config postgresql
