#!/usr/bin/env bash
# Builds onebox, generates sample data locally (no cloud needed) and runs the jobs end to end.
# Usage: scripts/demo.sh [SIZE]   (SIZE of generated telemetry, default 200M)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200M}
out=out/demo
bin=target/release

say() { printf '\n== %s\n' "$*" >&2; }

say "build (release)"
cargo build --release --workspace --bins --locked

say "generate $size of telemetry in sample/telemetry"
if [ ! -d sample/telemetry ]; then
  "$bin/onebox-gen" telemetry --out sample/telemetry --files 8 --size "$size" --seed 1 --gzip --bad-rate 0.0005
fi
mkdir -p "$out"

say "telemetry job: count unique combinations of 12 fields"
fields=Request.Sender,Request.Trigger,App.Program,App.Build,App.License,App.Version,Connection.Type,Region.Continent,Region.Country,Client.OsVersion,Client.Language,Client.Architecture
"$bin/pivot-count" -f "$fields" --stats "$out/pivot-stats.json" --reject "$out/pivot-rejects.txt" \
  sample/telemetry > "$out/telemetry-pivot.csv"
head -5 "$out/telemetry-pivot.csv" | cut -c1-150

cat >&2 <<TXT

Outputs:
  $out/telemetry-pivot.csv   groups and counts (open in a spreadsheet)
  $out/pivot-stats.json      counters: lines in, records counted, rejected lines by reason
  $out/pivot-rejects.txt     rejected lines as source:line<TAB>reason<TAB>line
TXT
