# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart one shard instance, or only switch it over, without a write outage (module shardinel.redis.instance_restart).

switchover: when the instance is the master every Sentinel names, SENTINEL FAILOVER (retried while Sentinel answers
INPROG or NOGOODSLAVE, asked again if the Sentinel that accepted it gave it up), then wait until every Sentinel names
a new master that reports ROLE master: the shard takes no write in between (the shardinel client holds a shard's
commands from the failover's start to +switch-master). The old master keeps acting as a master until Sentinel's next
INFO converts it (up to 10 s later), so it is pointed at the new master at once (REPLICAOF) and the wait goes on
until it reports ROLE slave of it with its link connected. Nothing happens to a replica.

restart: switchover, wait until the instance is not loading, syncing or rewriting its AOF (Redis ignores SIGTERM
while it writes the AOF that follows a full sync, and systemd would wait TimeoutStopSec and kill it), restart its
unit, then wait until it reports ROLE slave of the master with its link connected and every Sentinel lists it as a
replica, up, with master-link-status ok, from an INFO it sent after the restart.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import AuthError, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import WatchError, problem_text, wait_for
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import state_address

RETRIED_FAILOVER_ERRORS = ('INPROG', 'NOGOODSLAVE')
BUSY_FIELDS = ('loading', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'master_sync_in_progress')


class RestartError(Exception):
    """The instance could not be switched over or restarted safely; the message names the server."""


def elapsed(since):
    return round(time.monotonic() - since, 2)


class InstanceRestart:
    """One instance (``address``, "host:port") of ``shard``, watched through ``watch`` (a ShardWatch); every wait
    lasts at most ``timeout`` seconds. ``report`` collects what happened (the module returns it)."""

    def __init__(self, watch, shard, address, timeout):
        self.watch = watch
        self.shard = shard
        self.address = address
        self.timeout = timeout
        self.report = {'shard': shard, 'address': address, 'restarted': False}

    def wait(self, check, what):
        try:
            return wait_for(check, what, self.timeout)
        except WatchError as error:
            raise RestartError(str(error))

    def describe(self):
        return self.watch.describe(self.watch.master_states(self.shard))

    # what there is to do ------------------------------------------------------------------------------------------
    def current_master(self):
        """The master every Sentinel names, up, once they agree; the instance itself must report ROLE master if named."""
        master = self.wait(lambda: self.watch.agreed_master(self.watch.master_states(self.shard)),
                           lambda: 'every Sentinel to name the same master of %s, up (%s)' % (self.shard, self.describe()))
        self.report['master_before'] = master
        if master == self.address and (self.watch.role(self.address) or [None])[0] != 'master':
            raise RestartError('the Sentinels name %s master of %s but it does not report ROLE master'
                               % (self.address, self.shard))
        return master

    def plan(self, action):
        """Check mode: what ``action`` would do, from one look (asking only, never waiting). When it cannot tell
        whether the instance is the master, would_fail_over is None and master_unknown says why."""
        self.report.update(would_restart=action == 'restart', would_fail_over=None)
        try:
            states = self.watch.master_states(self.shard)
            master = self.watch.agreed_master(states)
            if master is None:
                self.report['master_unknown'] = ('the Sentinels do not all name the same master of %s, up (%s); a real run '
                                                 'would wait for them' % (self.shard, self.watch.describe(states)))
                return self.report
            if master == self.address and (self.watch.role(self.address) or [None])[0] != 'master':
                self.report['master_unknown'] = ('the Sentinels name %s master of %s but it does not report ROLE master'
                                                 % (self.address, self.shard))
                return self.report
        except AuthError as error:
            self.report['master_unknown'] = str(error)
            return self.report
        self.report.update(master_before=master, would_fail_over=master == self.address)
        return self.report

    # switchover ---------------------------------------------------------------------------------------------------
    def switchover(self):
        """Fail the shard over when the instance is its master; returns the master it replicates from afterwards."""
        master = self.current_master()
        if master != self.address:
            return master
        started = time.monotonic()
        sentinel = self.request_failover()
        self.report['failover_sentinel'] = sentinel

        def promoted():
            states = self.watch.master_states(self.shard)
            new = self.watch.agreed_master(states)
            if new in (None, self.address):
                self.request_again_if_given_up(sentinel, states.get(sentinel))
                return None
            return new if (self.watch.role(new) or [None])[0] == 'master' else None
        new_master = self.wait(promoted, lambda: 'every Sentinel to name a new master of %s (%s)' % (self.shard, self.describe()))
        self.report.update(failover_s=elapsed(started), new_master=new_master)
        switched = time.monotonic()
        self.demote(new_master)
        self.report['demoted_s'] = elapsed(switched)
        return new_master

    def request_failover(self):
        """SENTINEL FAILOVER on the first Sentinel that accepts it, retried while a failover is in progress or no
        replica is eligible yet; returns that Sentinel."""
        refusals = []

        def accepted():
            del refusals[:]
            for sentinel in self.watch.sentinels:
                outcome = self.try_failover(sentinel)
                if outcome is True:
                    return sentinel
                refusals.append('%s: %s' % (sentinel, problem_text(outcome)))
                if isinstance(outcome, ReplyError) and outcome.code in RETRIED_FAILOVER_ERRORS:
                    return None
            return None
        return self.wait(accepted, lambda: 'a Sentinel to accept SENTINEL FAILOVER %s (%s)' % (self.shard, '; '.join(refusals)))

    def try_failover(self, sentinel):
        """True when the Sentinel accepted SENTINEL FAILOVER, else the error it gave; a refusal for want of
        permission is raised (waiting cannot help)."""
        try:
            self.watch.call_sentinel(sentinel, 'SENTINEL', 'FAILOVER', self.shard)
        except AuthError:
            raise
        except ReplyError as error:
            if error.code == 'NOPERM':
                raise RestartError('SENTINEL FAILOVER %s refused by %s: %s (it needs the Sentinel admin user)'
                                   % (self.shard, sentinel, error))
            return error
        except WireError as error:
            return error
        return True

    def request_again_if_given_up(self, sentinel, state):
        """Sentinel gives up a failover whose replica does not report its promotion within failover-timeout: ask
        again once the Sentinel that ran it (its SENTINEL MASTER ``state``) still names this instance and has no
        failover in progress."""
        if state is not None and not isinstance(state, Exception) and state_address(state) == self.address \
                and 'failover_in_progress' not in state['flags']:
            self.try_failover(sentinel)

    def demote(self, new_master):
        """REPLICAOF the new master on the old one, then wait until it is a connected replica. Sentinel may have
        converted it first; Redis then answers "OK Already connected to specified master"."""
        host, port = parse_address(new_master, 'new master')
        try:
            reply = self.watch.call_instance(self.address, 'REPLICAOF', host, port)
        except AuthError:
            raise
        except (ReplyError, WireError) as error:
            raise RestartError('REPLICAOF %s on the old master %s: %s' % (new_master, self.address, problem_text(error)))
        if not str(reply).startswith('OK'):
            raise RestartError('REPLICAOF %s on the old master %s answered %s' % (new_master, self.address, reply))
        self.wait_connected(new_master)

    # restart ------------------------------------------------------------------------------------------------------
    def restart(self, restart_unit):
        """Switch over, then restart the unit (``restart_unit()`` returns (rc, output)) and wait until the instance
        is back in sync and known so to every Sentinel."""
        master = self.switchover()
        if master == self.address:
            raise RestartError('%s is still the master of %s' % (self.address, self.shard))
        self.wait(self.ready_to_stop, '%s to finish loading, syncing and rewriting its AOF' % self.address)
        started = time.monotonic()
        rc, output = restart_unit()
        if rc != 0:
            raise RestartError(output)
        self.report['restart_s'] = elapsed(started)
        self.wait_connected(master)
        self.wait(lambda: self.watch.in_sync_everywhere(self.watch.replica_states(self.shard), self.address, master, started),
                  'every Sentinel to list %s as a replica of %s with its link ok' % (self.address, master))
        self.report.update(back_s=elapsed(started), restarted=True)

    def ready_to_stop(self):
        """Not loading, syncing or rewriting its AOF."""
        info = self.watch.info(self.address, 'persistence', 'replication')
        return bool(info) and all(info.get(field, '0') == '0' for field in BUSY_FIELDS)

    def wait_connected(self, master):
        self.wait(lambda: self.watch.connected_replica_of(self.address, master),
                  lambda: '%s to report ROLE slave of %s, connected (it reports %s)'
                  % (self.address, master, self.watch.role(self.address) or 'nothing'))


def run_action(watch, action, shard, address, timeout, check_mode, restart_unit):
    """The module's work: (changed, report). RestartError carries the report so far in ``report``."""
    job = InstanceRestart(watch, shard, address, timeout)
    started = time.monotonic()
    job.report['action'] = action
    try:
        if check_mode:
            job.plan(action)
            return job.report['would_restart'] or job.report['would_fail_over'] is not False, job.report
        if action == 'restart':
            job.restart(restart_unit)
        else:
            job.switchover()
    except RestartError as error:
        error.report = job.report
        raise
    except AuthError as error:
        failure = RestartError(str(error))
        failure.report = job.report
        raise failure
    job.report['total_s'] = elapsed(started)
    return job.report['restarted'] or 'new_master' in job.report, job.report
