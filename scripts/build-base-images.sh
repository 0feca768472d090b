#!/usr/bin/env bash
# Builds the base images without an image registry, for machines that cannot pull:
#   local/debian:bookworm          debootstrap --variant=minbase bookworm, docker import
#   local/node:20-bookworm-slim    that + this machine's node (must be 20.x), npm and CA bundle
#   local/nats:bookworm            that + Debian's nats-server
#   local/sdn-router:bookworm      that + sshd, iptables, haproxy, conntrack, dnsmasq, python3: the container suite's router
# An image that already exists is kept (pass --force to rebuild all; the router image is
# also rebuilt when its recipe changed). Needs root,
# debootstrap and a Docker engine (DOCKER_HOST is honoured); reaches only the Debian mirror
# configured for apt (override with SDN_DEBIAN_MIRROR).
# Use the images with:  export SDN_NODE_IMAGE=local/node:20-bookworm-slim SDN_NATS_IMAGE=local/nats:bookworm
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

debian_image=local/debian:bookworm
node_image=local/node:20-bookworm-slim
nats_image=local/nats:bookworm
router_image=local/sdn-router:bookworm
force=false
[ "${1:-}" = "--force" ] && force=true

exists() { ! $force && docker image inspect "$1" >/dev/null 2>&1; }

# Runs a command with its output in a log that is shown only when it fails.
quietly() {
  "$@" >"$work/step.log" 2>&1 || {
    tail -n 30 "$work/step.log" >&2
    echo "failed: $*" >&2
    return 1
  }
}

# The first Debian (not security) mirror apt uses, in deb822 or one-line format.
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -n 1 || true)
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { print $2 }' | grep -v security | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if exists "$debian_image"; then
  echo "$debian_image: present"
else
  command -v debootstrap >/dev/null || {
    echo "debootstrap not found: apt-get install debootstrap" >&2
    exit 1
  }
  mirror=${SDN_DEBIAN_MIRROR:-$(apt_mirror)}
  echo "$debian_image: debootstrap bookworm from $mirror"
  quietly debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
  # Trimmed as the public slim images are: no package caches, manuals or translations.
  rm -rf "$work"/rootfs/var/cache/apt/* "$work"/rootfs/var/lib/apt/lists/* \
    "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/* \
    "$work"/rootfs/usr/share/locale/*
  tar -C "$work/rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$debian_image" >/dev/null
  rm -rf "$work/rootfs"
fi

if exists "$node_image"; then
  echo "$node_image: present"
else
  node_bin=$(readlink -f "$(command -v node)")
  version=$("$node_bin" --version)
  case "$version" in v20.*) ;; *)
    echo "$node_image needs Node 20; $node_bin is $version" >&2
    exit 1
    ;;
  esac
  echo "$node_image: Debian + node $version from $node_bin"
  mkdir -p "$work/node"
  cp "$node_bin" "$work/node/node"
  cp -a "$(npm root -g 2>/dev/null)/npm" "$work/node/npm"
  # The machine's trust store (NODE_EXTRA_CA_CERTS or Debian's bundle), else node's own roots.
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  if [ -s "$ca" ]; then cp "$ca" "$work/node/ca-certificates.crt"; else
    "$node_bin" -p 'require("tls").rootCertificates.join("\n")' >"$work/node/ca-certificates.crt"
  fi
  quietly docker build --force-rm -f docker/base/node.Dockerfile --build-arg "DEBIAN_IMAGE=$debian_image" \
    -t "$node_image" "$work/node"
fi

if exists "$nats_image"; then
  echo "$nats_image: present"
else
  echo "$nats_image: Debian + nats-server"
  mkdir -p "$work/nats"
  # The engine gives containers no internet: apt reaches the mirror through the host's network.
  quietly docker build --force-rm --network host -f docker/base/nats.Dockerfile --build-arg "DEBIAN_IMAGE=$debian_image" \
    -t "$nats_image" "$work/nats"
fi

# The router image follows its recipe: one built from an older recipe is built again.
router_recipe=$(cat docker/base/router.Dockerfile docker/base/router-init | sha256sum | cut -c1-16)
if exists "$router_image" &&
  [ "$(docker image inspect -f '{{ index .Config.Labels "sdn.recipe" }}' "$router_image")" = "$router_recipe" ]; then
  echo "$router_image: present"
else
  echo "$router_image: Debian + openssh-server, iptables, haproxy, conntrack, dnsmasq, python3"
  mkdir -p "$work/router"
  cp docker/base/router-init "$work/router/"
  quietly docker build --force-rm --network host -f docker/base/router.Dockerfile --build-arg "DEBIAN_IMAGE=$debian_image" \
    --label "sdn.recipe=$router_recipe" -t "$router_image" "$work/router"
fi
