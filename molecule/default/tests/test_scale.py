"""Growing the demo layout by one shard with playbooks/scale.yml (shardinel.redis.scale) under live traffic, through a
shardinel client built before the change (no service_names: it routes on the published layout and follows it):

- a writer (SET, then GET of the same key) and a reader of keys written before the change run throughout;
- no command fails, no read misses an existing key, no acknowledged write is lost or replaced by an older copy;
- strings and hashes keep their values and TTLs; every key of every master is on its owner under the new layout;
- the client follows the new layout, and a following run of the converge playbook (site.yml) changes nothing.

It leaves three shards, so it runs after every other test of the directory (conftest.py). Only where the scenario's
group_vars set shardinel_test_scale (the default scenario).
"""

import json
import random
import sys
import threading
import time

import pytest

from expected import BOOTSTRAP, GROUP_VARS, sentinel_addresses
from playbook_run import REPO, run_playbook, task_results
from test_rotation import _converge

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_scale"), reason="only where shardinel_test_scale is set")

# The client package and the unit tests' traffic thread.
CLIENT_PATHS = [str(REPO / "plugins" / "module_utils"), str(REPO / "tests" / "unit")]
NEW_SHARD = "shard3"
STRINGS = 3000
HASHES = 200
TTL = 3600


class Reader:
    """GETs keys written before the change, at random, until stopped; a key not found, or with another value, is a miss."""

    def __init__(self, client, expected):
        self.client, self.expected = client, expected
        self.reads, self.misses, self.errors = 0, [], []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._keys = list(expected)

    def _run(self):
        while not self._stopping.is_set():
            key = random.choice(self._keys)
            try:
                value = self.client.get(key)
                self.reads += 1
                if value != self.expected[key]:
                    self.misses.append((key, value))
            except Exception as error:  # pylint: disable=broad-except
                self.errors.append(repr(error))
            time.sleep(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._thread.join(timeout=10)


def _redis(address_text, user, password, **kwargs):
    import redis
    host, port = address_text.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), username=user, password=password, socket_timeout=5, decode_responses=True, **kwargs)


def _masters(secrets, shards):
    with _redis(sentinel_addresses()[0], "sentinel-client", secrets["shardinel_sentinel_client_password"]) as sentinel:
        return {shard: "%s:%s" % tuple(sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard)) for shard in shards}


def _printed(report, task_name):
    return [line for result in task_results(report, task_name).values() for line in result.get("msg", [])]


def test_scale_grows_by_one_shard_under_live_traffic(secrets, tmp_path, capsys):
    sys.path[:0] = [path for path in CLIENT_PATHS if path not in sys.path]
    from command_traffic import CommandTraffic
    from shardinel import ShardedSentinelClient

    shards = sorted(BOOTSTRAP) + [NEW_SHARD]
    extra = tmp_path / "three-shards.json"
    extra.write_text(json.dumps({"shardinel_shards": [{"name": name} for name in shards]}), encoding="utf-8")
    client = ShardedSentinelClient(sentinel_addresses(), username="app", password=secrets["shardinel_app_password"],
                                   sentinel_username="sentinel-client", sentinel_password=secrets["shardinel_sentinel_client_password"],
                                   decode_responses=True, failover_timeout=30.0, socket_timeout=5)
    try:
        before = client.layout
        # The converge published the first layout: the scenario's shards, stable.
        assert before.version >= 1 and list(before.shards) == sorted(BOOTSTRAP) and not before.migrating, before
        strings = {f"scale:string:{i}": f"value-{i}" for i in range(STRINGS)}
        for start in range(0, STRINGS, 500):
            client.mset(dict(list(strings.items())[start:start + 500]))
        hashes = {f"scale:hash:{i}": {"field": str(i), "other": "x" * (i % 50)} for i in range(HASHES)}
        for key, fields in hashes.items():
            client.hset(key, mapping=fields)
            client.expire(key, TTL)

        started = time.monotonic()
        with Reader(client, strings) as reader:
            writer = CommandTraffic(client, "scale:written", keys=1000, pause=0.002).start()
            try:
                result = run_playbook("shardinel.redis.scale", "-e", f"@{extra}")
                time.sleep(2)
            finally:
                writer.stop()
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        report = json.loads(result.stdout)
        after = client.layout
        with capsys.disabled():
            print("\n" + "\n".join(_printed(report, "Print the plan") + [""] + _printed(report, "Print the result") + [
                "", f"scale playbook with a writer and a reader through a client built before it ({elapsed:.0f} s): "
                f"writer {writer.commands} commands, {len(writer.failures)} failed; reader {reader.reads} reads, "
                f"{len(reader.misses)} missed, {len(reader.errors)} failed; layout version {before.version} -> {after.version}"]),
                flush=True)

        assert writer.failures == [] and reader.errors == [], (writer.failures[:5], reader.errors[:5])
        assert reader.misses == [], reader.misses[:5]
        assert writer.commands > 100 and reader.reads > 100, (writer.commands, reader.reads)
        # The client follows the new layout: stable, the three shards, two versions on (migrating, then stable).
        assert list(after.shards) == shards and not after.migrating and after.version == before.version + 2, after

        # Nothing lost and nothing stale: the keys written before hold their values (and types and TTLs); each of the
        # writer's keys holds the last value it wrote (the writer wrote index n to key n mod 1000, none failed).
        values = [value for start in range(0, STRINGS, 500) for value in client.mget(list(strings)[start:start + 500])]
        assert values == list(strings.values())
        for key, fields in hashes.items():
            assert client.hgetall(key) == fields and 0 < client.ttl(key) <= TTL, key
        written = writer.commands // 2
        last = {f"scale:written:{index % 1000}": str(index) for index in range(max(0, written - 1000), written)}
        assert dict(zip(last, client.mget(list(last)))) == last

        # Every key of every master is on its owner under the new layout, and the new shard took its share.
        admin = secrets["shardinel_admin_password"]
        counts = {}
        for shard, master in _masters(secrets, shards).items():
            with _redis(master, "admin", admin) as connection:
                keys = list(connection.scan_iter(count=1000))
            misplaced = [key for key in keys if client.shard_for(key) != shard]
            assert misplaced == [], (shard, master, len(misplaced), misplaced[:5])
            counts[shard] = len(keys)
        assert counts[NEW_SHARD] > (STRINGS + HASHES) // 5, counts
    finally:
        client.close()

    # A run of site.yml after the scale changes nothing.
    changed = _converge(tmp_path, "after-scale", {"shardinel_shards": [{"name": name} for name in shards]})
    assert all(count == 0 for count in changed.values()), changed
