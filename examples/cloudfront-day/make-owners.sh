#!/usr/bin/env bash
# Makes up a look-up table of model owners from the model ids in a set of logs (in real life this
# table is a database export). Usage: make-owners.sh LOG... > owners.tsv
# It shows the tools composing: parse | count distinct | awk.
set -euo pipefail
cflog-parse --fields cs_uri_stem --extract '^/models/(?P<model_id>[0-9a-f-]+)' "$@" 2> /dev/null \
  | pivot-count -f model_id -o tsv --no-header \
  | awk -F'\t' 'BEGIN {print "model_id\towner_id"} $1 != "" {printf "%s\towner-%03d\n", $1, NR % 97}'
