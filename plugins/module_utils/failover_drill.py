# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failover drill of failover_verify: preflight, then per shard canaries, failover and routing checks."""

from __future__ import annotations

import signal
import time
import traceback
import uuid

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    redis_credentials,
    redis_kwargs,
    sentinel_admin_credentials,
    sentinel_credentials,
    validate_sentinel_admin_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.drill_readiness import DrillReadiness
from ansible_collections.shardinel.redis.plugins.module_utils.drill_writer import Writer
from ansible_collections.shardinel.redis.plugins.module_utils.local_redis_process import (
    ProcessRefused,
    local_master_process,
    send,
)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import (
    Endpoint,
    ShardinelError,
    describe_error,
)
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_failover import DrillFailure, FailoverController

try:
    from ansible_collections.shardinel.redis.plugins.module_utils.shardinel import ShardedSentinelClient
except ImportError:
    HAS_SHARDINEL = False
    SHARDINEL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_SHARDINEL = True
    SHARDINEL_IMPORT_ERROR = None

CANARY_TTL = 3600
BATCH = 500
DRILLS = ('planned', 'kill', 'freeze')
DEFAULT_MAX_REPLICA_LAG_BYTES = 1024 * 1024
FAULTS = {'kill': signal.SIGKILL, 'freeze': signal.SIGSTOP}
REJOIN_HOW = {
    'kill': ', restarted by its service manager (systemd Restart=always)',
    'freeze': ' after SIGCONT',
}


def validate_drill_params(params):
    """Check the drill options; raise ValueError naming the offending option."""
    if params['timeout'] <= 0:
        raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
    if params['canaries'] < 1:
        raise ValueError('canaries: must be at least 1, got %r' % params['canaries'])
    if params['max_replica_lag_bytes'] < 0:
        raise ValueError('max_replica_lag_bytes: must be 0 or more, got %r' % params['max_replica_lag_bytes'])
    validate_sentinel_admin_params(params)
    if params['shards'] is not None and not [s for s in params['shards'] if s]:
        raise ValueError('shards: give at least one shard name, or omit it for every shard')


def new_report(old_master, drill):
    return dict(drill=drill, fault=None, old_master=old_master, new_master=None, failover_ms=None, write_gap_ms=None,
                canaries_written=0, canaries_lost=None, routing_verified=False, old_master_role=None, rejoin_ms=None,
                writes_acknowledged=0, writes_lost=None, write_errors=0, quorum=None, ready_wait_ms=None,
                ready_waited_for=[], failed_over=False, restored=None, restore_ms=None, error=None)


def plan_action(kind, name, pid):
    if kind == 'kill':
        return 'SIGKILL to redis-server process %d; its service manager restarts it' % pid
    if kind == 'freeze':
        return 'SIGSTOP to redis-server process %d, SIGCONT once Sentinel failed over' % pid
    return 'SENTINEL FAILOVER %s' % name


class FailoverDrill:
    """Preflight and per-shard drill for the shards of one topology."""

    def __init__(self, params, addresses):
        self.params = params
        self.kind = params['drill']
        self.addresses = addresses
        self.kwargs = redis_kwargs(params)
        self.timeout = params['timeout']
        self.run_id = uuid.uuid4().hex[:12]
        sentinels = [Endpoint(h, p, 'Sentinel %s' % format_address((h, p)), kwargs=self.kwargs, **sentinel_admin_credentials(params))
                     for h, p in addresses]
        self.control = FailoverController(sentinels, redis_credentials(params), self.kwargs, self.timeout)
        self.readiness = DrillReadiness(self.control, sentinels, params['max_replica_lag_bytes'], self.timeout)
        self.pids = {}

    def close(self):
        self.control.close()

    # preflight -----------------------------------------------------------------------------
    def preflight(self, requested):
        """Check every Sentinel, both Sentinel users, the shard names and the Redis user; change nothing.

        Returns {shard name: current master address} for the selected shards, in drill order.
        """
        known = None
        for endpoint in self.control.sentinels:
            endpoint.call('PING')
            names = {state['name'] for state in endpoint.states('MASTERS')}
            known = names if known is None else known & names
        if sentinel_admin_credentials(self.params) != sentinel_credentials(self.params):
            for host, port in self.addresses:
                self._check(Endpoint(host, port, 'Sentinel %s' % format_address((host, port)), kwargs=self.kwargs,
                                     **sentinel_credentials(self.params)),
                            lambda e: e.sentinel('GET-MASTER-ADDR-BY-NAME', sorted(known)[0]) if known else e.call('PING'))
        selected = sorted(known) if requested is None else list(dict.fromkeys(requested))
        unknown = [name for name in selected if name not in known]
        if unknown:
            raise ShardinelError('shards: unknown shard %s; the Sentinels monitor %s'
                                 % (', '.join(repr(n) for n in unknown), ', '.join(sorted(known)) or 'no shard'))
        masters = {}
        for name in selected:
            masters[name] = self.control.agreed_master(name)
            if masters[name] is None:
                raise ShardinelError('shard %s: the Sentinels do not agree on its master: %s' % (name, self.control.describe_views(name)))
            self._check(self.control.redis_endpoint(masters[name], 'Redis master %s of shard %s' % (masters[name], name)),
                        lambda e: e.role())
        for name, master in masters.items():
            try:
                self.readiness.check_replicas(name, master)
            except DrillFailure as error:
                raise ShardinelError(str(error))
            if self.kind in FAULTS:
                self.pids[name] = self.master_process(name, master)
        return masters

    def master_process(self, name, master):
        """The id of the master's redis-server process, which must run on this host (INFO server, checked in /proc)."""
        endpoint = self.control.redis_endpoint(master, 'Redis master %s of shard %s' % (master, name))
        try:
            info = endpoint.call('INFO', 'server')
        finally:
            endpoint.close()
        pid, port = int(info['process_id']), int(info['tcp_port'])
        try:
            local_master_process(pid, port, master)
        except ProcessRefused as error:
            raise ShardinelError('shard %s: %s' % (name, error))
        return pid

    @staticmethod
    def _check(endpoint, action):
        try:
            action(endpoint)
        finally:
            endpoint.close()

    # canaries ------------------------------------------------------------------------------
    def client(self):
        return ShardedSentinelClient(
            self.params['sentinels'],
            username=self.params['username'],
            password=self.params['password'],
            sentinel_username=self.params['sentinel_username'],
            sentinel_password=self.params['sentinel_password'],
            failover_timeout=self.timeout,
            sentinel_socket_timeout=self.params['socket_timeout'],
            **self.kwargs
        )

    def keys_for(self, client, name, label, count):
        """Keys with this run's prefix that the client routes to shard ``name``."""
        keys = []
        number = 0
        while len(keys) < count:
            key = 'shardinel:drill:%s:%s:%s:%d' % (self.run_id, name, label, number)
            if client.shard_for(key) == name:
                keys.append(key)
            number += 1
        return keys

    def writer_prefix(self, client, name):
        """A key prefix with a {hash tag} that routes every writer key to shard ``name``."""
        tag = 0
        while client.shard_for('{%s-%d}' % (self.run_id, tag)) != name:
            tag += 1
        return '{%s-%d}:shardinel:drill:writer' % (self.run_id, tag)

    def write_canaries(self, client, name, master):
        """Write canaries through the client, the last one straight to the master, then WAIT for its replicas.

        Replication is ordered, so replicas that acknowledged the last write hold every canary.
        """
        keys = self.keys_for(client, name, 'canary', self.params['canaries'])
        canaries = dict((key, '%s:%d' % (self.run_id, i)) for i, key in enumerate(keys))
        for key in keys[:-1]:
            client.set(key, canaries[key], ex=CANARY_TTL)
        endpoint = self.control.redis_endpoint(master, 'Redis master %s of shard %s' % (master, name))
        try:
            endpoint.call('SET', keys[-1], canaries[keys[-1]], 'EX', CANARY_TTL)
            replicas = len(endpoint.role()['replicas'])
            if replicas == 0:
                raise DrillFailure('master %s has no connected replica, a failover would lose data' % master)
            acknowledged = endpoint.call('WAIT', replicas, int(self.timeout * 1000))
        finally:
            endpoint.close()
        if acknowledged < replicas:
            raise DrillFailure('only %d of %d replicas acknowledged the canaries within %gs' % (acknowledged, replicas, self.timeout))
        return canaries

    @staticmethod
    def missing(client, expected):
        """Keys of ``expected`` whose value the client does not read back."""
        keys = list(expected)
        found = []
        for start in range(0, len(keys), BATCH):
            found.extend(client.mget(keys[start:start + BATCH]))
        return [key for key, value in zip(keys, found) if value != expected[key]]

    # drill ---------------------------------------------------------------------------------
    def drill(self, name, old_master):
        """Fail one shard over (planned, or by killing or freezing its master) and verify routing; returns its report
        (with 'error' set on failure)."""
        report = new_report(old_master, self.kind)
        clients = []
        keys = []
        writer = None
        try:
            report['quorum'] = self.control.ckquorum(name)
            report['ready_wait_ms'], report['ready_waited_for'] = self.readiness.wait(name, automatic=self.kind in FAULTS)
            self.readiness.check_replicas(name, old_master)
            pid = self.master_process(name, old_master) if self.kind in FAULTS else None
            client = self.client()
            clients.append(client)
            routed = format_address(client.master_for_shard(name))
            if routed != old_master:
                raise DrillFailure('the shardinel client routes to %s, the Sentinels name %s' % (routed, old_master))
            if not client.wait_for_switch_listener(self.timeout):
                raise DrillFailure('the shardinel client did not subscribe to +switch-master within %gs' % self.timeout)
            canaries = self.write_canaries(client, name, old_master)
            keys.extend(canaries)
            report['canaries_written'] = len(canaries)
            writer = Writer(client, self.writer_prefix(client, name), CANARY_TTL)
            writer.start()
            time.sleep(0.2)
            started = time.monotonic()
            new_master = self.cause_failover(name, old_master, pid, started, report)
            report['new_master'] = new_master
            deadline = time.monotonic() + self.timeout
            self.control.wait_for(lambda: format_address(client.master_for_shard(name)) == new_master,
                                  'the shardinel client to follow the failover to %s' % new_master, deadline)
            self.control.wait_for(lambda: writer.succeeded_after(started + report['failover_ms'] / 1000.0),
                                  'a write through the shardinel client to succeed after the failover', deadline)
            writer.stop()
            report.update(write_gap_ms=writer.longest_gap_ms(started), writes_acknowledged=len(writer.acknowledged),
                          write_errors=writer.errors)
            fresh = self.client()
            clients.append(fresh)
            self.verify_routing(report, client, fresh, name, canaries, writer, keys)
        except (DrillFailure, ShardinelError, ProcessRefused) as error:
            report['error'] = '; '.join(filter(None, [str(error), report['error']]))
        except Exception as error:  # pylint: disable=broad-exception-caught
            report['error'] = '; '.join(filter(None, ['unexpected %s: %s' % (type(error).__name__, describe_error(error)),
                                                      report['error']]))
        finally:
            if writer is not None:
                writer.stop()
                keys.extend(key for key, _value in writer.acknowledged)
            if clients:
                self._delete(clients[-1], keys)
            for used in clients:
                used.close()
        return report

    def cause_failover(self, name, old_master, pid, started, report):
        """SENTINEL FAILOVER, or the signal to the master's process ``pid``; wait until the Sentinels agree on the new
        master and the old one is its connected replica. Fills the report's fault figures; returns the new master."""
        if pid is None:
            self.control.request_failover(name)
            report['fault'] = 'SENTINEL FAILOVER %s' % name
            report['failed_over'] = True
            new_master, report['failover_ms'], report['old_master_role'] = self.control.await_failover(name, old_master, started)
            return new_master
        frozen = pid if self.kind == 'freeze' else None
        try:
            send(pid, FAULTS[self.kind])
            report['fault'] = '%s to redis-server process %d' % (FAULTS[self.kind].name, pid)
            report['failed_over'] = True
            gone_wrong = self._restarted_too_early(name, old_master, pid) if self.kind == 'kill' else None
            new_master, report['failover_ms'] = self.control.await_new_master(name, old_master, started, gone_wrong=gone_wrong)
            if frozen is not None:
                frozen = None
                send(pid, signal.SIGCONT)
        finally:
            if frozen is not None:
                self._resume(frozen, report)
        report['old_master_role'] = self.control.await_demotion(name, old_master, new_master, REJOIN_HOW[self.kind])
        report['rejoin_ms'] = int(round((time.monotonic() - started) * 1000))
        return new_master

    def _restarted_too_early(self, name, master, pid):
        """A check for the wait after a kill: the master is back, in a new process, before Sentinel failed it over."""
        def check():
            endpoint = self.control.redis_endpoint(master, 'Redis master %s of shard %s' % (master, name))
            try:
                restarted = int(endpoint.call('INFO', 'server')['process_id']) != pid
            except ShardinelError:
                return None
            finally:
                endpoint.close()
            if not restarted:
                return None
            return ('master %s was started again before the Sentinels failed it over: its service manager restarts it sooner '
                    'than down-after-milliseconds plus the election (raise redis_server_restart_delay); it came back as the '
                    'master, with only the data it had saved, and its replicas resync from it' % master)
        return check

    @staticmethod
    def _resume(pid, report):
        """A frozen master is never left stopped, whatever failed."""
        try:
            send(pid, signal.SIGCONT)
        except ProcessRefused as error:
            report['error'] = 'SIGCONT failed: %s' % error

    def verify_routing(self, report, client, fresh, name, canaries, writer, keys):
        """Read the canaries back through the same and a fresh client, and check a write after the failover."""
        new_master = report['new_master']
        lost_same = self.missing(client, canaries)
        lost_fresh = self.missing(fresh, canaries)
        report['canaries_lost'] = len(set(lost_same) | set(lost_fresh))
        report['writes_lost'] = len(self.missing(fresh, dict(writer.acknowledged)))
        probe = self.keys_for(client, name, 'probe', 1)[0]
        keys.append(probe)
        client.set(probe, self.run_id, ex=CANARY_TTL)
        fresh_master = format_address(fresh.master_for_shard(name))
        problems = []
        if fresh_master != new_master:
            problems.append('a fresh client routes to %s, not to the new master %s' % (fresh_master, new_master))
        if lost_same:
            problems.append('%d canaries unreadable through the same client' % len(lost_same))
        if lost_fresh:
            problems.append('%d canaries unreadable through a fresh client' % len(lost_fresh))
        if fresh.get(probe) != self.run_id:
            problems.append('a write after the failover is not readable through a fresh client')
        if problems:
            raise DrillFailure('; '.join(problems))
        report['routing_verified'] = True

    @staticmethod
    def _delete(client, keys):
        try:
            for start in range(0, len(keys), BATCH):
                client.delete(*keys[start:start + BATCH])
        except Exception:  # pylint: disable=broad-exception-caught
            pass  # the keys expire on their own (CANARY_TTL)

    def restore(self, name, start_master, report):
        try:
            report['restore_ms'] = self.control.restore(name, start_master)
            report['restored'] = True
        except (DrillFailure, ShardinelError) as error:
            report['restored'] = False
            report['error'] = '; '.join(filter(None, [report['error'], 'restore to %s failed: %s' % (start_master, error)]))


def run_drill(params, addresses, check_mode):
    """Preflight, then (unless check_mode) drill the selected shards one after another and restore if asked.

    Returns (changed, reports, failure message or None).
    """
    drill = FailoverDrill(params, addresses)
    try:
        masters = drill.preflight(params['shards'])
        if check_mode:
            plan = dict((name, dict(old_master=master, drill=params['drill'], restore=params['restore'],
                                    action=plan_action(params['drill'], name, drill.pids.get(name))))
                        for name, master in masters.items())
            return False, plan, None
        reports = {}
        for name, master in masters.items():
            reports[name] = drill.drill(name, master)
            if reports[name]['error']:
                break
        if params['restore']:
            for name, report in reports.items():
                if report['failed_over']:
                    drill.restore(name, masters[name], report)
        changed = any(report['failed_over'] for report in reports.values())
        failed = ['%s: %s' % (name, report['error']) for name, report in reports.items() if report['error']]
        return changed, reports, ('failover_verify failed for ' + '; '.join(failed)) if failed else None
    finally:
        drill.close()
