#!/usr/bin/env bash
# The CloudFront job as one shell pipeline: parse the logs, drop static assets, extract the model
# id and the event -> add the model's owner -> add GeoIP fields -> 50,000-row gzip'd CSV files per
# event plus a Redshift COPY manifest. The Makefile beside this runs it once per hour.
#
# Usage: run.sh OUTDIR [LOG...]      LOG: files or directories; none: a NUL-separated list on stdin
#   e.g. find logs -name 'E2ABCDEF.2017-01-15-*' -print0 | OWNERS=owners.tsv ... run.sh out/day
#
# Environment (required): OWNERS (TSV: model_id, owner_id), CITY_DB and ASN_DB (MaxMind .mmdb).
# Optional: THREADS (each tool's -j, default: all cores), ROWS (rows per CSV file, default 50000),
# LEVEL (gzip level of the CSV files, 1 fastest to 9 smallest, default 1: the files are staging
# for a bulk load, and level 6, gzip's usual, costs the job about 30% more CPU for files about
# 35% smaller),
# URL_PREFIX (manifest URL base, e.g. s3://bucket/load/2017-01-15/; default: OUTDIR/).
#
# OUTDIR appears complete or not at all: everything is written to a temporary directory beside it
# that is renamed into place at the end (a failed run leaves nothing behind). A previous OUTDIR of
# this script (one holding manifest.json) is replaced; any other existing OUTDIR is an error.
# OUTDIR holds: <event>-NNNNNN.csv.gz, manifest.json, stats/<tool>.json, rejects.txt.
set -euo pipefail

out=${1:?usage: run.sh OUTDIR [LOG...]}
shift
: "${OWNERS:?set OWNERS to the owners table}" "${CITY_DB:?set CITY_DB}" "${ASN_DB:?set ASN_DB}"
threads=${THREADS:-$(nproc)}
rows=${ROWS:-50000}
level=${LEVEL:-1}
out=${out%/}
if [ -e "$out" ] && [ ! -f "$out/manifest.json" ]; then
  echo "run.sh: $out exists and is not an output of this job; not replacing it" >&2
  exit 1
fi
url_prefix=${URL_PREFIX:-$out/}

tmp=$(dirname -- "$out")/.$(basename -- "$out").tmp.$$
mkdir -p -- "$tmp/stats"
trap 'rm -rf -- "$tmp"' EXIT

if [ $# -gt 0 ]; then
  inputs=("$@")
else
  inputs=(--files-from - -0)
fi

models='^/models/(?P<model_id>[0-9a-f-]+)'
# TSV between the tools: the records have fixed columns here, and TSV is cheaper to write and
# to read again than NDJSON (the job takes about 15% less time). Bytes that are not UTF-8 pass
# through TSV as they are; csv-chunk writes them as U+FFFD (counted as utf8_repaired), as the
# JSON writer would have.
cflog-parse -j "$threads" -o tsv --drop-static \
    --fields timestamp,c_ip,cs_method,cs_uri_stem,sc_status,sc_bytes,time_taken,cs_user_agent \
    --extract "$models" \
    --event 'download=^/models/[^/]+/download' --event 'view=^/models/' --event 'search=^/search' \
    --events-only --stats "$tmp/stats/cflog-parse.json" --reject "$tmp/rejects.txt" \
    "${inputs[@]}" \
  | kv-join -j "$threads" --table "$OWNERS" --key model_id --add owner_id \
    --stats "$tmp/stats/kv-join.json" \
  | geoip-enrich -j "$threads" --db "$CITY_DB" --db "$ASN_DB" --stats "$tmp/stats/geoip-enrich.json" \
  | csv-chunk -j "$threads" --out "$tmp/requests.csv.gz" --rows "$rows" --level "$level" --by event \
    --manifest "$tmp/manifest.json" --url-prefix "$url_prefix" --stats "$tmp/stats/csv-chunk.json" \
  > /dev/null

# Into place: a previous output of this job goes first (the check above made sure it is one).
if [ -e "$out" ]; then
  mv -T -- "$out" "$tmp.old"
  rm -rf -- "$tmp.old"
fi
mv -T -- "$tmp" "$out"
