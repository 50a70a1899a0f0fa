#!/usr/bin/env bash
# Benchmark and cross-check of pivot-count on generated telemetry (not run by CI).
#   scripts/bench-pivot.sh [SIZE]     SIZE of telemetry to generate (default 1G)
# Prints wall time, CPU time, peak RSS and MB/s per core for pivot-count (-j1, -j2), DuckDB and
# a grep | jq | sort | uniq -c pipeline on a slice, and checks that pivot-count's groups and
# counts equal DuckDB's GROUP BY on the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
work=target/bench/pivot
data=$work/telemetry-$size
venv=target/bench-venv
fields=Request.Sender,Request.Trigger,App.Program,App.Build,App.License,App.Version,Connection.Type,Region.Continent,Region.Country,Client.OsVersion,Client.Language,Client.Architecture

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install -q duckdb
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null

cargo build --release -q -p pivot-count -p onebox-gen
mkdir -p "$work"
if [ ! -d "$data" ]; then
  target/release/onebox-gen telemetry --out "$data" --files 16 --size "$size" --seed 7
fi
bytes=$(cat "$data"/* | wc -c)
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1e6}')
echo "input: $mb MB in $(ls "$data" | wc -l) files, $(nproc) cores"

# run NAME CORES CMD...: one timed run; prints a row of the table.
run() {
  local name=$1 cores=$2
  shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > "$work/$name.out"
  read -r wall user sys rss < "$work/time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v mb="$mb" -v c="$cores" \
    'BEGIN {printf "%-22s wall %6.2fs  cpu %6.2fs  rss %6.1f MiB  %7.0f MB/s  %6.0f MB/s/core\n", n, w, u+s, r/1024, mb/w, mb/w/c}'
}

cat "$data"/* > /dev/null # warm the page cache
run pivot-count-j1 1 target/release/pivot-count -j1 -f "$fields" "$data"
run pivot-count-j2 2 target/release/pivot-count -j2 -f "$fields" "$data"
if cmp -s "$work/pivot-count-j1.out" "$work/pivot-count-j2.out"; then
  echo "-j1 and -j2 outputs are byte-identical"
else
  echo "MISMATCH between -j1 and -j2 outputs"; exit 1
fi

duck_sql="
SELECT Request.Sender, Request.Trigger, App.Program, App.Build, App.License, App.Version,
       Connection.Type, Region.Continent, Region.Country, Client.OsVersion, Client.Language,
       Client.Architecture, count(*) AS count
FROM read_ndjson('$data/*', ignore_errors = true, columns = {
  Request: 'STRUCT(Sender VARCHAR, Trigger VARCHAR)',
  App: 'STRUCT(Program VARCHAR, Build VARCHAR, License VARCHAR, Version VARCHAR)',
  Connection: 'STRUCT(Type VARCHAR)',
  Region: 'STRUCT(Continent VARCHAR, Country VARCHAR)',
  Client: 'STRUCT(OsVersion VARCHAR, Language VARCHAR, Architecture VARCHAR)'})
WHERE Request IS NOT NULL
GROUP BY ALL"
cat > "$work/duck.py" <<PY
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("""COPY ($duck_sql) TO '$work/duckdb.csv' (HEADER false)""")
PY
run duckdb-2threads 2 "$venv/bin/python" "$work/duck.py"

# The same count as a classic shell pipeline, on a 100 MB slice (it is slow).
slice=$work/slice.ndjson
head -c 100000000 <(cat "$data"/*) | sed '$d' > "$slice"
jq_filter='[.Request.Sender,.Request.Trigger,.App.Program,.App.Build,.App.License,.App.Version,.Connection.Type,.Region.Continent,.Region.Country,.Client.OsVersion,.Client.Language,.Client.Architecture] | @tsv'
smb=$(($(wc -c < "$slice") / 1000000))
/usr/bin/time -f '%e %U %S %M' -o "$work/time" bash -c \
  "grep -v '^#' '$slice' | jq -r '$jq_filter' | LC_ALL=C sort | uniq -c > '$work/jq.out'"
read -r wall user sys rss < "$work/time"
awk -v w="$wall" -v mb="$smb" 'BEGIN {printf "%-22s wall %6.2fs  on a %d MB slice: %7.1f MB/s\n", "grep|jq|sort|uniq", w, mb, mb/w}'

# Correctness: the same groups and counts as DuckDB (as sorted CSV lines).
target/release/pivot-count -j2 -f "$fields" --no-header "$data" | LC_ALL=C sort > "$work/ours.sorted"
LC_ALL=C sort "$work/duckdb.csv" > "$work/duck.sorted"
if cmp -s "$work/ours.sorted" "$work/duck.sorted"; then
  echo "groups and counts equal DuckDB's: $(wc -l < "$work/ours.sorted") groups"
else
  echo "MISMATCH with DuckDB (see $work/ours.sorted, $work/duck.sorted)"
  diff "$work/ours.sorted" "$work/duck.sorted" | head -5
  exit 1
fi
