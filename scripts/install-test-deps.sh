#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine (idempotent, quiet when all is there):
# Python packages for independent peers and servers the tests talk to.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy ship with the toolchain on our machines; say so clearly if not.
for c in fmt clippy; do
  cargo "$c" --version >/dev/null 2>&1 || { echo "cargo $c is missing: rustup component add ${c/fmt/rustfmt}" >&2; exit 1; }
done

# Python test peers go in a venv under target/ so the system stays untouched.
venv=target/test-venv
want=(maxminddb)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
missing=()
for pkg in "${want[@]}"; do
  "$venv/bin/python" -c "import $pkg" 2>/dev/null || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
fi

# Debian packages the examples' tests drive: GNU parallel (always), openssh-server for the opt-in
# --sshlogin test (ONEBOX_SSH_TEST=1). Installed only when missing; the package lists are
# refreshed only if the first try fails.
apt_want=()
command -v parallel > /dev/null || apt_want+=(parallel)
if [ -n "${ONEBOX_SSH_TEST:-}" ] && [ ! -x /usr/sbin/sshd ]; then
  apt_want+=(openssh-server)
fi
if [ ${#apt_want[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${apt_want[@]}" > /dev/null 2>&1 \
    || { apt-get update -qq > /dev/null && apt-get install -y -qq "${apt_want[@]}" > /dev/null; }
fi
