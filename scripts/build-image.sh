#!/usr/bin/env bash
# Build a local Debian systemd image for the molecule scenarios: Debian 12 by default,
# SHARDINEL_TEST_SUITE=trixie for Debian 13.
# The mirror is read from this machine's apt sources; nothing is pulled from a registry.
set -euo pipefail

image="${SHARDINEL_TEST_IMAGE:-localhost/shardinel-debian12-systemd:latest}"
suite="${SHARDINEL_TEST_SUITE:-bookworm}"

if podman image exists "$image"; then
  echo "image $image already present"
  exit 0
fi

apt_mirror() {
  local uri
  uri=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -vE 'security|updates|nodesource|google' \
    | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' \
    | awk '{print $1}' | grep -E '/debian/?$' | head -n 1)
  if [ -z "$uri" ]; then
    echo "no Debian mirror found in /etc/apt/sources.list*; set SHARDINEL_APT_MIRROR" >&2
    return 1
  fi
  echo "$uri"
}

mirror="${SHARDINEL_APT_MIRROR:-$(apt_mirror)}"
rootfs=$(mktemp -d /var/tmp/shardinel-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=systemd,systemd-sysv,python3,dbus,iproute2 \
  "$suite" "$rootfs" "$mirror" >/dev/null
# The containers use the same mirror as the machine that built them.
printf 'deb %s %s main\n' "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=podman' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  - "$image" >/dev/null
echo "built $image"
