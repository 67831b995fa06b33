# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run SENTINEL FAILOVER for one shard and wait until the Sentinels and both Redis instances agree it is over."""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import Endpoint, ShardinelError
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import is_down, parse_state, state_address

POLL_INTERVAL = 0.1
RETRIED_FAILOVER_ERRORS = ('INPROG', 'NOGOODSLAVE')


class DrillFailure(Exception):
    """A check of the drill failed; the message says which."""


class FailoverController:
    """Sentinel endpoints (with the user allowed to fail over) plus Redis access for ROLE checks."""

    def __init__(self, sentinels, redis_credentials, kwargs, timeout):
        self.sentinels = sentinels
        self.redis_credentials = redis_credentials
        self.kwargs = kwargs
        self.timeout = timeout

    def close(self):
        for endpoint in self.sentinels:
            endpoint.close()

    def redis_endpoint(self, address, label):
        host, port = parse_address(address, label)
        return Endpoint(host, port, label, kwargs=self.kwargs, **self.redis_credentials)

    def master_views(self, name):
        """{Sentinel address: the master it names, or the error it gave}."""
        views = {}
        for endpoint in self.sentinels:
            try:
                views[endpoint.address] = endpoint.master_address(name)
            except ShardinelError as error:
                views[endpoint.address] = error
        return views

    def describe_views(self, name):
        return ', '.join('%s says %s' % item for item in self.master_views(name).items())

    def agreed_master(self, name):
        """The master every Sentinel names, or None while they disagree or one cannot answer."""
        views = list(self.master_views(name).values())
        if any(not isinstance(view, str) for view in views) or len(set(views)) != 1:
            return None
        return views[0]

    def role_of(self, address, label):
        """ROLE of the instance as a dict, or {} when it cannot answer."""
        endpoint = self.redis_endpoint(address, label)
        try:
            return endpoint.role()
        except ShardinelError:
            return {}
        finally:
            endpoint.close()

    def wait_for(self, check, what, deadline):
        """Poll check() until it returns something true; on the deadline raise DrillFailure naming what."""
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise DrillFailure('timed out after %gs waiting for %s' % (self.timeout, what() if callable(what) else what))
            time.sleep(POLL_INTERVAL)

    def ckquorum(self, name):
        try:
            return str(self.sentinels[0].sentinel('CKQUORUM', name))
        except ShardinelError as error:
            raise DrillFailure('CKQUORUM failed: %s' % error)

    def request_failover(self, name):
        """SENTINEL FAILOVER, retried while a failover is in progress or no replica is eligible yet."""
        self.wait_for(lambda: self._try_failover(name), 'Sentinel %s to accept SENTINEL FAILOVER %s'
                      % (self.sentinels[0].address, name), self._deadline())

    def _try_failover(self, name):
        try:
            self.sentinels[0].sentinel('FAILOVER', name)
        except ShardinelError as error:
            if any(code in str(error) for code in RETRIED_FAILOVER_ERRORS):
                return False
            if 'may not run' in str(error):
                raise DrillFailure('%s; SENTINEL FAILOVER needs the Sentinel admin user (sentinel_admin_username)' % error)
            raise DrillFailure('SENTINEL FAILOVER failed: %s' % error)
        return True

    def await_failover(self, name, old_master, started):
        """A planned failover: the new master (asking again if Sentinel aborted), then the old master's demotion.

        Returns (new master, ms from ``started`` until the Sentinels agreed, the old master's role as text).
        """
        new_master, failover_ms = self.await_new_master(name, old_master, started, ask_again=True)
        return new_master, failover_ms, self.await_demotion(name, old_master, new_master)

    def await_new_master(self, name, old_master, started, ask_again=False, gone_wrong=None):
        """Wait until every Sentinel names the same master other than ``old_master``.

        With ``ask_again``, a SENTINEL FAILOVER that Sentinel aborted is requested again. ``gone_wrong``, called at
        each poll, returns why waiting is pointless (raised as DrillFailure), or None.
        Returns (new master, ms from ``started`` until the Sentinels agreed).
        """
        def agreed_new_master():
            master = self.agreed_master(name)
            if master in (None, old_master):
                if ask_again:
                    self._request_again_if_aborted(name, old_master)
                problem = gone_wrong() if gone_wrong else None
                if problem:
                    raise DrillFailure(problem)
                return None
            return master
        new_master = self.wait_for(agreed_new_master, lambda: 'every Sentinel to name a new master of %s (%s)'
                                   % (name, self.describe_states(name)), self._deadline())
        return new_master, int(round((time.monotonic() - started) * 1000))

    def await_demotion(self, name, old_master, new_master, how=''):
        """Wait until the new master reports ROLE master, the old master reports that it is a connected replica of
        it (after a planned failover it keeps acting as a master for a while), and every Sentinel has seen it as a
        replica (a Sentinel that has not would turn it back into a replica if it were promoted again).

        ``how`` says in a timeout message what should bring the old master back. Returns the old master's role as text.
        """
        self.wait_for(lambda: self.role_of(new_master, 'new master').get('role') == 'master',
                      'new master %s to report ROLE master' % new_master, self._deadline())

        def demoted():
            role = self.role_of(old_master, 'old master')
            return role if (role.get('role'), role.get('master'), role.get('link')) == ('replica', new_master, 'connected') else None
        role = self.wait_for(demoted, 'old master %s to report ROLE replica of %s, connected%s' % (old_master, new_master, how),
                             self._deadline())
        self.wait_for(lambda: self.seen_as_replica(name, old_master),
                      'every Sentinel to list %s as a connected replica of %s' % (old_master, name), self._deadline())
        return 'replica of %s (%s)' % (role['master'], role['link'])

    def describe_states(self, name):
        """What each Sentinel says of the shard's master, with its flags (s_down, o_down, failover_in_progress)."""
        views = []
        for endpoint in self.sentinels:
            try:
                state = parse_state(endpoint.sentinel('MASTER', name))
            except ShardinelError as error:
                views.append('%s says %s' % (endpoint.address, error))
                continue
            views.append('%s says %s (%s)' % (endpoint.address, state_address(state), ','.join(state['flags'])))
        return ', '.join(views)

    def _deadline(self):
        return time.monotonic() + self.timeout

    def _request_again_if_aborted(self, name, old_master):
        """Sentinel aborts a failover whose replica does not report its promotion within failover-timeout;
        ask again once the Sentinel that ran it still names the old master and has no failover in progress."""
        try:
            state = parse_state(self.sentinels[0].sentinel('MASTER', name))
        except ShardinelError:
            return
        if state_address(state) == old_master and 'failover_in_progress' not in state['flags']:
            self._try_failover(name)

    def seen_as_replica(self, name, address):
        """Every Sentinel lists address as a replica of the shard that reported ROLE slave and has its link up."""
        for endpoint in self.sentinels:
            try:
                replicas = endpoint.states('REPLICAS', name)
            except ShardinelError:
                return False
            entry = next((r for r in replicas if state_address(r) == address), None)
            if entry is None or is_down(entry) or entry.get('role-reported') != 'slave' or entry.get('master-link-status') != 'ok':
                return False
        return True

    def restore(self, name, start_master):
        """Fail the shard over until start_master is its master again; returns the ms it took.

        Sentinel picks the replica to promote, so with several replicas this may take one round per replica.
        """
        started = time.monotonic()
        current = self.agreed_master(name)
        if current is None:
            raise DrillFailure('the Sentinels do not agree on the master of %s (%s)' % (name, self.describe_views(name)))
        rounds = 0
        while current != start_master:
            rounds += 1
            if rounds > 1 + len(self.sentinels[0].states('REPLICAS', name)):
                raise DrillFailure('Sentinel kept promoting other replicas than %s' % start_master)
            self.request_failover(name)
            current = self.await_failover(name, current, time.monotonic())[0]
        return int(round((time.monotonic() - started) * 1000))
