#!/usr/bin/env bash
# Runs every check a change must pass: installs what the tests need, then formatting, lints,
# and all unit and end-to-end tests. Usage: scripts/test.sh
#
# With ONEBOX_CONFORMANCE_DIR set (CI sets it to ../shared/data), the tests also parse the real
# public samples there; without it those tests are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# A clean run needs about 6 GB of disk (target/debug 1.9 GB, target/fuzz 2.6, the test venv 1);
# say what there is, so a run that fails for space is easy to recognise.
step "disk: $(df -hP . | awk 'NR==2 {print $4 " free of " $2}')"

step "test dependencies"
scripts/install-test-deps.sh

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build"
# The end-to-end tests run the built binaries, so build them first.
cargo build --workspace --bins --locked

step "test"
# Tests that compare with Python peers use the venv the installer made.
export ONEBOX_TEST_PYTHON="$PWD/target/test-venv/bin/python"
# The examples' multi-host tests: GNU parallel --sshlogin to an sshd on loopback (needs root) and
# Spark local mode (pyspark in the venv, Java 17+). Set either to 0 to leave it out.
if [ "$(id -u)" = 0 ]; then
  export ONEBOX_SSH_TEST="${ONEBOX_SSH_TEST:-1}"
fi
export ONEBOX_SPARK_TEST="${ONEBOX_SPARK_TEST:-1}"
export ONEBOX_SPARK_PYTHON="${ONEBOX_SPARK_PYTHON:-$ONEBOX_TEST_PYTHON}"
cargo test --workspace --locked 2>&1 | tee target/test.log
# One closing line for readers of CI logs.
passed=$(grep -Eo '[0-9]+ passed' target/test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test.log | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"

# Coverage-guided fuzzing, each target for a bounded time (CI sets ONEBOX_FUZZ_SECONDS).
if [ -n "${ONEBOX_FUZZ_SECONDS:-}" ]; then
  step "fuzz (${ONEBOX_FUZZ_SECONDS}s per target)"
  scripts/fuzz.sh "$ONEBOX_FUZZ_SECONDS"
fi
