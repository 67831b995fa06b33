#!/usr/bin/env bash
# The project's test command: lint, sanity, unit tests against real Redis and
# Sentinel processes, redis-py's own test suite against the client (conformance),
# the collection and wheel build/install checks, and molecule.
# `make test` runs scripts/setup.sh first. Prints the time of every stage and the total.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${VENV:-$repo/.venv}"
cd "$repo"
export PATH="$venv/bin:$PATH"
export SHARDINEL_TEST_IMAGE="${SHARDINEL_TEST_IMAGE:-localhost/shardinel-debian12-systemd:latest}"
export SHARDINEL_TEST_IMAGE_TRIXIE="${SHARDINEL_TEST_IMAGE_TRIXIE:-localhost/shardinel-debian13-systemd:latest}"
collections=$(bash scripts/collection-path.sh)
export ANSIBLE_COLLECTIONS_PATH="$collections"

stages="${SHARDINEL_TEST_STAGES:-lint sanity unit conformance build molecule}"
step() { printf '\n==> %s\n' "$*"; }

run_lint() {
  step "yamllint"
  yamllint --strict .
  step "ansible-lint (production profile)"
  ansible-lint --profile production
}

run_sanity() {
  step "ansible-test sanity"
  VENV="$venv" bash scripts/sanity.sh
}

run_unit() {
  step "pytest: client, modules and role preflight against real Redis/Sentinel processes"
  set +e
  python -m pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
  rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here, the suite must not be empty" >&2
    return 1
  fi
  return "$rc"
}

run_conformance() {
  step "redis-py's own tests against the client on 1 and 3 shards, compared with tests/conformance/expected_failures.yml"
  python tests/conformance/run_conformance.py
}

run_build() {
  step "collection build and install from the tarball"
  bash scripts/build-check.sh "$venv"
}

run_molecule() {
  step "molecule test (podman, two systemd hosts)"
  molecule test --all
}

# Two workers, one test file each at a time: most tests wait on Sentinel timeouts, not on the CPU
# (measured: 292 s instead of 568 s on a 2-core machine). Each worker starts its own topologies.
PYTEST_ARGS=(-q -rfE -n 2 --dist loadfile --durations=15)
started=$(date +%s)
stage_started=$started
timings=()
report_times() {
  local status=$?
  if [ "${#timings[@]}" -gt 0 ] && [[ "${timings[-1]}" == *": running" ]]; then
    timings[-1]="${timings[-1]%: running}: FAILED after $(( $(date +%s) - stage_started )) s"
  fi
  echo
  printf '%s\n' "${timings[@]}"
  echo "total: $(( $(date +%s) - started )) s"
  return "$status"
}
trap report_times EXIT
for stage in $stages; do
  stage_started=$(date +%s)
  timings+=("stage $stage: running")
  "run_$stage"
  timings[-1]="stage $stage: $(( $(date +%s) - stage_started )) s"
  echo "==> stage $stage passed in $(( $(date +%s) - stage_started )) s"
done
echo
echo "all stages passed: $stages"
