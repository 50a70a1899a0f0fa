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
# Import name and pip requirement of each: maxminddb (the GeoIP peer), moto's S3 server
# (tests/tests/s3.rs runs it on loopback as the real S3 API the tools talk to), and awscli
# (scripts/bench-s3.sh compares with it).
want=(maxminddb:maxminddb moto:"moto[server]" awscli:awscli)
# pyspark (about 320 MB) for the Spark pipe() test, unless that test is switched off.
if [ "${ONEBOX_SPARK_TEST:-1}" != 0 ]; then
  want+=(pyspark:pyspark)
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
missing=()
for entry in "${want[@]}"; do
  module=${entry%%:*}
  requirement=${entry#*:}
  "$venv/bin/python" -c "import $module" 2>/dev/null || missing+=("$requirement")
done
# moto is importable without its server extra; the tests need the server's executable.
if [ ! -x "$venv/bin/moto_server" ] && [[ ! " ${missing[*]} " == *" moto[server] "* ]]; then
  missing+=("moto[server]")
fi
if [ ${#missing[@]} -gt 0 ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
fi

# Debian packages the examples' tests drive: GNU parallel (always), openssh-server for the
# --sshlogin test (when run as root, which sshd needs), a Java runtime (17 or later) for Spark.
# Installed only when missing; the package lists are refreshed only if the first try fails.
apt_want=()
command -v parallel > /dev/null || apt_want+=(parallel)
if [ "$(id -u)" = 0 ] && [ "${ONEBOX_SSH_TEST:-1}" != 0 ] && [ ! -x /usr/sbin/sshd ]; then
  apt_want+=(openssh-server)
fi
if [ "${ONEBOX_SPARK_TEST:-1}" != 0 ]; then
  java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)
  [ "${java_major:-0}" -ge 17 ] || apt_want+=(openjdk-17-jre-headless)
fi
if [ ${#apt_want[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${apt_want[@]}" > /dev/null 2>&1 \
    || { apt-get update -qq > /dev/null && apt-get install -y -qq "${apt_want[@]}" > /dev/null; }
fi
