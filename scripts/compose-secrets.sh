#!/usr/bin/env bash
# Makes the files docker-compose.yml reads as secrets, once, in SDN_SECRETS_DIR (default
# ./secrets): the admin token and the sealing keys of the hypervisor agent and the
# vr-manager (base64 of 32 random bytes). A file that exists is kept: a new sealing key
# would leave every stored host credential and router key unreadable.
# The folder is 0700 (only you on this machine); the files are 0444 because compose
# mounts them as they are and the services run as uid 1000 inside their containers.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SDN_SECRETS_DIR:-./secrets}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

make() {
  local name=$1 value
  if [ -s "$dir/$name" ]; then
    echo "kept      $dir/$name"
    return
  fi
  value=$2
  printf '%s\n' "$value" >"$dir/$name"
  chmod 0444 "$dir/$name"
  echo "generated $dir/$name"
}

make sdn-admin-token "sdn_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
make hypervisor-agent-secret-key "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
make vr-manager-secret-key "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
echo "admin token: $dir/sdn-admin-token (sdnctl login --url http://127.0.0.1:8080 --token-stdin < $dir/sdn-admin-token)"
