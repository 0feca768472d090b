#!/usr/bin/env bash
# Builds the service images from ./Dockerfile as sdn/<service>:<tag>; layers are cached,
# so a rebuild after a source change only compiles and copies.
#
#   scripts/build-images.sh [service ...]     # default: all five
#
# SDN_NODE_IMAGE   base image (default node:20-bookworm-slim; offline: local/node:20-bookworm-slim)
# SDN_IMAGE_TAG    tag of the built images (default latest)
set -euo pipefail
cd "$(dirname "$0")/.."

base=${SDN_NODE_IMAGE:-node:20-bookworm-slim}
tag=${SDN_IMAGE_TAG:-latest}
services=("$@")
[ "${#services[@]}" -gt 0 ] || services=(api-gateway network-guru ovs-element vr-manager hypervisor-agent)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for svc in "${services[@]}"; do
  # --network host: npm ci must reach the registry on engines that give containers no internet.
  if ! docker build --network host --force-rm --target "$svc" --build-arg "BASE_IMAGE=$base" \
    -t "sdn/$svc:$tag" . >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "building sdn/$svc:$tag failed" >&2
    exit 1
  fi
  echo "sdn/$svc:$tag"
done
