#!/usr/bin/env bash
# make demo / make demo-down: two local systemd containers (server1, server2) on the
# host network with the demo inventory, deployed with site.yml and left running.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${VENV:-$repo/.venv}"
image="${SHARDINEL_TEST_IMAGE:-localhost/shardinel-debian12-systemd:latest}"
hosts=(server1 server2)
cd "$repo"

down() {
  for host in "${hosts[@]}"; do
    podman rm -f -t 5 "$host" >/dev/null 2>&1 || true
  done
  echo "demo hosts removed"
}

up() {
  for host in "${hosts[@]}"; do
    if podman container exists "$host"; then
      echo "a container named $host exists (a previous demo or a molecule run): run 'make demo-down' or 'molecule destroy' first" >&2
      exit 1
    fi
  done
  podman image exists "$image" || bash scripts/build-image.sh
  for host in "${hosts[@]}"; do
    podman run -d --name "$host" --hostname "$host" --network host --systemd always "$image" /sbin/init >/dev/null
  done
  for host in "${hosts[@]}"; do
    for _ in $(seq 1 60); do
      state=$(podman exec "$host" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
      sleep 1
    done
  done
  collections=$(bash scripts/collection-path.sh)
  export ANSIBLE_COLLECTIONS_PATH="$collections"
  "$venv/bin/ansible-playbook" -i inventory/demo site.yml
  cat <<MSG

The demo topology is up. Try, for example:
  podman exec -it server1 redis-cli -h 127.0.1.1 -p 26379 --user sentinel-client --askpass SENTINEL MASTERS
(the demo passwords are in inventory/demo/group_vars/all/). Remove it with: make demo-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
