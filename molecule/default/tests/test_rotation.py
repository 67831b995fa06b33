"""The three-step password rotation of the README ("Rotating secrets"), each step a run of the converge playbook
(shardinel.redis.site), with a shardinel client connected throughout: every user's password moves to a new one
and back to the scenario's own, and no command fails, no instance or Sentinel restarts (run_id), every replica's
link stays up and no Sentinel publishes +sdown. Only where the scenario's group_vars set shardinel_test_rotation.
"""

import json
import sys
import time

import pytest

from expected import BOOTSTRAP, GROUP_VARS, HOSTS, SCENARIO, SENTINEL_PORTS, address, sentinel_addresses
from playbook_run import REPO, run_playbook, failed_tasks

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_rotation"), reason="only where shardinel_test_rotation is set")

# The client package, and the unit tests' traffic thread.
CLIENT_PATHS = [str(REPO / "plugins" / "module_utils"), str(REPO / "tests" / "unit")]
USERS = ("admin", "replication", "sentinel", "app", "sentinel_admin", "sentinel_client")


def _converge(tmp_path, name, extra_vars, expect_failure=False):
    """One run of the scenario's converge playbook with the given extra vars: the number of changed tasks per host,
    or with expect_failure the playbook's (JSON) output of a run that must fail."""
    extra = tmp_path / f"{name}.json"
    extra.write_text(json.dumps(extra_vars), encoding="utf-8")
    extra.chmod(0o600)
    result = run_playbook(SCENARIO.parent / "shared" / "converge.yml", "-e", f"@{extra}")
    if expect_failure:
        assert result.returncode != 0, f"{name} did not fail: " + result.stdout[-4000:]
        return result.stdout
    assert result.returncode == 0, f"{name}: " + failed_tasks(result.stdout) + result.stderr[-2000:]
    stats = json.loads(result.stdout)["stats"]
    return {host: stats[host]["changed"] for host in stats}


def _passwords(secrets, suffix=None, previous_suffix=None):
    """Extra vars: every user's password (with a suffix: a new one) and, with previous_suffix, its previous one."""
    def value(user, chosen):
        base = secrets[f"shardinel_{user}_password"]
        return base if chosen == "" else f"{base}-{chosen}"
    extra = {f"shardinel_{user}_password": value(user, suffix or "") for user in USERS}
    extra.update({f"shardinel_{user}_previous_passwords": [] if previous_suffix is None else [value(user, previous_suffix)]
                  for user in USERS})
    return extra


def _redis(address_text, user, password, **kwargs):
    import redis
    host, port = address_text.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), username=user, password=password, socket_timeout=5, decode_responses=True, **kwargs)


def _run_ids(admin_password, sentinel_admin_password):
    ids = {}
    for shard, (port, _master, _replica) in BOOTSTRAP.items():
        for host in HOSTS:
            with _redis(address(host, port), "admin", admin_password) as client:
                ids[address(host, port)] = client.info("server")["run_id"]
    for sentinel in sentinel_addresses():
        with _redis(sentinel, "sentinel-admin", sentinel_admin_password) as client:
            ids[sentinel] = client.info("server")["run_id"]
    return ids


def _links_down(admin_password):
    down = []
    for _shard, (port, _master, _replica) in BOOTSTRAP.items():
        for host in HOSTS:
            with _redis(address(host, port), "admin", admin_password) as client:
                info = client.info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                down.append(address(host, port))
    return down


def test_three_step_rotation_fails_no_command_and_restarts_nothing(secrets, tmp_path):
    sys.path[:0] = [path for path in CLIENT_PATHS if path not in sys.path]
    from command_traffic import CommandTraffic
    from shardinel import ShardedSentinelClient

    admin, sentinel_admin = secrets["shardinel_admin_password"], secrets["shardinel_sentinel_admin_password"]
    before = _run_ids(admin, sentinel_admin)
    sdown = []
    watchers = []
    for sentinel in sentinel_addresses():
        pubsub = _redis(sentinel, "sentinel-admin", sentinel_admin).pubsub()
        pubsub.subscribe(**{"+sdown": lambda message: sdown.append(message["data"])})
        watchers.append(pubsub.run_in_thread(sleep_time=0.05, daemon=True))

    def client(suffix=""):
        def password(user):
            return secrets[f"shardinel_{user}_password"] + (f"-{suffix}" if suffix else "")
        return ShardedSentinelClient(sentinel_addresses(), username="app", password=password("app"), sentinel_username="sentinel-client",
                                     sentinel_password=password("sentinel_client"), socket_timeout=5)

    steps, traffic = {}, []
    old_client = client()
    try:
        traffic.append(CommandTraffic(old_client, "rotation-old", keys=200, pause=0.005).start())
        # 1. Every user accepts a new password beside its current one; the servers use the new one among themselves.
        steps["1 add new"] = _converge(tmp_path, "add-new", _passwords(secrets, "rotated", ""))
        assert _links_down(admin + "-rotated") == []
        # 2. The applications move to the new password (a second client); the first keeps its connections.
        new_client = client("rotated")
        traffic.append(CommandTraffic(new_client, "rotation-new", keys=200, pause=0.005).start())
        time.sleep(1)
        # 3. The old password is dropped.
        steps["3 drop old"] = _converge(tmp_path, "drop-old", _passwords(secrets, "rotated"))
        assert _links_down(admin + "-rotated") == []
        time.sleep(1)
        # Back to the scenario's own passwords for the tests that follow, the same way.
        steps["back: add"] = _converge(tmp_path, "back-add", _passwords(secrets, "", "rotated"))
        steps["back: drop"] = _converge(tmp_path, "back-drop", _passwords(secrets))
        time.sleep(1)
    finally:
        for thread in traffic:
            thread.stop()
        for watcher in watchers:
            watcher.stop()
        old_client.close()
        if len(traffic) > 1:
            traffic[1].client.close()
    print("rotation steps (changed tasks per host):", steps)
    print("commands:", {thread.prefix: thread.commands for thread in traffic}, "failed:", sum(len(t.failures) for t in traffic))
    assert all(sum(changed.values()) > 0 for changed in steps.values()), steps
    assert [failure for thread in traffic for failure in thread.failures] == []
    assert all(thread.commands > 100 for thread in traffic)
    assert sdown == []
    assert _links_down(admin) == []
    assert _run_ids(admin, sentinel_admin) == before
    assert len(before) == len(BOOTSTRAP) * len(HOSTS) + len(HOSTS) * len(SENTINEL_PORTS)
