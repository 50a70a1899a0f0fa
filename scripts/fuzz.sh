#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, starting from the seed corpora in
# fuzz/corpus/<target>/. Installs cargo-fuzz when missing. Usage: scripts/fuzz.sh [SECONDS]
# (default 20 per target). A crash stops the script with status 1 and leaves the input in
# fuzz/artifacts/<target>/ (turn it into a regression test, see RELIABILITY.md).
#
# Only the stable toolchain is installed on our machines; cargo-fuzz needs nightly flags
# (-Zsanitizer), which RUSTC_BOOTSTRAP=1 unlocks on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked --quiet
fi

# The fuzz crate has its own target dir: its instrumented builds never mix with the normal ones.
export CARGO_TARGET_DIR="${ONEBOX_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}"
targets=$(cargo fuzz list --fuzz-dir fuzz)
# Build all targets first (one cargo invocation shares the dependency builds).
cargo fuzz build --fuzz-dir fuzz -O --debug-assertions >&2

for t in $targets; do
  # Work on a scratch copy of the corpus, so runs do not grow the checked-in seeds.
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  log="$work.log"
  if ! cargo fuzz run --fuzz-dir fuzz -O --debug-assertions "$t" "$work" -- \
      -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  rate=$(grep -Eo 'exec/s: *[0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$' || echo "?")
  cov=$(grep -Eo 'cov: *[0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$' || echo "?")
  printf 'fuzz %-14s %ss  %s execs  %s exec/s  cov %s\n' "$t" "$seconds" "$execs" "$rate" "$cov"
  rm -rf "$work" "$log"
done
