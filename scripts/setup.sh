#!/usr/bin/env bash
# Set-up of a Debian 12 machine for the demo and the tests: system packages, podman
# settings, the Python virtualenv and the local test image. `make demo` and `make test`
# run it first; each step is skipped when what it makes is already there, so a second
# run takes a few seconds. Steps that change the machine need root (or passwordless sudo).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
started=$(date +%s)

step() { printf '==> setup: %s\n' "$*"; }
policy=/usr/sbin/policy-rc.d
own_policy=false
cleanup() { if $own_policy; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

# prometheus: its promtool tests the redis_exporter role's alerting rules (tests/unit/roles/test_alert_rules.py).
apt_packages=(podman runc uidmap slirp4netns fuse-overlayfs debootstrap iptables
  redis-server redis-sentinel redis-tools python3-venv git make ca-certificates shellcheck prometheus)

missing_packages() {
  local package
  for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' || echo "$package"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages)
  if [ -z "$missing" ]; then
    step "apt packages: all present"
    return
  fi
  step "apt packages: installing $(echo "$missing" | tr '\n' ' ')"
  # Keep the distro's default redis-server/redis-sentinel services from starting on
  # this machine: the test hosts share its network and need those ports.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 0755 "$policy"
    own_policy=true
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # one package a word
  $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Nor at the next boot: the test hosts need those ports, and the alert test starts its own Prometheus.
  local unit
  for unit in redis-server redis-sentinel prometheus; do
    [ "$(readlink "/etc/systemd/system/$unit.service" 2>/dev/null)" = /dev/null ] || $sudo ln -sf /dev/null "/etc/systemd/system/$unit.service"
  done
}

podman_settings() {
  local conf=/etc/containers/containers.conf.d/50-shardinel.conf wanted
  # crun refuses hybrid cgroups here, and raising rlimits above the hard limits is refused.
  wanted='# shardinel.redis test hosts: crun refuses hybrid cgroups here, and raising
# rlimits above the hard limits is refused.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"'
  if [ "$(cat "$conf" 2>/dev/null)" = "$wanted" ]; then
    step "podman settings: present"
    return
  fi
  step "podman settings: runc runtime, rlimits within the hard limits"
  $sudo mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$wanted" | $sudo tee "$conf" >/dev/null
  local runtime
  runtime=$($sudo podman info --format '{{.Host.OCIRuntime.Name}}')
  [ "$runtime" = "runc" ] || { echo "podman runtime is $runtime, expected runc" >&2; exit 1; }
}

virtualenv() {
  local stamp="$venv/.shardinel-requirements" wanted
  wanted=$(sha256sum < "$repo/requirements-dev.txt" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    step "virtualenv $venv: up to date"
    return
  fi
  step "virtualenv $venv: installing requirements-dev.txt"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/requirements-dev.txt"
  echo "$wanted" > "$stamp"
}

install_packages
podman_settings
virtualenv
# ansible-test fetches its pip bootstrap from a host we cannot reach: give it ours.
bash "$repo/scripts/ansible-test-bootstrap.sh" "$venv"
step "redis-py's own tests for the conformance stage (from the installed version's sdist, into .cache/redis-py)"
"$venv/bin/python" "$repo/tests/conformance/run_conformance.py" --fetch-only
step "test images (Debian 12 and Debian 13)"
$sudo env SHARDINEL_TEST_SUITE=bookworm bash "$repo/scripts/build-image.sh"
$sudo env SHARDINEL_TEST_SUITE=trixie SHARDINEL_TEST_IMAGE="${SHARDINEL_TEST_IMAGE_TRIXIE:-localhost/shardinel-debian13-systemd:latest}" bash "$repo/scripts/build-image.sh"
step "done in $(( $(date +%s) - started )) s"
