#!/usr/bin/env bash
# Build the collection tarball and install it into an empty collections path, then
# check that its roles, modules and playbooks resolve from there; build the
# shardinel wheel and import it from a clean virtualenv.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${1:-$repo/.venv}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo"

"$venv/bin/ansible-galaxy" collection build --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/shardinel-redis-*.tar.gz)
echo "built $(basename "$tarball")"
unwanted=$(tar -tzf "$tarball" | grep -E '^(molecule|tests|benchmarks|examples|shardinel_django|\.ci|scripts)/' || true)
[ -z "$unwanted" ] || { echo "tarball holds files build_ignore should drop:" >&2; echo "$unwanted" >&2; exit 1; }

(cd "$work" && "$venv/bin/ansible-galaxy" collection install --offline --force -p "$work/collections" "$tarball" >/dev/null 2>&1)
installed="$work/collections/ansible_collections/shardinel/redis"
[ -f "$installed/MANIFEST.json" ] || { echo "install did not produce $installed" >&2; exit 1; }
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
"$venv/bin/ansible-galaxy" collection list shardinel.redis -p "$work/collections" | grep -q 'shardinel.redis'
for path in "$installed"/plugins/modules/*.py; do
  [ -e "$path" ] || continue
  module=$(basename "$path" .py)
  "$venv/bin/ansible-doc" -t module "shardinel.redis.$module" >/dev/null
  echo "ansible-doc shardinel.redis.$module: ok"
done
for path in "$installed"/playbooks/*.yml; do
  [ -e "$path" ] || continue
  playbook=$(basename "$path" .yml)
  (cd "$work" && "$venv/bin/ansible-playbook" --syntax-check -i localhost, "shardinel.redis.$playbook" >/dev/null)
  echo "ansible-playbook --syntax-check shardinel.redis.$playbook: ok"
done
echo "collection installs from its tarball: ok"

if [ -f pyproject.toml ]; then
  "$venv/bin/python" -m venv "$work/wheel-venv"
  "$work/wheel-venv/bin/pip" install --quiet --disable-pip-version-check "$repo"
  (cd "$work" && "$work/wheel-venv/bin/python" -c 'import shardinel; print("pip install . then import shardinel: ok, version", shardinel.__version__)')
  (cd "$work" && "$work/wheel-venv/bin/python" -c 'import shardinel.asyncio; print("import shardinel.asyncio: ok")')
  (cd "$work" && "$work/wheel-venv/bin/python" -c 'import importlib.util, shardinel_django; assert importlib.util.find_spec("django") is None; print("without Django: import shardinel_django ok, Django not installed")')
  "$work/wheel-venv/bin/pip" install --quiet --disable-pip-version-check "${repo}[django]"
  (cd "$work" && "$work/wheel-venv/bin/python" -c 'import shardinel_django.cache, shardinel_django.sessions; print("pip install .[django] then import shardinel_django.cache, shardinel_django.sessions: ok")')
fi
