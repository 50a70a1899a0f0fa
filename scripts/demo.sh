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
export PATH="$PWD/target/release:$PATH"

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

say "CloudFront job"
models='^/models/(?P<model_id>[0-9a-f-]+)'
# A reference table of model owners, made up from the ids in the logs (in real life: a
# database export). It shows the tools composing: parse | count distinct | awk.
cflog-parse --fields cs_uri_stem --extract "$models" "$sample/cloudfront" 2> /dev/null \
  | pivot-count -f model_id -o tsv --no-header \
  | awk -F'\t' 'BEGIN {print "model_id\towner_id"} $1 != "" {printf "%s\towner-%03d\n", $1, NR % 97}' \
  > "$out/owners.tsv"

cflog-parse --drop-static \
    --fields timestamp,c_ip,cs_method,cs_uri_stem,sc_status,sc_bytes,time_taken,cs_user_agent \
    --extract "$models" \
    --event 'download=^/models/[^/]+/download' --event 'view=^/models/' --event 'search=^/search' \
    --events-only --stats "$out/cflog-stats.json" --reject "$out/cflog-rejects.txt" \
    "$sample/cloudfront" \
  | kv-join --table "$out/owners.tsv" --key model_id --add owner_id --stats "$out/kv-stats.json" \
  | geoip-enrich --db "$sample/mmdb/onebox-City-Test.mmdb" --db "$sample/mmdb/onebox-ASN-Test.mmdb" \
    --stats "$out/geo-stats.json" \
  | csv-chunk --out "$out/cloudfront/requests.csv.gz" --rows 50000 --by event \
    --manifest "$out/cloudfront/manifest.json" --stats "$out/chunk-stats.json" \
  > "$out/files.txt"
echo "$(wc -l < "$out/files.txt") CSV files:" >&2
sed 's/^/  /' "$out/files.txt" >&2
echo "first rows of $(head -1 "$out/files.txt"):" >&2
gzip -dc "$(head -1 "$out/files.txt")" | head -3 | cut -c1-160 >&2

say "telemetry job: unique combinations of 12 fields"
fields=Request.Sender,Request.Trigger,App.Program,App.Build,App.License,App.Version,Connection.Type,Region.Continent,Region.Country,Client.OsVersion,Client.Language,Client.Architecture
pivot-count -f "$fields" --stats "$out/pivot-stats.json" --reject "$out/pivot-rejects.txt" \
  "$sample/telemetry" > "$out/telemetry-pivot.csv"
head -4 "$out/telemetry-pivot.csv" | cut -c1-160 >&2

cat >&2 <<TXT

Outputs in $out/:
  cloudfront/*.csv.gz, cloudfront/manifest.json   the load-ready CSV files and COPY manifest
  telemetry-pivot.csv                             groups and counts (open in a spreadsheet)
  *-stats.json                                    each step's counters (lines in, kept,
                                                  filtered and rejected by reason)
  cflog-rejects.txt, pivot-rejects.txt            rejected lines: source:line<TAB>reason<TAB>line
TXT
