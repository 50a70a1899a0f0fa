#!/usr/bin/env bash
# The day-of-logs benchmark (not run by CI): a scaled day of CloudFront logs through the whole
# job (parse, drop static, extract ids and event -> owners -> GeoIP -> 50,000-row gzip'd CSV files
# by event), beside the same job in DuckDB SQL and as `parallel zcat | awk` + `split --filter gzip`.
#
#   scripts/bench-day.sh [SIZE]        raw (uncompressed) size of the day, default 5G; the number
#                                      of files scales with it (2,000 for 5G, FILES=N to choose)
#   BENCH_DAY_DATA=DIR scripts/bench-day.sh SIZE    reuse logs already in DIR
#
# The onebox pipeline runs three times: on the local directory, the same writing gzip level 6
# instead of the job's default 1, and from S3 (moto's server on loopback, BENCH_DAY_S3=0 to
# skip).
# Prints for each run: wall, CPU seconds (user+sys), CPU utilisation of all cores, peak RSS, MB/s
# of raw log per wall second and per core; for onebox also each stage's CPU and peak RSS
# (/usr/bin/time wrappers around the tools), then rows per event of every run (they must agree)
# and a projection for a 500 GB day from the measured per-core rate.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
size=${1:-5G}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
bin=$(realpath -m "$CARGO_TARGET_DIR/release")
work=$root/target/bench/day
venv=$root/target/bench-venv
cores=$(nproc)
bytes=$(numfmt --from=iec "$size")
files=${FILES:-$(( bytes * 2000 / 5368709120 > 48 ? bytes * 2000 / 5368709120 : 48 ))}

command -v /usr/bin/time > /dev/null || apt-get install -y -qq time > /dev/null
command -v parallel > /dev/null || apt-get install -y -qq parallel > /dev/null
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb, maxminddb' 2> /dev/null \
  || "$venv/bin/pip" install -q --disable-pip-version-check duckdb maxminddb

cargo build --release -q --workspace --bins
export PATH="$bin:$PATH"
mkdir -p "$work"
data=${BENCH_DAY_DATA:-$work/logs-$size}
if [ ! -d "$data" ]; then
  onebox-gen cloudfront --out "$data" --files "$files" --size "$size" --seed 11 --gzip \
    --bad-rate 0.0005 --date 2017-01-15
fi
[ -d "$work/mmdb" ] || onebox-mmdb-gen "$work/mmdb" > /dev/null
city=$work/mmdb/onebox-City-Test.mmdb
asn=$work/mmdb/onebox-ASN-Test.mmdb
[ -s "$work/owners-$size.tsv" ] \
  || examples/cloudfront-day/make-owners.sh "$data" > "$work/owners-$size.tsv"
owners=$work/owners-$size.tsv
# The GeoIP databases as IPv4 range tables for DuckDB and awk (they have no MaxMind reader).
"$venv/bin/python" - "$city" "$asn" "$work" <<'PY'
import sys, maxminddb
city, asn, work = sys.argv[1:]
with open(f"{work}/city4.tsv", "w") as out:
    for net, rec in maxminddb.open_database(city):
        if net.version == 4:
            c = rec.get("country", {}).get("iso_code", "")
            n = rec.get("city", {}).get("names", {}).get("en", "")
            out.write(f"{int(net.network_address)}\t{int(net.broadcast_address)}\t{c}\t{n}\n")
with open(f"{work}/asn4.tsv", "w") as out:
    for net, rec in maxminddb.open_database(asn):
        if net.version == 4:
            a = rec.get("autonomous_system_number", "")
            out.write(f"{int(net.network_address)}\t{int(net.broadcast_address)}\t{a}\n")
PY

mapfile -t logs < <(find "$data" -type f -name '*.gz' | sort)
cat "${logs[@]}" > /dev/null # warm the page cache
gz=$(cat "${logs[@]}" | wc -c)
raw=$(gzip -dc "${logs[@]}" | wc -c)
mb=$(awk -v b="$raw" 'BEGIN {printf "%.0f", b / 1e6}')
echo "input: $mb MB raw ($((gz / 1000000)) MB gz) in ${#logs[@]} files, $cores cores"
printf '%-26s %8s %9s %6s %10s %8s %10s\n' run wall cpu util peak-rss MB/s MB/s/core

# row NAME TIMEFILE: one line of the table from /usr/bin/time -f '%e %U %S %M' output.
row() {
  read -r wall user sys rss < "$2"
  awk -v n="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v mb="$mb" -v c="$cores" 'BEGIN {
    printf "%-26s %7.2fs %8.2fs %5.0f%% %7.0fMiB %8.0f %10.0f\n",
      n, w, u + s, 100 * (u + s) / (w * c), r / 1024, mb / w, mb / w / c }'
}
# timed NAME CMD...: runs CMD under /usr/bin/time (CPU includes all children) and prints a row.
timed() {
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@"
  row "$name" "$work/$name.time"
}

# --- onebox: run.sh (one pipeline, every tool on all cores), each tool wrapped for its figures
wrap=$work/wrap
mkdir -p "$wrap" "$work/stages"
for t in cflog-parse kv-join geoip-enrich csv-chunk; do
  printf '#!/bin/sh\nexec /usr/bin/time -f "%%e %%U %%S %%M" -o "%s/stages/%s" "%s/%s" "$@"\n' \
    "$work" "$t" "$bin" "$t" > "$wrap/$t"
  chmod +x "$wrap/$t"
done
rm -rf "$work/onebox"
PATH="$wrap:$PATH" OWNERS=$owners CITY_DB=$city ASN_DB=$asn \
  timed onebox-pipeline examples/cloudfront-day/run.sh "$work/onebox" "$data"
for t in cflog-parse kv-join geoip-enrich csv-chunk; do
  row "  stage $t" "$work/stages/$t"
done

# --- onebox: the same pipeline writing its CSV files at gzip level 6 (LEVEL=6), gzip's usual,
# instead of the job's default 1. Deflate at level 6 is most of csv-chunk's CPU; level 1 costs
# about half as much, for files about 60% larger. The rows must be the same.
rm -rf "$work/onebox-level6"
OWNERS=$owners CITY_DB=$city ASN_DB=$asn LEVEL=6 \
  timed onebox-pipeline-level6 examples/cloudfront-day/run.sh "$work/onebox-level6" "$data"
if ! cmp -s <(cd "$work/onebox" && find . -name '*.csv.gz' | sort | xargs cat | gzip -dc) \
  <(cd "$work/onebox-level6" && find . -name '*.csv.gz' | sort | xargs cat | gzip -dc); then
  echo "LEVEL 1 AND LEVEL 6 OUTPUTS DIFFER" >&2
  exit 1
fi
echo "  (level 6: the same rows in $(du -sm "$work/onebox-level6" | cut -f1) MB of files, level 1: $(du -sm "$work/onebox" | cut -f1) MB)"

# --- onebox: the same pipeline reading the day from S3: moto's S3 server on loopback, listed by
# s3ls-logs, objects fetched by the tools' prefetch pool. CPU counts the tools, not the server
# (a separate process, which is likely the limit: it is Python). BENCH_DAY_S3=0 skips this.
if [ "${BENCH_DAY_S3:-1}" != 0 ]; then
  ONEBOX_SPARK_TEST=0 scripts/install-test-deps.sh
  . scripts/moto.sh
  moto_start "$root/target/test-venv"
  moto_upload "$data" day logs/
  rm -rf "$work/onebox-s3"
  AWS_ENDPOINT_URL=$moto_url OWNERS=$owners CITY_DB=$city ASN_DB=$asn timed onebox-s3-pipeline \
    bash -c 's3ls-logs s3://day/logs/ --date 2017-01-15 -0 | examples/cloudfront-day/run.sh "$1"' \
    _ "$work/onebox-s3"
  moto_stop
  if ! cmp -s <(cd "$work/onebox" && find . -name '*.csv.gz' | sort | xargs cat) \
    <(cd "$work/onebox-s3" && find . -name '*.csv.gz' | sort | xargs cat); then
    echo "S3 AND LOCAL OUTPUTS DIFFER" >&2
    exit 1
  fi
  echo "  (outputs from S3 and from the local directory are byte-identical)"
fi

# --- onebox: the Makefile, one hour per core, each tool -j1
make -s -f examples/cloudfront-day/Makefile OUT="$work/make" clean > /dev/null
timed onebox-make-j"$cores" make -s -f examples/cloudfront-day/Makefile -j"$cores" LOGS="$data" \
  OWNERS="$owners" CITY_DB="$city" ASN_DB="$asn" OUT="$work/make" BIN="$bin" 2> /dev/null

# --- DuckDB SQL, same filter, extraction, joins; CSV gzip'd per event
cols=$(for i in $(seq 33); do printf "'c%d':'VARCHAR'," "$i"; done)
static='css|js|mjs|map|png|jpg|jpeg|gif|svg|ico|webp|avif|bmp|woff|woff2|ttf|otf|eot|mp4|webm|m4v|mov|mp3|ogg|wav|txt|xml|webmanifest'
cat > "$work/duck.py" <<PY
import duckdb
con = duckdb.connect()
con.execute("SET threads = $cores")
con.execute("""CREATE TABLE owners AS SELECT * FROM read_csv('$owners', delim='\t', header=true,
  columns={'model_id':'VARCHAR','owner_id':'VARCHAR'})""")
con.execute("""CREATE TABLE city AS SELECT * FROM read_csv('$work/city4.tsv', delim='\t',
  header=false, columns={'lo':'BIGINT','hi':'BIGINT','country':'VARCHAR','city':'VARCHAR'})""")
con.execute("""CREATE TABLE asn AS SELECT * FROM read_csv('$work/asn4.tsv', delim='\t',
  header=false, columns={'lo':'BIGINT','hi':'BIGINT','asn':'VARCHAR'})""")
con.execute(r"""COPY (
  WITH raw AS (
    SELECT * FROM read_csv('$data/*.gz', delim='\t', header=false, comment='#', quote='',
      escape='', ignore_errors=true, columns={${cols%,}})
  ), req AS (
    SELECT c1 || 'T' || c2 || 'Z' AS timestamp, c5 AS c_ip, c6 AS cs_method, c8 AS cs_uri_stem,
      c9 AS sc_status, c4 AS sc_bytes, c19 AS time_taken, c11 AS cs_user_agent,
      nullif(regexp_extract(c8, '^/models/([0-9a-f-]+)', 1), '') AS model_id,
      CASE WHEN regexp_matches(c8, '^/models/[^/]+/download') THEN 'download'
           WHEN regexp_matches(c8, '^/models/') THEN 'view'
           WHEN regexp_matches(c8, '^/search') THEN 'search' END AS event,
      CASE WHEN regexp_matches(c5, '^[0-9.]+$') THEN
        split_part(c5, '.', 1)::BIGINT * 16777216 + split_part(c5, '.', 2)::BIGINT * 65536
        + split_part(c5, '.', 3)::BIGINT * 256 + split_part(c5, '.', 4)::BIGINT END AS ip4
    FROM raw
    WHERE NOT regexp_matches(lower(c8), '/[^/]*\.($static)$')
  )
  SELECT req.* EXCLUDE (ip4), owners.owner_id, city.country, city.city, asn.asn
  FROM req LEFT JOIN owners USING (model_id)
    LEFT JOIN city ON req.ip4 BETWEEN city.lo AND city.hi
    LEFT JOIN asn ON req.ip4 BETWEEN asn.lo AND asn.hi
  WHERE event IS NOT NULL
) TO '$work/duckdb' (FORMAT csv, HEADER true, PARTITION_BY (event), COMPRESSION gzip,
  OVERWRITE_OR_IGNORE true)""")
PY
rm -rf "$work/duckdb"
timed duckdb "$venv/bin/python" "$work/duck.py"

# --- parallel zcat | awk, then one awk splitting by event into split --filter gzip
cat > "$work/job.awk" <<AWK
BEGIN {
  FS = "\t"; OFS = ","
  while ((getline l < "$owners") > 0) { split(l, a, "\t"); owner[a[1]] = a[2] }
  while ((getline l < "$work/city4.tsv") > 0) { split(l, a, "\t"); n++; clo[n] = a[1]; chi[n] = a[2]; cc[n] = a[3]; cn[n] = a[4] }
  while ((getline l < "$work/asn4.tsv") > 0) { split(l, a, "\t"); m++; alo[m] = a[1]; ahi[m] = a[2]; an[m] = a[3] }
}
# Index of the range holding ip in lo[1..k] (sorted, disjoint), else 0: binary search.
function find(ip, lo, hi, k,   l, h, mid) {
  l = 1; h = k
  while (l <= h) { mid = int((l + h) / 2); if (ip < lo[mid]) h = mid - 1; else if (ip > hi[mid]) l = mid + 1; else return mid }
  return 0
}
function q(s) { if (s ~ /[",]/) { gsub(/"/, "\"\"", s); s = "\"" s "\"" }; return s }
/^#/ || NF != 33 { next }
{
  seg = \$8; sub(/.*\//, "", seg)
  if (tolower(seg) ~ /\.($static)$/) next
  if (\$8 ~ /^\/models\/[^\/]+\/download/) ev = "download"
  else if (\$8 ~ /^\/models\//) ev = "view"
  else if (\$8 ~ /^\/search/) ev = "search"
  else next
  model = match(\$8, /^\/models\/[0-9a-f-]+/) ? substr(\$8, 9, RLENGTH - 8) : ""
  ci = ai = 0
  if (split(\$5, o, ".") == 4) { ip = ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4]; ci = find(ip, clo, chi, n); ai = find(ip, alo, ahi, m) }
  print ev "\t" \$1 "T" \$2 "Z", \$5, \$6, q(\$8), \$9, \$4, \$19, q(\$11), model, owner[model], (ci ? cc[ci] : ""), (ci ? q(cn[ci]) : ""), (ai ? an[ai] : "")
}
AWK
rm -rf "$work/awk"
mkdir -p "$work/awk"
cat > "$work/awk-job.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
find "$data" -type f -name '*.gz' -print0 | sort -z \\
  | parallel -0 -X -j $cores "gzip -dc {} | awk -f $work/job.awk" \\
  | awk -v out="$work/awk" '{
      i = index(\$0, "\\t"); ev = substr(\$0, 1, i - 1)
      print substr(\$0, i + 1) | ("split -l 50000 -d -a 6 --additional-suffix=.csv --filter=\\"gzip > \\\\\$FILE.gz\\" - " out "/" ev "-")
    }'
SH
timed parallel-zcat-awk bash "$work/awk-job.sh"

# --- rows per event (data rows: the header rows subtracted): every run must give the same
echo
printf '%-10s %12s %12s %12s %12s\n' event onebox make duckdb awk
for ev in download view search; do
  a=$(find "$work/onebox" -name "requests-$ev-*.csv.gz" -exec gzip -dc {} + | wc -l)
  nfiles=$(find "$work/onebox" -name "requests-$ev-*.csv.gz" | wc -l)
  b=$(find "$work/make" -name "requests-$ev-*.csv.gz" -exec gzip -dc {} + | wc -l)
  bfiles=$(find "$work/make" -name "requests-$ev-*.csv.gz" | wc -l)
  c=$(find "$work/duckdb" -path "*event=$ev*" -name '*.gz' -exec gzip -dc {} + | wc -l)
  cfiles=$(find "$work/duckdb" -path "*event=$ev*" -name '*.gz' | wc -l)
  d=$(find "$work/awk" -name "$ev-*.csv.gz" -exec gzip -dc {} + | wc -l)
  printf '%-10s %12s %12s %12s %12s\n' "$ev" $((a - nfiles)) $((b - bfiles)) $((c - cfiles)) "$d"
done

# --- projection from the per-core rate of the onebox pipeline: measured (raw MB per wall second
# per core) and, for a machine where nothing else runs, per CPU second (all cores busy)
project() {
  read -r wall user sys rss < "$work/$1.time"
  awk -v name="$2" -v mb="$mb" -v w="$wall" -v cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" \
    -v c="$cores" 'BEGIN {
    r = mb / w / c; rc = mb / cpu
    printf "projection (%s): 500 GB day at %.0f MB/s raw per core (wall): %.1f min on %d cores, %.1f min on 32 cores\n",
      name, r, 500e3 / (r * c) / 60, c, 500e3 / (r * 32) / 60
    printf "projection (%s): 500 GB day at %.0f MB per CPU second (cores fully busy): %.1f min on %d cores, %.1f min on 32 cores\n",
      name, rc, 500e3 / (rc * c) / 60, c, 500e3 / (rc * 32) / 60 }'
}
echo
project onebox-pipeline "gzip level 1, the job's default"
project onebox-pipeline-level6 "gzip level 6"
