#!/usr/bin/env bash
# The telemetry count (unique combinations of fields, for pivot tables), fanned out in different
# ways; every way gives byte-identical output, because partial counts merge exactly.
#
# Usage: count.sh MODE OUT.csv DIR...
#   single    one pivot-count over everything (it uses every core itself)
#   dirs      GNU parallel, one job per DIR (argument mode), then pivot-count --merge
#   files     GNU parallel, one job per file (find -print0 | parallel -0 -X), then merge
#   xargs     the same with xargs -0 -P, no GNU parallel needed
#   pipe      GNU parallel --pipe: one decompressed stream cut into blocks, a job per block,
#             NDJSON partials piped into the merge
#   ssh       GNU parallel --sshlogin "$SSHLOGINS" (e.g. "2/:,2/user@host"): one job per file on
#             the listed hosts; the files must be at the same paths there (a shared filesystem)
# Environment: FIELDS (comma-separated, default: the 12 telemetry fields), JOBS (concurrent jobs,
# default: cores). Each job runs pivot-count -j1, so JOBS jobs use JOBS cores, not JOBS x cores.
set -euo pipefail

mode=${1:?usage: count.sh MODE OUT.csv DIR...}
out=${2:?usage: count.sh MODE OUT.csv DIR...}
shift 2
[ $# -gt 0 ] || { echo "count.sh: no DIR given" >&2; exit 2; }
fields=${FIELDS:-Request.Sender,Request.Trigger,App.Program,App.Build,App.License,App.Version,Connection.Type,Region.Continent,Region.Country,Client.OsVersion,Client.Language,Client.Architecture}
jobs=${JOBS:-$(nproc)}

# Partial counts go to a private directory beside OUT; the output is renamed into place when
# complete, so OUT is never half written.
parts=$(mktemp -d "$(dirname -- "$out")/.count.XXXXXX")
trap 'rm -rf -- "$parts"' EXIT
export fields parts

# The logs, NUL-separated and sorted, so any name is safe and the job order is stable.
logs() { find "$@" -type f -print0 | sort -z; }

case $mode in
  single)
    pivot-count -f "$fields" "$@" > "$parts/out.csv"
    ;;
  dirs)
    # Argument mode: {} is the directory, {#} the job's sequence number (a unique part name).
    parallel -j "$jobs" --halt now,fail=1 \
      'pivot-count -j1 -o tsv -f "$fields" {} > "$parts"/{#}.tsv' ::: "$@"
    pivot-count --merge "$parts"/*.tsv > "$parts/out.csv"
    ;;
  files)
    # -0: NUL-separated names; -X: as many names per job as fit (like xargs), spread over jobs.
    logs "$@" | parallel -0 -X -j "$jobs" --halt now,fail=1 \
      'pivot-count -j1 -o tsv -f "$fields" {} > "$parts"/{#}.tsv'
    pivot-count --merge "$parts"/*.tsv > "$parts/out.csv"
    ;;
  xargs)
    # xargs has no job number, so each job makes its own unique part file.
    logs "$@" | xargs -0 -r -P "$jobs" -n 16 bash -c \
      'pivot-count -j1 -o tsv -f "$fields" "$@" > "$(mktemp --suffix .tsv "$parts/part.XXXXXX")"' part
    pivot-count --merge "$parts"/*.tsv > "$parts/out.csv"
    ;;
  pipe)
    # --pipe cuts stdin at newlines into --block sized pieces, one job's stdin each: everything
    # passes through parallel (one core's worth of copying), so argument modes are faster for
    # files. NDJSON partials need no header, so they stream straight into the merge.
    logs "$@" | xargs -0 -r gzip -dcf | parallel --pipe --block 8M -j "$jobs" --halt now,fail=1 \
      'pivot-count -j1 -o ndjson -f "$fields"' | pivot-count --merge > "$parts/out.csv"
    ;;
  ssh)
    # --files: each job's stdout is kept in a local temporary file, whose name is printed; the
    # remote side needs only the binaries on its PATH (--env PATH sends ours) and the inputs.
    : "${SSHLOGINS:?set SSHLOGINS, e.g. 1/:,1/user@host}"
    logs "$@" | parallel -0 --sshlogin "$SSHLOGINS" --env PATH --env fields --files \
      --tmpdir "$parts" --halt now,fail=1 'pivot-count -j1 -o tsv -f "$fields" {}' > "$parts/list"
    pivot-count --merge --files-from "$parts/list" > "$parts/out.csv"
    ;;
  *)
    echo "count.sh: unknown MODE $mode (single, dirs, files, xargs, pipe, ssh)" >&2
    exit 2
    ;;
esac
mv -f -- "$parts/out.csv" "$out"
