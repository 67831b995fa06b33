"""Forced, aborted and SIGKILL failovers with concurrent writers on the same client instance; Sentinel resubscription."""

import signal
import time

from failover_writer import FailoverWriter, tag_on
from shardinel import ShardedSentinelClient

# The shard waits from the leader's +elected-leader to +switch-master: about 1.1 s here, most of it
# Sentinel's 1 s INFO period before it sees the promoted replica; the rest is headroom for a busy machine.
GAP_LIMIT = 2.5


def _next_event(pubsub, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message is not None:
            return message["channel"]
    raise TimeoutError(f"no Sentinel event within {timeout}s")


def _check(topology, client, shard, writer, label, started):
    new_master = client.master_for_shard(shard)
    reader = topology.redis_client(new_master)
    missing, replica_missing = writer.report.missing(reader)
    reader.close()
    gap = writer.report.gap(after=started)
    print(f"\n{label}: acked={len(writer.report.acked)} replica-acked={len(writer.report.replica_acked)} "
          f"errors={writer.report.errors} write gap={gap:.2f}s missing acked={missing} missing replica-acked={replica_missing}")
    assert replica_missing == 0
    return gap, missing


def test_forced_failover_is_followed_without_losing_acknowledged_writes(fresh_topology):
    topology = fresh_topology
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.wait_for_switch_listener(5)
        shard = "shard1"
        with FailoverWriter(client, tag_on(client, shard)) as writer:
            time.sleep(0.5)
            started = time.monotonic()
            old = topology.force_failover(shard)
            new = topology.settle_after_failover(shard, old)
            time.sleep(0.5)
        assert client.master_for_shard(shard) == new != old
        gap, missing = _check(topology, client, shard, writer, "forced failover", started)
        assert gap < GAP_LIMIT
        assert missing <= 3
        assert client.set(f"{{{tag_on(client, shard)}}}:after", 1)


def test_forced_failover_plain_sets_are_paused_not_lost(fresh_topology):
    """No WAIT: the shard pauses from the leader's +elected-leader to +switch-master, so the old master takes no late writes."""
    topology = fresh_topology
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.wait_for_switch_listener(5)
        assert client.subscribed_sentinels == sorted(topology.sentinel_addresses)
        assert client.sentinels_without_failover_events == []
        shard = "shard1"
        with FailoverWriter(client, tag_on(client, shard), wait_ms=None, pause=0) as writer:
            time.sleep(0.5)
            started = time.monotonic()
            old = topology.force_failover(shard)
            new = topology.settle_after_failover(shard, old)
            time.sleep(0.3)
        assert client.master_for_shard(shard) == new != old
        gap, missing = _check(topology, client, shard, writer, "forced failover, plain SET", started)
        assert len(writer.report.acked) > 1000
        assert gap < GAP_LIMIT
        assert missing <= max(3, len(writer.report.acked) // 1000)


def test_sigkill_failover_is_followed(fresh_topology):
    topology = fresh_topology
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.wait_for_switch_listener(5)
        shard = "shard2"
        old = client.master_for_shard(shard)
        with FailoverWriter(client, tag_on(client, shard)) as writer:
            time.sleep(0.5)
            started = time.monotonic()
            topology.process_at(old).kill(signal.SIGKILL)
            new = topology.wait_for_master_agreement(shard, not_address=old)
            time.sleep(1.0)
        assert client.master_for_shard(shard) == new != old
        gap, _missing = _check(topology, client, shard, writer, "SIGKILL failover", started)
        assert writer.report.success_times[-1] > started + gap
        assert gap < 6


def test_aborted_failover_releases_the_paused_shard(fresh_topology):
    """The leader loses its chosen replica mid-failover: shard1 waits until -failover-abort-slave-timeout

    (Sentinel failover-timeout 4 s), or until the client's own failover_timeout, then goes on with the old
    master; shard2 never waits.
    """
    topology = fresh_topology
    shard, other = "shard1", "shard2"
    leader = topology.sentinels[0]
    watcher = topology.sentinel_client(leader).pubsub()
    watcher.subscribe("+selected-slave", "-failover-abort-slave-timeout")
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client, \
            ShardedSentinelClient(topology.sentinel_addresses, failover_timeout=1.5, **topology.client_kwargs()) as quick:
        assert client.wait_for_switch_listener(5) and quick.wait_for_switch_listener(5)
        old = client.master_for_shard(shard)
        writers = [FailoverWriter(client, tag_on(client, shard, "a"), wait_ms=None, pause=0.001),
                   FailoverWriter(quick, tag_on(client, shard, "q"), wait_ms=None, pause=0.001),
                   FailoverWriter(client, tag_on(client, other, "o"), wait_ms=None, pause=0.001)]
        for writer in writers:
            writer.__enter__()
        try:
            time.sleep(0.5)
            started = time.monotonic()
            assert topology.force_failover(shard) == old
            assert _next_event(watcher, 5) == "+selected-slave"
            topology.shard(shard).replica.kill(signal.SIGKILL)
            assert _next_event(watcher, 10) == "-failover-abort-slave-timeout"
            time.sleep(0.5)
        finally:
            for writer in writers:
                writer.__exit__(None, None, None)
            watcher.close()
        assert client.master_for_shard(shard) == quick.master_for_shard(shard) == old
        gaps = [w.report.gap(after=started) for w in writers]
        missing = []
        for writer in writers:
            reader = topology.redis_client(client.master_for_shard(client.shard_for(writer.tag)))
            missing.append(writer.report.missing(reader)[0])
            reader.close()
        print(f"\naborted failover: write gaps (abort, timeout 1.5 s, other shard)={[round(g, 2) for g in gaps]} "
              f"acked={[len(w.report.acked) for w in writers]} missing={missing}")
        assert missing == [0, 0, 0]
        assert 3.5 < gaps[0] < 7
        assert 1.2 < gaps[1] < 3.5
        assert gaps[2] < 0.5


def _wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_lost_sentinel_subscription_is_restored(fresh_topology):
    topology = fresh_topology
    with ShardedSentinelClient(topology.sentinel_addresses, **topology.client_kwargs()) as client:
        assert client.wait_for_switch_listener(5)
        lost = topology.sentinels[2]
        lost.kill(signal.SIGKILL)
        _wait_until(lambda: lost.address_string not in client.subscribed_sentinels, 5, "the lost subscription to be noticed")
        assert len(client.subscribed_sentinels) == 2
        topology.restart(lost)
        _wait_until(lambda: client.subscribed_sentinels == sorted(topology.sentinel_addresses), 5, "the resubscription")
        old = topology.force_failover("shard2")
        _wait_until(lambda: client.master_for_shard("shard2") != old, 5, "+switch-master to be followed")
