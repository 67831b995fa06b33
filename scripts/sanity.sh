#!/usr/bin/env bash
# ansible-test sanity needs the collection in an ansible_collections tree and a git
# work tree; copy the tracked and new files there (symlinks are refused).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${VENV:-$repo/.venv}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/shardinel/redis"
mkdir -p "$dest"
(cd "$repo" && git ls-files -co --exclude-standard -z \
  | while IFS= read -r -d "" f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | xargs -0 cp --parents -t "$dest")
cd "$dest"
git init -q && git add -A
bash "$repo/scripts/ansible-test-bootstrap.sh" "$venv"
"$venv/bin/ansible-test" sanity --python "${SANITY_PYTHON:-3.11}" --venv --color no "$@"
