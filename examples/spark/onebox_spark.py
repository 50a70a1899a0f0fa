"""The onebox tools on Spark: each tool is an rdd.pipe() stage (records in on stdin, records out
on stdout), and pivot-count is a Hadoop-Streaming-style mapper and reducer (partial counts as
NDJSON, merged by `pivot-count --merge`).

    python onebox_spark.py telemetry OUT.csv FIELDS FILE...
        map: pivot-count -o ndjson per partition; reduce: pivot-count --merge in one partition
    python onebox_spark.py cloudfront OUT.ndjson OWNERS CITY_DB ASN_DB FILE...
        cflog-parse | kv-join | geoip-enrich as one pipe() stage per partition

The tools must be on PATH on every worker. Gzip'd files are not splittable, so each file is one
partition: CloudFront files keep their #Fields line in their own partition, as cflog-parse needs.
Spark's own parallelism runs the partitions, so every tool runs with -j1. textFile decodes lines
as UTF-8, replacing invalid bytes with U+FFFD, so lines the tools would reject as invalid UTF-8
arrive repaired (use binaryFiles and decompress yourself to pass bytes through untouched).
"""

import os
import shlex
import sys

from pyspark import SparkConf, SparkContext


def spark():
    conf = SparkConf().setMaster("local[2]").setAppName("onebox")
    conf.set("spark.ui.enabled", "false")
    sc = SparkContext(conf=conf)
    sc.setLogLevel("ERROR")
    return sc


# pipe() starts its command with an empty environment unless given one: pass the driver's PATH
# (in local mode the workers share it; on a cluster, install the tools at the same path).
ENV = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}


def shell(pipeline):
    """A pipe() command running a shell pipeline (pipe() itself splits the command, no shell)."""
    return "bash -o pipefail -c " + shlex.quote(pipeline)


def telemetry(sc, out, fields, files):
    lines = sc.textFile(",".join(files))
    partials = lines.pipe(f"pivot-count -j1 -o ndjson -f {shlex.quote(fields)}", env=ENV)
    total = partials.coalesce(1).pipe("pivot-count -j1 --merge", env=ENV)
    write(out, total.collect())


def cloudfront(sc, out, owners, city, asn, files):
    stage = shell(
        "cflog-parse -j1 --drop-static"
        " --fields timestamp,c_ip,cs_method,cs_uri_stem,sc_status,sc_bytes,time_taken,cs_user_agent"
        " --extract '^/models/(?P<model_id>[0-9a-f-]+)'"
        " --event 'download=^/models/[^/]+/download' --event 'view=^/models/'"
        " --event 'search=^/search' --events-only 2> /dev/null"
        f" | kv-join -j1 --table {shlex.quote(owners)} --key model_id --add owner_id"
        f" | geoip-enrich -j1 --db {shlex.quote(city)} --db {shlex.quote(asn)}"
    )
    records = sc.textFile(",".join(files)).pipe(stage, env=ENV)
    write(out, records.collect())


def write(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def main(argv):
    mode, out, *rest = argv
    sc = spark()
    try:
        if mode == "telemetry":
            telemetry(sc, out, rest[0], rest[1:])
        elif mode == "cloudfront":
            cloudfront(sc, out, rest[0], rest[1], rest[2], rest[3:])
        else:
            raise SystemExit(f"unknown mode {mode}")
    finally:
        sc.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
