# Shared by the benchmarks that read from S3 (source it): moto's S3 server on loopback.
#   moto_start VENV          starts VENV/bin/moto_server on a free port, waits until it listens,
#                            exports test credentials; sets moto_url and moto_pid
#   moto_upload DIR BUCKET PREFIX   creates BUCKET and puts every file of DIR under PREFIX
#   moto_stop                stops the server
# The caller installs moto first (scripts/install-test-deps.sh).

moto_start() {
  moto_python=$1/bin/python
  local port
  port=$("$moto_python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$1/bin/moto_server" -H 127.0.0.1 -p "$port" > /dev/null 2>&1 &
  moto_pid=$!
  trap moto_stop EXIT
  for _ in $(seq 100); do
    (exec 3<> /dev/tcp/127.0.0.1/"$port") 2> /dev/null && break
    sleep 0.1
  done
  moto_url=http://127.0.0.1:$port
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

moto_upload() {
  "$moto_python" - "$moto_url" "$@" <<'PY'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
url, root, bucket, prefix = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=url)
s3.create_bucket(Bucket=bucket)
def put(name):
    with open(os.path.join(root, name), "rb") as f:
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=f.read())
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, sorted(os.listdir(root))))
PY
}

moto_stop() {
  kill "$moto_pid" 2> /dev/null || true
  wait "$moto_pid" 2> /dev/null || true
  trap - EXIT
}
