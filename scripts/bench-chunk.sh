#!/usr/bin/env bash
# Benchmark of csv-chunk (not run by CI).
#   scripts/bench-chunk.sh [SIZE]     SIZE of NDJSON records to generate (default 1G)
# Input: flat CloudFront-like NDJSON records (about 330 bytes, 14 fields) whose `event` field has
# two frequent values and one rare one (1 in 200000). Compared, on the same input and into
# 50000-row gzip files (level 6):
#   csv-chunk -j1 / -j2        NDJSON -> CSV -> 50000-row gzip files
#   split | gzip               split -l 50000 --filter 'gzip > $FILE.gz' (no CSV conversion)
#   DuckDB (2 threads)         COPY (SELECT * FROM read_ndjson(..)) TO .. (FORMAT csv,
#                              COMPRESSION gzip): one file, not chunked
#   csv-chunk -j2 --by event   the memory case of issue 4 (1 rare, 2 frequent families)
# Prints wall time, CPU time, peak RSS and input MB/s (total, per core, and per CPU-second,
# which stays meaningful when other jobs share the machine), and checks that
# the rows csv-chunk wrote equal the records in and that -j1 and -j2 files are byte-identical.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/csv-chunk
work=target/bench/chunk
venv=target/bench-venv
input=$work/cf-$size.ndjson

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install -q duckdb

cargo build --release -q -p csv-chunk
mkdir -p "$work"
if [ ! -s "$input" ]; then
  bytes=$(numfmt --from=iec "$size")
  "$venv/bin/python" - "$bytes" > "$input" <<'PY'
import json, random, sys
random.seed(7)
limit = int(sys.argv[1])
stems = ["/video/%d/seg-%d.ts", "/img/p%d/%d.jpg", "/api/v2/items/%d?page=%d", "/index.html?%d=%d"]
uas = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
       "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"]
edges = ["FRA56-P1", "IAD89-C2", "NRT57-P3", "GRU3-C1", "SIN2-P4"]
out, written, i = [], 0, 0
while written < limit:
    i += 1
    r = random.random()
    event = "rare" if i % 200000 == 0 else ("view" if r < 0.6 else "download")
    rec = {
        "date": "2024-05-%02d" % (1 + i // 3000000 % 28),
        "time": "%02d:%02d:%02d" % (i // 3600 % 24, i // 60 % 60, i % 60),
        "x_edge_location": random.choice(edges),
        "sc_bytes": random.randrange(200, 5000000),
        "c_ip": "%d.%d.%d.%d" % (random.randrange(1, 224), random.randrange(256), random.randrange(256), random.randrange(256)),
        "cs_method": "GET",
        "cs_uri_stem": random.choice(stems) % (random.randrange(10000), random.randrange(100)),
        "sc_status": random.choice([200, 200, 200, 206, 304, 404]),
        "cs_referer": None if r < 0.5 else "https://example.com/page/%d" % random.randrange(1000),
        "cs_user_agent": random.choice(uas),
        "x_edge_result_type": random.choice(["Hit", "Miss", "RefreshHit"]),
        "time_taken": round(random.random() * 2, 3),
        "event": event,
        "x_edge_request_id": "%032x" % random.getrandbits(128),
    }
    line = json.dumps(rec, separators=(",", ":")) + "\n"
    out.append(line)
    written += len(line)
    if len(out) == 10000:
        sys.stdout.write("".join(out)); out = []
sys.stdout.write("".join(out))
PY
fi
bytes=$(wc -c < "$input")
records=$(wc -l < "$input")
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1e6}')
echo "input: $mb MB, $records records, $(nproc) cores"

# run NAME CORES CMD...: one timed run into a fresh directory; prints a row of the table.
run() {
  local name=$1 cores=$2
  shift 2
  rm -rf "${work:?}/$name" && mkdir -p "$work/$name"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > "$work/$name.list"
  read -r wall user sys rss < "$work/time"
  local out_mb
  out_mb=$(du -sm "$work/$name" | cut -f1)
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v mb="$mb" -v c="$cores" -v o="$out_mb" \
    'BEGIN {printf "%-24s wall %6.2fs  cpu %6.2fs  rss %6.1f MiB  %4.0f MB/s  %4.0f MB/s/core  %4.0f MB/cpu-s  out %4d MB\n", n, w, u+s, r/1024, mb/w, mb/w/c, mb/(u+s), o}'
}

cat "$input" > /dev/null # warm the page cache
run csv-chunk-j1 1 "$bin" -j1 --out "$work/csv-chunk-j1/cf.csv.gz" --rows 50000 "$input"
run csv-chunk-j2 2 "$bin" -j2 --out "$work/csv-chunk-j2/cf.csv.gz" --rows 50000 "$input"
run split-gzip 2 split -l 50000 --filter 'gzip > $FILE.gz' "$input" "$work/split-gzip/cf-"
cat > "$work/duck.py" <<PY
import duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("""COPY (SELECT * FROM read_ndjson('$input')) TO '$work/duckdb-2threads/cf.csv.gz'
               (FORMAT csv, COMPRESSION gzip, HEADER true)""")
PY
run duckdb-2threads 2 "$venv/bin/python" "$work/duck.py"
run csv-chunk-j2-by-event 2 "$bin" -j2 --out "$work/csv-chunk-j2-by-event/cf.csv.gz" --rows 50000 --by event "$input"

# Checks: rows out = records in; -j1 and -j2 wrote the same bytes; the rare family was split
# off; the files are valid gzip.
rows=$(cat "$work"/csv-chunk-j2/*.csv.gz | gzip -dc | wc -l)
files=$(wc -l < "$work/csv-chunk-j2.list")
if [ "$((rows - files))" = "$records" ]; then
  echo "rows written = records in: $records rows in $files files"
else
  echo "MISMATCH: $((rows - files)) rows written, $records records in"; exit 1
fi
if diff -r -q "$work/csv-chunk-j1" "$work/csv-chunk-j2" > /dev/null; then
  echo "-j1 and -j2 files are byte-identical"
else
  echo "MISMATCH between -j1 and -j2 files"; exit 1
fi
echo "families: $(ls "$work/csv-chunk-j2-by-event" | sed 's/-[0-9]*\.csv\.gz$//' | sort | uniq -c | tr '\n' ' ')"
awk -v a="$(du -sb "$work/csv-chunk-j2" | cut -f1)" -v b="$(du -sb "$work/split-gzip" | cut -f1)" \
  'BEGIN {printf "compressed size: csv-chunk %.0f MB, split|gzip (NDJSON) %.0f MB\n", a/1e6, b/1e6}'
