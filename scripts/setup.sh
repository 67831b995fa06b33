#!/usr/bin/env bash
# One-time setup of a Debian 12 machine for development and CI: system packages,
# podman settings, the Python virtualenv and the local test image. Needs root
# (or passwordless sudo) for apt, /etc/containers and podman.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

step() { printf '\n==> %s\n' "$*"; }

step "apt packages"
# Keep the distro's default redis-server/redis-sentinel services from starting on
# this machine: the test hosts share its network and need those ports.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  own_policy=true
fi
cleanup() { if $own_policy; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
  podman runc uidmap slirp4netns fuse-overlayfs debootstrap \
  redis-server redis-sentinel redis-tools \
  python3-venv git make ca-certificates shellcheck >/dev/null

step "podman settings (runc runtime, rlimits within the hard limits)"
$sudo mkdir -p /etc/containers/containers.conf.d
$sudo tee /etc/containers/containers.conf.d/50-shardinel.conf >/dev/null <<'CONF'
# shardinel.redis test hosts: crun refuses hybrid cgroups here, and raising
# rlimits above the hard limits is refused.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
runtime=$($sudo podman info --format '{{.Host.OCIRuntime.Name}}')
[ "$runtime" = "runc" ] || { echo "podman runtime is $runtime, expected runc" >&2; exit 1; }

step "virtualenv $venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/requirements-dev.txt"

step "ansible-test pip bootstrap (the upstream script's host is not reachable)"
bash "$repo/scripts/ansible-test-bootstrap.sh" "$venv"

step "test image"
$sudo bash "$repo/scripts/build-image.sh"

echo
echo "setup done: activate with 'source $venv/bin/activate' or use 'make test'"
