# Sourced by tests: an sshd on a free loopback port as a second "host" for GNU parallel
# --sshlogin. Needs root and Debian's openssh-server (/usr/sbin/sshd).
#   ssh_loopback_start DIR   generate keys and configs in DIR, start sshd, wait until it answers;
#                            DIR/client.conf then defines the host alias "onebox-loopback"
#   ssh_loopback_stop        stop that sshd (by its pid)

ssh_loopback_start() {
  local dir port
  dir=$(realpath -m "$1")
  mkdir -p "$dir" /run/sshd
  chmod 700 "$dir"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  # A free port: ask the kernel for one, then hand it to sshd.
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$dir/sshd.conf" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 50
MaxSessions 50
AcceptEnv *
PermitUserEnvironment no
CONF
  cat > "$dir/client.conf" <<CONF
Host onebox-loopback
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $dir/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile $dir/known_hosts
  LogLevel ERROR
  BatchMode yes
CONF
  /usr/sbin/sshd -D -e -f "$dir/sshd.conf" 2> "$dir/sshd.log" &
  SSH_LOOPBACK_PID=$!
  local i
  for i in $(seq 50); do
    ssh -F "$dir/client.conf" onebox-loopback true 2> /dev/null && return 0
    sleep 0.1
  done
  echo "ssh-loopback: sshd did not answer on port $port:" >&2
  cat "$dir/sshd.log" >&2
  return 1
}

ssh_loopback_stop() {
  [ -n "${SSH_LOOPBACK_PID:-}" ] && kill "$SSH_LOOPBACK_PID" 2> /dev/null
  wait "${SSH_LOOPBACK_PID:-}" 2> /dev/null || true
}
