#!/usr/bin/env bash
# Builds onebox, generates sample data locally (no cloud needed) and runs both jobs end to end:
#   1. a day of CloudFront logs -> parse, drop static, extract ids and events -> owner look-up
#      -> GeoIP -> 50,000-row gzip'd CSV files per event type plus a Redshift COPY manifest;
#   2. telemetry NDJSON -> counts of unique combinations of 12 fields (for pivot tables).
# Usage: scripts/demo.sh [SIZE]   (raw size of each generated data set, default 200M)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200M}
sample=sample
out=out/demo
export PATH="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release:$PATH"

say() { printf '\n== %s\n' "$*" >&2; }

say "build (release)"
cargo build --release --workspace --bins --locked

say "generate sample data in $sample/ (CloudFront logs, GeoIP databases, telemetry)"
[ -d "$sample/cloudfront" ] || onebox-gen cloudfront --out "$sample/cloudfront" --files 48 \
  --size "$size" --seed 1 --gzip --bad-rate 0.0005 --date 2017-01-15
[ -d "$sample/mmdb" ] || onebox-mmdb-gen "$sample/mmdb" > /dev/null
[ -d "$sample/telemetry" ] || onebox-gen telemetry --out "$sample/telemetry" --files 8 \
  --size "$size" --seed 1 --gzip --bad-rate 0.0005
rm -rf "$out"
mkdir -p "$out"

say "CloudFront job (examples/cloudfront-day/run.sh; the Makefile there runs it per hour)"
# A reference table of model owners, made up from the ids in the logs (in real life: a
# database export).
examples/cloudfront-day/make-owners.sh "$sample/cloudfront" > "$out/owners.tsv"
OWNERS="$out/owners.tsv" CITY_DB="$sample/mmdb/onebox-City-Test.mmdb" \
  ASN_DB="$sample/mmdb/onebox-ASN-Test.mmdb" \
  examples/cloudfront-day/run.sh "$out/cloudfront" "$sample/cloudfront"
grep -o '"url":"[^"]*"' "$out/cloudfront/manifest.json" | cut -d'"' -f4 > "$out/files.txt"
echo "$(wc -l < "$out/files.txt") CSV files:" >&2
sed 's/^/  /' "$out/files.txt" >&2
echo "first rows of $(head -1 "$out/files.txt"):" >&2
# (gzip stops early when head has its lines: SIGPIPE is expected there.)
(gzip -dc "$(head -1 "$out/files.txt")" || true) | head -3 | cut -c1-160 >&2

say "telemetry job: unique combinations of 12 fields"
fields=Request.Sender,Request.Trigger,App.Program,App.Build,App.License,App.Version,Connection.Type,Region.Continent,Region.Country,Client.OsVersion,Client.Language,Client.Architecture
pivot-count -f "$fields" --stats "$out/pivot-stats.json" --reject "$out/pivot-rejects.txt" \
  "$sample/telemetry" > "$out/telemetry-pivot.csv"
head -4 "$out/telemetry-pivot.csv" | cut -c1-160 >&2

cat >&2 <<TXT

Outputs in $out/:
  cloudfront/*.csv.gz, cloudfront/manifest.json   the load-ready CSV files and COPY manifest
  telemetry-pivot.csv                             groups and counts (open in a spreadsheet)
  cloudfront/stats/*.json, pivot-stats.json       each step's counters (lines in, kept,
                                                  filtered and rejected by reason)
  cloudfront/rejects.txt, pivot-rejects.txt       rejected lines: source:line<TAB>reason<TAB>line
TXT
