VENV ?= $(CURDIR)/.venv
export VENV
SHARDINEL_TEST_IMAGE ?= localhost/shardinel-debian12-systemd:latest
SHARDINEL_TEST_IMAGE_TRIXIE ?= localhost/shardinel-debian13-systemd:latest
export SHARDINEL_TEST_IMAGE SHARDINEL_TEST_IMAGE_TRIXIE

.PHONY: setup test lint sanity unit conformance build-check molecule demo demo-down bench bench-deploy

setup:            ## apt packages, podman settings, .venv and the test image; skips what is there (root or sudo)
	bash scripts/setup.sh

test: setup       ## set-up, then lint, sanity, unit tests, build/install checks, molecule test
	bash scripts/test.sh

lint: setup
	SHARDINEL_TEST_STAGES=lint bash scripts/test.sh

sanity: setup
	SHARDINEL_TEST_STAGES=sanity bash scripts/test.sh

unit: setup
	SHARDINEL_TEST_STAGES=unit bash scripts/test.sh

conformance: setup
	SHARDINEL_TEST_STAGES=conformance bash scripts/test.sh

build-check: setup
	SHARDINEL_TEST_STAGES=build bash scripts/test.sh

molecule: setup
	SHARDINEL_TEST_STAGES=molecule bash scripts/test.sh

demo: setup       ## set-up, then two local systemd hosts running the demo topology, left up
	bash scripts/demo.sh up

demo-down:
	bash scripts/demo.sh down

bench: setup      ## client, asyncio client, Redis Cluster peer, Django, fault, resharding and backup benchmarks against local servers
	$(VENV)/bin/python benchmarks/run_benchmarks.py
	$(VENV)/bin/python benchmarks/asyncio_benchmark.py
	$(VENV)/bin/python benchmarks/peer_benchmark.py
	$(VENV)/bin/python benchmarks/django_benchmark.py
	$(VENV)/bin/python benchmarks/faults.py
	$(VENV)/bin/python benchmarks/reshard_benchmark.py
	$(VENV)/bin/python benchmarks/backup_benchmark.py

bench-deploy: setup  ## site.yml on two local podman hosts: first converge, re-runs, 16 shards (about 5 min)
	$(VENV)/bin/python benchmarks/deploy_benchmark.py
