#!/usr/bin/env bash
# Starts (or stops) a private Docker engine for this project that leaves the host's
# networking alone: no iptables rules, no masquerading, no ip_forward change, its own
# data root, exec root and socket. Containers reach each other on user-defined networks and
# the host reaches published ports through docker-proxy; containers get no internet, so
# image builds use the host's network.
#
#   scripts/docker-engine.sh start   # idempotent; prints the DOCKER_HOST to use
#   scripts/docker-engine.sh stop    # stops the engine this script started
#   scripts/docker-engine.sh status
#
# Settings (environment): SDN_DOCKER_ROOT (default /var/lib/sdn-docker),
# SDN_DOCKER_EXEC_ROOT (/run/sdn-docker), SDN_DOCKER_SOCK (/run/sdn-docker.sock),
# SDN_DOCKER_POOL (172.30.0.0/16, split into /24 networks), SDN_DOCKER_BIP (172.30.255.1/24).
set -euo pipefail

root=${SDN_DOCKER_ROOT:-/var/lib/sdn-docker}
exec_root=${SDN_DOCKER_EXEC_ROOT:-/run/sdn-docker}
sock=${SDN_DOCKER_SOCK:-/run/sdn-docker.sock}
pool=${SDN_DOCKER_POOL:-172.30.0.0/16}
bip=${SDN_DOCKER_BIP:-172.30.255.1/24}
pidfile="$exec_root.pid"
log="$root.log"
export PATH="$PATH:/usr/sbin:/sbin"

responding() { DOCKER_HOST="unix://$sock" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-start}" in
start)
  if responding; then
    echo "DOCKER_HOST=unix://$sock"
    exit 0
  fi
  command -v dockerd >/dev/null || {
    echo "dockerd not found: apt-get install docker.io" >&2
    exit 1
  }
  mkdir -p "$root" "$exec_root"
  # setsid: the engine outlives this script and is not killed with the caller's process group.
  setsid dockerd \
    --data-root "$root" --exec-root "$exec_root" --pidfile "$pidfile" \
    --host "unix://$sock" \
    --iptables=false --ip-masq=false --ip-forward=false --ip6tables=false \
    --bip "$bip" --default-address-pool "base=$pool,size=24" \
    --storage-driver overlay2 \
    >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if responding; then
      echo "DOCKER_HOST=unix://$sock"
      exit 0
    fi
    sleep 0.5
  done
  echo "dockerd did not answer on $sock within 30 s; its log ($log) ends with:" >&2
  tail -n 20 "$log" >&2
  exit 1
  ;;
stop)
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      if ! kill -0 "$pid" 2>/dev/null; then
        # The engine leaves its view of the host's network namespace mounted, and its
        # default bridge in place: remove both (the bridge only if it has our address).
        umount "$exec_root/netns/default" 2>/dev/null || true
        if ip -4 addr show dev docker0 2>/dev/null | grep -q "inet $bip"; then ip link delete docker0; fi
        exit 0
      fi
      sleep 0.5
    done
    echo "dockerd ($pid) did not stop within 30 s" >&2
    exit 1
  fi
  ;;
status)
  if responding; then echo "running: DOCKER_HOST=unix://$sock"; else
    echo "not running"
    exit 1
  fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
