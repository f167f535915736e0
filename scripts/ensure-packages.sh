#!/usr/bin/env bash
# Installs what Clientele needs beyond Swift, if it is missing: libpq (headers and library),
# pkg-config, and the PostgreSQL server programs (for the private cluster and the tests);
# for the Delivery tests, Debian's aiosmtpd (the loopback SMTP server) and openssl (their
# self-signed certificate).
set -euo pipefail

have_libpq() { pkg-config --exists libpq 2>/dev/null; }
have_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_aiosmtpd() { /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; }
have_openssl() { command -v openssl >/dev/null 2>&1; }

if have_libpq && have_server && have_aiosmtpd && have_openssl; then
    exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
        echo "error: libpq-dev, postgresql, python3-aiosmtpd or openssl is missing and this user cannot install them (no sudo)" >&2
        exit 1
    fi
fi
echo "Installing libpq-dev, pkg-config, postgresql, python3-aiosmtpd and openssl..." >&2
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y libpq-dev pkg-config postgresql python3-aiosmtpd openssl
