#!/usr/bin/env bash
# Put scripts/ansible-test-get-pip.py where ansible-test looks for its cached pip
# bootstrap script, for every pip version this ansible-test may ask for.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${1:-$repo/.venv}"
src=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
versions=$(grep -ho "pip='[0-9.]*'" "$src/_internal/python_requirements.py" | grep -o '[0-9][0-9.]*' | sort -u)
[ -n "$versions" ] || { echo "cannot find ansible-test's pip version" >&2; exit 1; }
for version in $versions; do
  install -m 0644 "$repo/scripts/ansible-test-get-pip.py" "$cache/get_pip_${version//./_}.py"
done
