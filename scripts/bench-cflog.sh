#!/usr/bin/env bash
# Benchmark of cflog-parse on generated CloudFront logs (not run by CI).
#   scripts/bench-cflog.sh [SIZE]      SIZE of raw (uncompressed) logs to generate, default 1G
#   CFLOG_BENCH_DATA=DIR scripts/bench-cflog.sh    use the gz logs already in DIR instead
#
# Each run is timed BENCH_ROUNDS times (default 3) and the median shown; same files, page cache
# warm. Prints wall time, CPU time (user+sys), peak RSS and MB/s of raw (uncompressed) log per
# wall second and per core, for:
#   floor-jN       decompression alone with the same libraries and buffers (examples/cflog-floor),
#                  one process per core over a share of the files: the floor cflog-parse is held to
#                  (small files whole with libdeflate, as cflog-parse reads them)
#   floor-stream-j1  the same with the streaming zlib-rs decoder for every file
#   gzip -dc, libdeflate-gunzip   other decompressors, one core (libdeflate-tools if installable)
#   cflog-parse    --drop-static --fields F to NDJSON and TSV, -j1 and -j2 (outputs checked equal),
#                  to a file; and NDJSON to /dev/null (">null"), without the file's page-cache cost
#   zcat | awk     the same static filter and columns with awk -F'\t' (no percent-decoding)
#   duckdb         read_csv of the same files, same filter and columns, COPY to a TSV file
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
work=target/bench/cflog
venv=target/bench-venv
fields=timestamp,c_ip,cs_method,cs_uri_stem,sc_status,cs_user_agent,cs_uri_query,sc_bytes,time_taken,x_edge_result_type
static_re='css|js|mjs|map|png|jpg|jpeg|gif|svg|ico|webp|avif|bmp|woff|woff2|ttf|otf|eot|mp4|webm|m4v|mov|mp3|ogg|wav|txt|xml|webmanifest'
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
bin=$CARGO_TARGET_DIR/release

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
command -v libdeflate-gunzip >/dev/null || apt-get install -y -qq libdeflate-tools >/dev/null 2>&1 || true
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install -q duckdb

cargo build --release -q -p cflog-parse --bin cflog-parse --example cflog-floor
mkdir -p "$work"
if [ -n "${CFLOG_BENCH_DATA:-}" ]; then
  data=$CFLOG_BENCH_DATA
else
  data=$work/cloudfront-$size
  if [ ! -d "$data" ]; then
    cargo build --release -q -p onebox-gen
    "$bin/onebox-gen" cloudfront --out "$data" --files 48 --size "$size" --seed 7 --gzip
  fi
fi
mapfile -t files < <(find "$data" -type f -name '*.gz' | sort)
cores=$(nproc)
cat "${files[@]}" > /dev/null # warm the page cache
raw=$("$bin/examples/cflog-floor" "${files[@]}" 2>&1 | awk '{print $2}')
mb=$(awk -v b="$raw" 'BEGIN {printf "%.0f", b / 1e6}')
gz=$(cat "${files[@]}" | wc -c)
echo "input: $mb MB raw ($((gz / 1000000)) MB gz) in ${#files[@]} files, $cores cores"
printf '%-20s %8s %8s %9s %9s %11s %8s\n' run wall cpu rss MB/s MB/s/core vs-floor

floor_wall=
# run NAME CORES CMD...: BENCH_ROUNDS timed runs (default 3), stdout to $work/NAME.out (to
# /dev/null with discard=1); prints a row of the table for the run of median wall time (this
# VM's page-cache reclaimer makes a single run 20-50% slow now and then).
run() {
  local name=$1 cores=$2 i out="$work/$1.out"
  shift 2
  [ -z "${discard:-}" ] || out=/dev/null
  for ((i = 0; i < ${BENCH_ROUNDS:-3}; i++)); do
    # Earlier runs' output files are written back to disk first, not during this run (the
    # kernel's flusher starts 30 s after a write, and took CPU from whatever ran then).
    sync
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > "$out"
    cat "$work/time"
  done | sort -n | awk '{ row[NR] = $0 } END { print row[int((NR + 1) / 2)] }' > "$work/time.median"
  mv "$work/time.median" "$work/time"
  read -r wall user sys rss < "$work/time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v mb="$mb" -v c="$cores" \
    -v f="${floor_wall:-}" 'BEGIN {
      ratio = (f == "") ? "-" : sprintf("%.2fx", w / f)
      printf "%-20s %7.2fs %7.2fs %6.1fMiB %9.0f %11.0f %8s\n", n, w, u+s, r/1024, mb/w, mb/w/c, ratio }'
}

# The floor, one process per core over an equal share of the files.
half=$(( (${#files[@]} + 1) / 2 ))
run floor-j1 1 "$bin/examples/cflog-floor" "${files[@]}" 2>/dev/null
floor1=$(awk '{print $1}' "$work/time")
run floor-stream-j1 1 "$bin/examples/cflog-floor" --stream "${files[@]}" 2>/dev/null
run floor-j2 2 bash -c "printf '%s\n' \"\$@\" | xargs -P2 -n $half $bin/examples/cflog-floor 2>/dev/null" _ "${files[@]}"
floor2=$(awk '{print $1}' "$work/time")
run gzip-dc 1 bash -c 'gzip -dc "$@" > /dev/null' _ "${files[@]}"
if command -v libdeflate-gunzip >/dev/null; then
  run libdeflate-gunzip 1 bash -c 'for f; do libdeflate-gunzip -c "$f"; done > /dev/null' _ "${files[@]}"
fi

for j in 1 2; do
  floor_wall=$([ "$j" = 1 ] && echo "$floor1" || echo "$floor2")
  run "cflog-ndjson-j$j" "$j" "$bin/cflog-parse" -j"$j" --drop-static --fields "$fields" "$data"
  run "cflog-tsv-j$j" "$j" "$bin/cflog-parse" -j"$j" -o tsv --drop-static --fields "$fields" "$data"
done
# NDJSON again with the output thrown away: the parser's own cost, without the page-cache
# writes of the ~90 MB output file above (the floor writes nothing).
for j in 1 2; do
  floor_wall=$([ "$j" = 1 ] && echo "$floor1" || echo "$floor2")
  discard=1 run "cflog-ndjson-j$j>null" "$j" "$bin/cflog-parse" -j"$j" --drop-static \
    --fields "$fields" "$data"
done
for o in ndjson tsv; do
  if cmp -s "$work/cflog-$o-j1.out" "$work/cflog-$o-j2.out"; then
    echo "cflog-parse -j1 and -j2 $o outputs are byte-identical ($(wc -l < "$work/cflog-$o-j1.out") lines)"
  else
    echo "MISMATCH between -j1 and -j2 $o outputs"; exit 1
  fi
done
floor_wall=$floor1

# zcat | awk: the same filter and columns (no percent-decoding, no validation).
awk_prog='/^#/ {next}
{ n = split($8, seg, "/"); if (tolower(seg[n]) ~ /\.('"$static_re"')$/) next
  print $1 "T" $2 "Z", $5, $6, $8, $9, $11, $12, $4, $19, $14 }'
run zcat-awk 2 bash -c 'zcat "$@" | awk -F"\t" -v OFS="\t" "$0"' "$awk_prog" "${files[@]}"
floor_wall=$floor2

names="date time x_edge_location sc_bytes c_ip cs_method cs_host cs_uri_stem sc_status cs_referer
cs_user_agent cs_uri_query cs_cookie x_edge_result_type x_edge_request_id x_host_header cs_protocol
cs_bytes time_taken x_forwarded_for ssl_protocol ssl_cipher x_edge_response_result_type
cs_protocol_version fle_status fle_encrypted_fields c_port time_to_first_byte
x_edge_detailed_result_type sc_content_type sc_content_len sc_range_start sc_range_end"
cols=$(for n in $names; do printf "'%s': 'VARCHAR', " "$n"; done)
cat > "$work/duck.py" <<PY
import duckdb, sys
con = duckdb.connect()
con.execute(r"""
COPY (
  SELECT date || 'T' || time || 'Z' AS timestamp, c_ip, cs_method, cs_uri_stem, sc_status,
         cs_user_agent, cs_uri_query, sc_bytes, time_taken, x_edge_result_type
  FROM read_csv('$data/*.gz', delim = '\t', header = false, comment = '#', quote = '',
                escape = '', auto_detect = false, ignore_errors = true, columns = {$cols})
  WHERE NOT regexp_matches(lower(cs_uri_stem), '\.($static_re)$')
) TO '$work/duckdb.tsv' (FORMAT csv, DELIMITER '\t', HEADER true, QUOTE '')
""")
PY
run duckdb "$cores" "$venv/bin/python" "$work/duck.py"
echo "duckdb rows: $(($(wc -l < "$work/duckdb.tsv") - 1)); zcat|awk rows: $(wc -l < "$work/zcat-awk.out")"
