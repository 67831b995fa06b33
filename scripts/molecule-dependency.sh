#!/usr/bin/env bash
# molecule's dependency step: offline check of required collections, and this
# checkout made visible as shardinel.redis.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python3 "$repo/scripts/check-collections.py" "$repo/requirements.yml"
bash "$repo/scripts/collection-path.sh" >/dev/null
