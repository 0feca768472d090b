#!/usr/bin/env bash
# Makes the files docker-compose.yml reads as secrets, once, in SDN_SECRETS_DIR (default
# ./secrets): the admin token and the sealing keys of the hypervisor agent and the
# vr-manager (base64 of 32 random bytes), and the bus credentials in $dir/bus-credentials
# (the NATS operator, account and user JWTs, one .creds per service, admin.creds, the
# server's authentication block and the cluster's routes: the code `npm start` uses,
# apps/launcher/src/compose-secrets.ts). A file that exists is kept: a new sealing key
# would leave every stored host credential and router key unreadable, a new operator every
# issued bus credential. Only the services' .creds are signed again on each run (so they
# carry this version's permissions): run it again after an upgrade.
# The bus credentials are made with Node on this machine when the dependencies are
# installed (npm ci), else inside the gateway image (scripts/build-images.sh api-gateway).
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
bus="$dir/bus-credentials"
if command -v node >/dev/null 2>&1 && [ -d node_modules/tsx ]; then
  node --import tsx --conditions=sdn-source apps/launcher/src/compose-secrets-cli.ts "$bus"
else
  scripts/build-images.sh api-gateway >/dev/null
  docker run --rm --network none --user "$(id -u):$(id -g)" -v "$(cd "$dir" && pwd):/secrets" \
    "sdn/api-gateway:${SDN_IMAGE_TAG:-latest}" node apps/launcher/dist/compose-secrets-cli.js /secrets/bus-credentials
fi
echo "bus credentials: $bus (each service gets its own .creds; admin bus credentials: $bus/admin.creds)"
echo "admin token: $dir/sdn-admin-token (sdnctl login --url http://127.0.0.1:8080 --token-stdin < $dir/sdn-admin-token)"
