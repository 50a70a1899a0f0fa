#!/usr/bin/env bash
# Benchmark of S3 listing and fetch + parse against moto's S3 server on loopback (not run by CI).
#   scripts/bench-s3.sh [OBJECTS]    objects in the day, default 20000
#
# Generates OBJECTS gzip'd CloudFront logs for one day (onebox-gen, about 20 KiB raw each),
# uploads them to a fresh moto server, then times, one run each:
#   list   s3ls-logs --date (one prefix per hour, listed in parallel)  vs  aws s3 ls (one prefix)
#   fetch  s3ls-logs | cflog-parse --files-from - (3 hours of objects)  vs
#          aws s3 cp --recursive of the same objects, then cflog-parse on the local copy
# and prints objects/s and MB/s (compressed object bytes). Outputs of both fetch paths are
# checked equal. A loopback server measures the tools' overhead, not a network.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
work=target/bench/s3
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
bin=$CARGO_TARGET_DIR/release
venv=target/test-venv
dist=E2ABCDEF
day=2017-01-15

scripts/install-test-deps.sh
cargo build --release -q -p onebox-gen -p s3ls-logs -p cflog-parse
mkdir -p "$work"
data=$work/logs-$n
if [ ! -d "$data" ]; then
  "$bin/onebox-gen" cloudfront --out "$data" --files "$n" --size "$((n * 20))K" --seed 3 --gzip \
    --date "$day" --distribution "$dist"
fi

. scripts/moto.sh
moto_start "$venv"
ep=$moto_url
PATH=$bin:$venv/bin:$PATH

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }'; }

echo "uploading $n objects to moto at $ep ..." >&2
t0=$(now)
moto_upload "$data" bench logs/
echo "uploaded in $(secs "$t0" "$(now)") s" >&2

printf '\n%-44s %8s %8s %10s %8s\n' "step" "objects" "secs" "objects/s" "MB/s"
row() { printf '%-44s %8s %8s %10s %8s\n' "$1" "$2" "$3" "$(rate "$2" "$3")" "${4:-}"; }

# Listing a day.
t0=$(now)
s3ls-logs --endpoint-url "$ep" s3://bench/logs/ --date "$day" > "$work/list.txt"
s=$(secs "$t0" "$(now)")
row "s3ls-logs --date (24 prefixes in parallel)" "$(wc -l < "$work/list.txt")" "$s"
t0=$(now)
aws --endpoint-url "$ep" s3 ls "s3://bench/logs/$dist.$day" > "$work/awsls.txt"
s=$(secs "$t0" "$(now)")
row "aws s3 ls (one prefix, sequential pages)" "$(wc -l < "$work/awsls.txt")" "$s"

# Fetch + parse three hours of objects.
s3ls-logs --endpoint-url "$ep" s3://bench/logs/ --from "${day}T00" --to "${day}T02" --long -o tsv \
  | tail -n +2 > "$work/sel.tsv"
count=$(wc -l < "$work/sel.tsv")
bytes=$(awk -F'\t' '{ s += $3 } END { print s }' "$work/sel.tsv")
cut -f1 "$work/sel.tsv" > "$work/sel.txt"
t0=$(now)
cflog-parse --endpoint-url "$ep" --files-from "$work/sel.txt" --stats "$work/fetch.stats" > "$work/s3.ndjson"
s=$(secs "$t0" "$(now)")
row "cflog-parse s3:// (prefetch pool)" "$count" "$s" "$(mbps "$bytes" "$s")"
rm -rf "$work/dl"
t0=$(now)
aws --endpoint-url "$ep" s3 cp --recursive --quiet s3://bench/logs/ "$work/dl/" \
  --exclude '*' --include "$dist.$day-0[0-2].*"
cflog-parse "$work/dl" > "$work/local.ndjson"
s=$(secs "$t0" "$(now)")
row "aws s3 cp --recursive, then cflog-parse" "$(find "$work/dl" -type f | wc -l)" "$s" "$(mbps "$bytes" "$s")"
if cmp -s "$work/s3.ndjson" "$work/local.ndjson"; then
  echo "outputs equal ($(wc -l < "$work/s3.ndjson") records); cflog-parse stats: $(cat "$work/fetch.stats")"
else
  echo "OUTPUTS DIFFER" >&2
  exit 1
fi
