"""Helpers to run the shardinel.redis modules through their real entry point (python -m <module> args.json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

REPO = Path(__file__).resolve().parents[4]
COLLECTIONS = REPO / ".cache" / "collections"
if not (COLLECTIONS / "ansible_collections" / "shardinel" / "redis").exists():
    subprocess.run(["bash", str(REPO / "scripts" / "collection-path.sh")], check=True, stdout=subprocess.DEVNULL)
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

ModuleRunner = Callable[..., "ModuleResult"]


class ModuleResult(dict):  # type: ignore[type-arg]
    """The module's JSON result plus its exit code and raw output (to check that no secret leaks)."""

    rc: int
    output: str


def connection_args(topology: Any, sentinel_role: str = "client", redis_role: str = "admin") -> dict[str, Any]:
    """Module arguments for a test topology: discovery Sentinel user and the Redis admin user by default."""
    return {
        "sentinels": topology.sentinel_addresses,
        "sentinel_username": topology.sentinel_users[sentinel_role].username,
        "sentinel_password": topology.sentinel_users[sentinel_role].password,
        "username": topology.users[redis_role].username,
        "password": topology.users[redis_role].password,
        "connect_timeout": 1.0,
        "socket_timeout": 2.0,
    }


def drill_args(topology: Any, **extra: Any) -> dict[str, Any]:
    """failover_verify arguments: discovery user for the client, Sentinel admin for FAILOVER/CKQUORUM/INFO, Redis admin."""
    return connection_args(topology) | {
        "sentinel_admin_username": topology.sentinel_users["admin"].username,
        "sentinel_admin_password": topology.sentinel_users["admin"].password,
        "timeout": 40.0,
    } | extra


def sentinel_state(topology: Any) -> dict[str, tuple[Any, ...]]:
    """Per shard: the master every Sentinel names and the config epoch each Sentinel holds."""
    state = {}
    for shard in topology.shards:
        epochs = []
        for sentinel in topology.sentinels:
            client = topology.sentinel_client(sentinel)
            try:
                epochs.append(client.sentinel_master(shard.name)["config-epoch"])
            finally:
                client.close()
        state[shard.name] = (tuple(topology.sentinel_masters(shard.name)), tuple(epochs))
    return state


def all_secrets(topology: Any) -> list[str]:
    return [u.password for u in topology.users.values()] + [u.password for u in topology.sentinel_users.values()]


def module_runner(work_dir: Path) -> ModuleRunner:
    """run("topology_info", args, check_mode=False, diff=False) -> ModuleResult; the args file is written to work_dir.

    ``prefix`` is a command the module runs under, for example ["unshare", "--pid", "--fork", "--mount-proc"].
    """

    def run(name: str, args: dict[str, Any], check_mode: bool = False, timeout: float = 300,
            prefix: Sequence[str] = (), diff: bool = False) -> ModuleResult:
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        args_file = work_dir / f"{name}-args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        # SHARDINEL_MODULE_PYTHONPATH puts another redis-py first, e.g. Debian's python3-redis 4.3
        extra = os.environ.get("SHARDINEL_MODULE_PYTHONPATH")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [extra, str(COLLECTIONS)])))
        completed = subprocess.run(
            [*prefix, sys.executable, "-m", f"ansible_collections.shardinel.redis.plugins.modules.{name}", str(args_file)],
            capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=work_dir,
        )
        output = completed.stdout + completed.stderr
        try:
            result = ModuleResult(json.loads(completed.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            raise AssertionError(f"module {name} printed no JSON result (rc {completed.returncode}):\n{output}") from None
        result.rc = completed.returncode
        result.output = output
        return result

    return run
