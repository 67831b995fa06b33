"""Deploy benchmark: how long site.yml takes on two local podman hosts, first converge against re-runs.

Starts its own systemd containers deploybench1/deploybench2 (host network, loopback addresses
127.0.31.1/127.0.32.1, the demo inventory's layout and settings), converges the demo topology
(2 shards), re-runs it, runs it with --check --diff (what an operator runs first), then recreates the containers and
converges 16 shards on the same two hosts.
Prints the figures, their ratios and the targets. Removes its containers at the end.

Run: .venv/bin/python benchmarks/deploy_benchmark.py   (make bench-deploy; about 5 minutes)
     --source DIR  deploys the collection checked out in DIR instead (to measure an older version).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {"deploybench1": "127.0.31.1", "deploybench2": "127.0.32.1"}
IMAGE = os.environ.get("SHARDINEL_TEST_IMAGE", "localhost/shardinel-debian12-systemd:latest")
# One line per host and task, or per loop item, that ran (the default callback's "ok:"/"changed:").
RESULT = re.compile(r"^(?:ok|changed): \[", re.M)
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def remove_hosts() -> None:
    for name in HOSTS:
        podman("rm", "-f", "-t", "5", name, check=False)


def start_hosts() -> None:
    """Fresh containers, as scripts/demo.sh starts its hosts."""
    remove_hosts()
    for name in HOSTS:
        podman("run", "-d", "--name", name, "--hostname", name, "--network", "host", "--systemd", "always", IMAGE, "/sbin/init")
    for name in HOSTS:
        deadline = time.monotonic() + 60
        while podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip() not in ("running", "degraded"):
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: systemd did not reach a running state within 60 s")
            time.sleep(0.5)


def write_inventory(directory: Path, shards: int | None) -> Path:
    """The demo inventory's groups and settings, with this benchmark's host names and addresses."""
    inventory = directory / ("inventory-16" if shards else "inventory-demo")
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "host_vars").mkdir()
    hosts = {name: None for name in HOSTS}
    (inventory / "hosts.yml").write_text(yaml.safe_dump({
        "all": {"vars": {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}},
        "redis_servers": {"hosts": hosts},
        "redis_sentinels": {"hosts": hosts},
    }), encoding="utf-8")
    for source in (ROOT / "inventory" / "demo" / "group_vars" / "all").glob("*.yml"):
        shutil.copy(source, inventory / "group_vars" / "all" / source.name)
    for name, ip in HOSTS.items():
        (inventory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump({"shardinel_announce_ip": ip}), encoding="utf-8")
    if shards:
        layout = {"shardinel_shards": [{"name": f"shard{i + 1}"} for i in range(shards)]}
        (inventory / "group_vars" / "all" / "shards.yml").write_text(yaml.safe_dump(layout), encoding="utf-8")
    return inventory


class Deployer:
    def __init__(self, source: Path, workdir: Path) -> None:
        self.source = source
        self.workdir = workdir
        collections = workdir / "collections"
        (collections / "ansible_collections" / "shardinel").mkdir(parents=True)
        (collections / "ansible_collections" / "shardinel" / "redis").symlink_to(source)
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_RETRY_FILES_ENABLED="0")
        self.runs = 0

    def converge(self, inventory: Path, label: str, *arguments: str) -> dict:
        self.runs += 1
        log = self.workdir / f"{self.runs:02d}-{label}.log"
        started = time.perf_counter()
        result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(self.source / "site.yml"),
                                 *arguments], capture_output=True, text=True, env=self.env, cwd=str(self.source), check=False)
        seconds = time.perf_counter() - started
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        recap = {host: tuple(int(value) for value in values) for host, *values in RECAP.findall(result.stdout)}
        if result.returncode != 0 or set(recap) != set(HOSTS):
            print(result.stdout[-6000:] + result.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{label}: ansible-playbook failed (rc {result.returncode}); log in {log}")
        ok, changed, _unreachable, _failed, skipped = (sum(counts[i] for counts in recap.values()) for i in range(5))
        results = len(RESULT.findall(result.stdout))
        run = {"seconds": seconds, "tasks": ok, "results": results, "changed": changed, "skipped": skipped}
        print(f"  {label}: {seconds:.1f} s, {ok} tasks run ({results} results with loop items; {changed} changed), "
              f"{skipped} skipped", flush=True)
        return run


def rerun(deployer: Deployer, inventory: Path, label: str, count: int, *arguments: str) -> dict:
    runs = [deployer.converge(inventory, f"{label}-{i + 1}", *arguments) for i in range(count)]
    changed = [run["changed"] for run in runs]
    if any(changed):
        raise SystemExit(f"{label}: a re-run reported changes {changed}; the roles are not idempotent")
    median = statistics.median(run["seconds"] for run in runs)
    return {"seconds": median, "tasks": runs[0]["tasks"], "results": runs[0]["results"], "changed": 0,
            "all": [run["seconds"] for run in runs]}


def verdict(value: float, limit: float) -> str:
    return "yes" if value <= limit else f"no (over by {value - limit:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="collection checkout to deploy (default: this one)")
    parser.add_argument("--reruns", type=int, default=3, help="idempotent re-runs of the demo (median reported)")
    parser.add_argument("--shards", type=int, default=16, help="shards of the large converge")
    options = parser.parse_args()
    source = options.source.resolve()
    print(f"deploy benchmark: {source}, image {IMAGE}, load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="deploybench-") as tmp:
        workdir = Path(tmp)
        deployer = Deployer(source, workdir)
        demo, large = write_inventory(workdir, None), write_inventory(workdir, options.shards)
        try:
            start_hosts()
            first = deployer.converge(demo, "first-converge-2-shards")
            again = rerun(deployer, demo, "rerun-2-shards", options.reruns)
            checked = rerun(deployer, demo, "check-diff-2-shards", options.reruns, "--check", "--diff")
            start_hosts()
            first_large = deployer.converge(large, f"first-converge-{options.shards}-shards")
            again_large = rerun(deployer, large, f"rerun-{options.shards}-shards", 1)
        except BaseException:
            kept = Path(tempfile.mkdtemp(prefix="deploybench-logs-"))
            for log in workdir.glob("*.log"):
                shutil.copy(log, kept / log.name)
            print(f"logs kept in {kept}", file=sys.stderr)
            raise
        finally:
            remove_hosts()

    idempotent_ratio = again["seconds"] / first["seconds"]
    growth = first_large["seconds"] / first["seconds"]
    check_ratio = checked["seconds"] / again["seconds"]
    rows = [
        ("first converge, demo (2 shards)", first, "-", "-", "-", "-"),
        (f"idempotent re-run, demo (median of {options.reruns}: "
         + ", ".join(f"{s:.1f}" for s in again["all"]) + ")", again, "first converge, demo", f"{idempotent_ratio:.2f}", "<= 0.35",
         verdict(idempotent_ratio, 0.35)),
        (f"--check --diff, converged demo (median of {options.reruns}: " + ", ".join(f"{s:.1f}" for s in checked["all"]) + ")",
         checked, "idempotent re-run, demo", f"{check_ratio:.2f}", "<= 1.2", verdict(check_ratio, 1.2)),
        (f"first converge, {options.shards} shards", first_large, "first converge, demo", f"{growth:.2f}", "<= 1.5",
         verdict(growth, 1.5)),
        (f"idempotent re-run, {options.shards} shards", again_large, "idempotent re-run, demo",
         f"{again_large['seconds'] / again['seconds']:.2f}", "-", "-"),
    ]
    print()
    print("| measurement | seconds | tasks run | results | changed | reference | ratio | target | met? |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, run, reference, ratio, target, met in rows:
        print(f"| {name} | {run['seconds']:.1f} | {run['tasks']} | {run['results']} | {run['changed']} | {reference} | {ratio} | {target} "
              f"| {met} |")
    print("\ntasks run: tasks that ran (ok or changed), summed over both hosts, as the PLAY RECAP counts them;")
    print("results: the lines the callback printed for a host or a loop item that ran (a run_once task prints one): each is a")
    print("round trip to the host unless the task runs on the controller.")


if __name__ == "__main__":
    main()
