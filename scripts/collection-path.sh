#!/usr/bin/env bash
# Print a collections root in which this checkout appears as shardinel.redis.
# ansible-test, pytest and ansible-playbook all need the ansible_collections/<ns>/<name> layout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root="$repo/.cache/collections"
mkdir -p "$root/ansible_collections/shardinel"
link="$root/ansible_collections/shardinel/redis"
if [ "$(readlink "$link" 2>/dev/null)" != "$repo" ]; then
  rm -rf "$link"
  ln -s "$repo" "$link"
fi
echo "$root"
