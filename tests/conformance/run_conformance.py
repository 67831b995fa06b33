"""redis-py's own test suite against ShardedSentinelClient, on one shard and on three.

Usage: .venv/bin/python tests/conformance/run_conformance.py [--shards 1,3] [--reference] [-k EXPR] [--fetch-only]
       [--readme-table]

The suite is the ``tests/`` directory of the sdist of the redis-py version installed here, fetched
once with pip into .cache/redis-py/<version>/ (never part of the repository). Each shard count gets
its own topology of real redis-server and redis-sentinel processes (tests/unit/redis_topology.py,
free ports); redis-py's client fixtures return a ShardedSentinelClient built from its Sentinels
(conformance_plugin.py). The outcomes are compared with expected_failures.yml: the run fails on a
test that fails but is not listed for that shard count, and on a listed test that passes, so the
list only shrinks. ``--reference`` runs the same files with redis-py's own Redis on one server
instead (no comparison), to tell the server's answers from the client's.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "tests" / "unit"), str(HERE)]

from expected_outcomes import compare, load_expected, readme_table  # noqa: E402  pylint: disable=wrong-import-position
from redis_topology import RedisTopology  # noqa: E402  pylint: disable=wrong-import-position

SUITE_FILES = ["tests/test_commands.py", "tests/test_pipeline.py", "tests/test_lock.py", "tests/test_pubsub.py",
               "tests/test_scripting.py"]
# redis-py's own selection for a standalone server without modules, TLS or a replica on port 6380.
MARKERS = "not onlycluster and not redismod and not ssl and not replica"
PYTEST_INI = """[pytest]
timeout = 60
filterwarnings = ignore
"""


def suite_directory() -> Path:
    """redis-py's tests for the installed version, fetched from its sdist with pip on first use."""
    version = importlib.metadata.version("redis")
    target = ROOT / ".cache" / "redis-py" / version
    if (target / "tests" / "conftest.py").is_file():
        return target
    downloads = ROOT / ".cache" / "redis-py" / "sdist"
    downloads.mkdir(parents=True, exist_ok=True)
    print(f"==> fetching redis-py {version}'s sdist (its tests) with pip", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-binary", ":all:", f"redis=={version}", "-d", str(downloads)], check=True)
    archive = downloads / f"redis-{version}.tar.gz"
    prefix = f"redis-{version}/tests/"
    staging = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else downloads))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        tar.extractall(staging, members=members, filter="data")
    (staging / f"redis-{version}" / "tests").rename(staging / "tests")
    staging.rename(target)
    return target


def run_suite(suite: Path, shards: int, reference: bool, extra: list[str], work: Path,
              logs: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Start a topology with ``shards`` shards, run the suite against it: ({test id: outcome}, {test id: its error})."""
    topology = RedisTopology.start(work / f"topology-{shards}", shard_count=shards)
    try:
        admin = topology.users["admin"]
        master = topology.shards[0].master
        settings = {
            "sentinels": topology.sentinel_addresses,
            "client_kwargs": {"username": admin.username, "password": admin.password,
                              "sentinel_username": topology.sentinel_users["client"].username,
                              "sentinel_password": topology.sentinel_users["client"].password},
            "outcomes": str(work / f"outcomes-{shards}.json"),
            "client": "redis" if reference else "shardinel",
        }
        settings_file = work / f"settings-{shards}.json"
        settings_file.write_text(json.dumps(settings), encoding="utf-8")
        (suite / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
        env = dict(os.environ, SHARDINEL_CONFORMANCE=str(settings_file),
                   PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT / "plugins" / "module_utils")]))
        log = logs / f"pytest-{'reference' if reference else shards}.log"
        argv = [sys.executable, "-m", "pytest", "-p", "conformance_plugin", "-p", "no:cacheprovider", "-q", "-rN", *extra,
                "--rootdir", str(suite), "-c", str(suite / "pytest.ini"), "-m", MARKERS,
                "--redis-url", f"redis://{admin.username}:{admin.password}@{master.host}:{master.port}/0",
                *SUITE_FILES]
        started = time.monotonic()
        with open(log, "wb") as output:
            subprocess.run(argv, cwd=suite, env=env, stdout=output, stderr=subprocess.STDOUT, check=False)
        print(f"==> {shards} shard{'s' if shards > 1 else ''}: pytest ran in {time.monotonic() - started:.0f} s "
              f"(log: {log})", flush=True)
        outcomes_file = Path(settings["outcomes"])
        if not outcomes_file.is_file():
            print(log.read_text(encoding="utf-8", errors="replace")[-5000:])
            raise SystemExit(f"the suite did not run on {shards} shard(s)")
        recorded = json.loads(outcomes_file.read_text(encoding="utf-8"))
        return recorded["outcomes"], recorded["details"]
    finally:
        topology.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shards", default="1,3", help="comma-separated shard counts (default 1,3)")
    parser.add_argument("--reference", action="store_true", help="redis-py's Redis on one server, no comparison")
    parser.add_argument("-k", dest="keyword", help="only the tests matching this pytest -k expression (no comparison of the rest)")
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed on to pytest (repeat for several)")
    parser.add_argument("--dump", type=Path, help="write {outcomes: {shards: {test: outcome}}, details: ...} as JSON here")
    parser.add_argument("--fetch-only", action="store_true", help="fetch redis-py's tests if they are missing, run nothing")
    parser.add_argument("--readme-table", action="store_true", help="print README.md's table of differences, run nothing")
    args = parser.parse_args()
    counts = [int(n) for n in args.shards.split(",")]
    expected = load_expected(HERE / "expected_failures.yml")
    if args.readme_table:
        print(readme_table(expected), end="")
        return 0
    suite = suite_directory()
    if args.fetch_only:
        print(f"==> redis-py's tests are in {suite}")
        return 0
    extra = (["-k", args.keyword] if args.keyword else []) + args.pytest_arg
    results: dict[int, dict[str, str]] = {}
    details: dict[int, dict[str, str]] = {}
    logs = ROOT / ".cache" / "conformance"
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shardinel-conformance-") as work:
        for shards in ([1] if args.reference else counts):
            results[shards], details[shards] = run_suite(suite, shards, args.reference, extra, Path(work), logs)
    if args.dump:
        args.dump.write_text(json.dumps({"outcomes": results, "details": details}, indent=1, sort_keys=True),
                             encoding="utf-8")
    failed = False
    print("\n| client | shards | passed | failed | skipped | listed failures | unlisted failures | listed but passed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    problems: list[str] = []
    for shards, outcomes in results.items():
        report = compare(expected, shards, outcomes, complete=not args.keyword)
        label = "redis-py Redis" if args.reference else "shardinel"
        print(f"| {label} | {shards} | {report.passed} | {report.failed} | {report.skipped} | {report.listed} | "
              f"{len(report.unlisted)} | {len(report.now_passing)} |")
        if args.reference:
            problems += [f"  {shards}: {test} {outcome}: {details[shards].get(test, '?')}"
                         for test, outcome in sorted(outcomes.items()) if outcome in ("failed", "error")]
            continue
        problems += [f"  {shards} shard(s): {test} {outcome} but is not listed: {details[shards].get(test, '?')}"
                     for test, outcome in report.unlisted]
        problems += [f"  {shards} shard(s): {test} passed but is listed ({reason}): remove it from the list"
                     for test, reason in report.now_passing]
        failed = failed or bool(report.unlisted or report.now_passing)
    if problems:
        print("\n" + "\n".join(problems))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
