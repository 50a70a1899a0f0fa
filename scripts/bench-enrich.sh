#!/usr/bin/env bash
# Benchmark of geoip-enrich and kv-join (not run by CI).
#   scripts/bench-enrich.sh [RECORDS] [TABLE_ROWS]   (defaults: 2000000 records, 1000000 rows)
# Input: NDJSON CloudFront-like records (about 330 bytes each) whose c_ip values come from the
# fixture networks (scripts/gen's viewer networks) plus 1 in 12 from documentation ranges.
# geoip-enrich adds 5 geo fields from the fixture City database (onebox-mmdb-gen), compared with
# a Python loop over maxminddb's C extension doing the same (read JSON, look up, write JSON) and
# with mmdblookup (one process per address, so timed on a sample). kv-join joins a TABLE_ROWS
# table. Prints wall time, CPU, peak RSS and records/s (total and per core), each the median of
# BENCH_ROUNDS runs (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000000}
rows=${2:-1000000}
target=${CARGO_TARGET_DIR:-target}
work=target/bench/enrich
venv=target/bench-venv
bin=$target/release

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import maxminddb' 2>/dev/null || "$venv/bin/pip" install -q maxminddb

cargo build --release -q -p geoip-enrich -p kv-join -p onebox-tests --bin onebox-mmdb-gen --bin geoip-enrich --bin kv-join
mkdir -p "$work"
"$bin/onebox-mmdb-gen" "$work" > /dev/null
city=$work/onebox-City-Test.mmdb
input=$work/cf-$records.ndjson
if [ ! -s "$input" ]; then
  # Written aside and renamed, so an interrupted run never leaves a truncated input to reuse.
  "$venv/bin/python" - "$records" > "$input.tmp" <<'PY'
import json, random, sys
random.seed(7)
nets4 = ["81.2", "216.160", "151.38", "5.146", "89.160", "186.192", "175.16", "1.128", "49.96", "41.0"]
nets6 = ["2600:1700", "2001:218", "2a02:c7f", "2a01:e0a", "2804:14c"]
outside = ["192.0.2.", "198.51.100.", "203.0.113."]
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    r = random.random()
    if r < 1 / 12:
        ip = random.choice(outside) + str(random.randrange(256))
    elif r < 0.3:
        ip = "%s:%x::%x" % (random.choice(nets6), random.randrange(65536), random.randrange(65536))
    else:
        ip = "%s.%d.%d" % (random.choice(nets4), random.randrange(256), random.randrange(256))
    rec = {"timestamp": "2026-05-01T12:%02d:%02dZ" % (i // 60 % 60, i % 60), "x_edge_location": "FRA56-P1",
           "sc_bytes": random.randrange(200, 900000), "c_ip": ip, "cs_method": "GET",
           "cs_host": "d111111abcdef8.cloudfront.net", "cs_uri_stem": "/models/m%d/file.bin" % random.randrange(1000000),
           "sc_status": 200, "cs_user_agent": "Mozilla/5.0 (X11; Linux x86_64) Example/1.0",
           "x_edge_result_type": "Hit", "time_taken": 0.012, "ssl_protocol": "TLSv1.3",
           "model_id": "m%d" % random.randrange(1200000)}
    w(json.dumps(rec, separators=(",", ":")) + "\n")
PY
  mv "$input.tmp" "$input"
fi
bytes=$(wc -c < "$input")
echo "input: $records records, $((bytes / 1000000)) MB, $(nproc) cores"
cat "$input" > /dev/null # warm the page cache

# timed CMD...: ROUNDS runs (default 3; rounds=1 for the slow Python loop) with the output
# thrown away (writing a GB to disk would be timed too); leaves in $work/time the wall, user,
# sys and RSS of the run of median wall time: this VM's page-cache reclaimer makes single runs
# 20-50% slow now and then.
timed() {
  local i
  for ((i = 0; i < ${rounds:-${BENCH_ROUNDS:-3}}; i++)); do
    # The input from the page cache, as every run reads it: the outputs written since (GBs)
    # may have pushed it out.
    cat "$input" > /dev/null
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > /dev/null
    cat "$work/time"
  done | sort -n | awk '{ row[NR] = $0 } END { print row[int((NR + 1) / 2)] }' > "$work/time.median"
  mv "$work/time.median" "$work/time"
}

# run NAME CORES CMD...: the timed runs, then an untimed one keeping the output for the
# comparisons; prints a row. With keep=no, only the timed runs; run_records=N when the run
# reads other than $records.
run() {
  local name=$1 cores=$2
  shift 2
  timed "$@"
  if [ "${keep:-yes}" = yes ]; then
    "$@" > "$work/$name.out"
    # Written back now, not by the kernel's flusher during the next timed run, where it took
    # CPU from a -j2 run that has no core to spare.
    sync "$work/$name.out"
  fi
  read -r wall user sys rss < "$work/time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v recs="${run_records:-$records}" -v c="$cores" \
    'BEGIN {printf "%-24s wall %6.2fs  cpu %6.2fs  rss %6.1f MiB  %6.2f M rec/s  %6.2f M rec/s/core\n", n, w, u+s, r/1024, recs/w/1e6, recs/w/c/1e6}'
}

fields=country_iso,subdivision_iso,city,lat,lon
run geoip-enrich-j1 1 "$bin/geoip-enrich" -j1 --db "$city" --fields "$fields" "$input"
run geoip-enrich-j2 2 "$bin/geoip-enrich" -j2 --db "$city" --fields "$fields" "$input"
run geoip-enrich-j1-nocache 1 "$bin/geoip-enrich" -j1 --cache 0 --db "$city" --fields "$fields" "$input"
cmp -s "$work/geoip-enrich-j1.out" "$work/geoip-enrich-j2.out" \
  && echo "-j1 and -j2 outputs are byte-identical" || { echo "MISMATCH -j1 vs -j2"; exit 1; }

cat > "$work/enrich.py" <<'PY'
import json, sys, maxminddb
r = maxminddb.open_database(sys.argv[1], maxminddb.MODE_MMAP_EXT)
out = sys.stdout.write
for line in open(sys.argv[2], encoding="utf-8"):
    rec = json.loads(line)
    g = None
    ip = rec.get("c_ip")
    if ip:
        try:
            g = r.get(ip)
        except ValueError:
            g = None
    g = g or {}
    subs = g.get("subdivisions") or [{}]
    loc = g.get("location") or {}
    rec["geo_country_iso"] = (g.get("country") or {}).get("iso_code")
    rec["geo_subdivision_iso"] = subs[0].get("iso_code")
    rec["geo_city"] = ((g.get("city") or {}).get("names") or {}).get("en")
    rec["geo_lat"] = loc.get("latitude")
    rec["geo_lon"] = loc.get("longitude")
    out(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
PY
rounds=1 run python-maxminddb-ext 1 "$venv/bin/python" "$work/enrich.py" "$city" "$input"
"$venv/bin/python" - "$work/geoip-enrich-j1.out" "$work/python-maxminddb-ext.out" <<'PY'
import json, sys
a, b = open(sys.argv[1]), open(sys.argv[2])
n = 0
for x, y in zip(a, b):
    if json.loads(x) != json.loads(y):
        sys.exit("geoip-enrich and Python differ at record %d:\n%s%s" % (n + 1, x, y))
    n += 1
print("geoip-enrich and the Python loop agree on all %d records" % n)
PY

if command -v mmdblookup >/dev/null; then
  # mmdblookup takes one address per process: time 2000 look-ups and scale.
  head -2000 "$input" | sed 's/.*"c_ip":"\([^"]*\)".*/\1/' > "$work/ips"
  start=$(date +%s.%N)
  while read -r ip; do mmdblookup --file "$city" --ip "$ip" country iso_code > /dev/null || true; done < "$work/ips"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN {printf "%-24s %6.0f look-ups/s (one process per address; cannot be driven in bulk)\n", "mmdblookup", 2000/(e-s)}'
else
  echo "mmdblookup not installed (apt-get install mmdb-bin); skipped"
fi

table=$work/table-$rows.tsv
if [ ! -s "$table" ]; then
  awk -v n="$rows" 'BEGIN {print "model_id\tcreator_id\ttier"; for (i = 0; i < n; i++) printf "m%d\tc%d\t%s\n", i, i % 50000, (i % 3 ? "free" : "pro")}' > "$table"
fi
echo "kv-join table: $rows rows"
run kv-join-j1 1 "$bin/kv-join" -j1 --table "$table" --key model_id --add creator_id,tier "$input"
read -r _ join_user join_sys _ < "$work/time"
run kv-join-j2 2 "$bin/kv-join" -j2 --table "$table" --key model_id --add creator_id,tier "$input"
cmp -s "$work/kv-join-j1.out" "$work/kv-join-j2.out" \
  && echo "-j1 and -j2 outputs are byte-identical" || { echo "MISMATCH -j1 vs -j2"; exit 1; }
timed "$bin/kv-join" --table "$table" --key model_id /dev/null
read -r wall user sys rss < "$work/time"
echo "kv-join table load alone: ${wall}s, rss $((rss / 1024)) MiB"
# The join's own rate at -j1: the run's CPU less the load's (a one-off cost per run).
awk -v ju="$join_user" -v js="$join_sys" -v lu="$user" -v ls="$sys" -v recs="$records" \
  'BEGIN {printf "kv-join -j1 joining alone: cpu %.2fs (load %.2fs)  %.2f M rec/s/core\n", ju+js-lu-ls, lu+ls, recs/(ju+js-lu-ls)/1e6}'
# At scale the load is paid once for many records: the input four times over (as four
# sources, read one after another at -j1), load included.
run_records=$((records * 4)) keep=no run kv-join-j1-input-x4 1 "$bin/kv-join" -j1 --table "$table" \
  --key model_id --add creator_id,tier "$input" "$input" "$input" "$input"
