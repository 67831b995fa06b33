# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a shard may be drilled now: replicas caught up, no Sentinel in TILT, no failover running or delayed.

Replication lag is counted in bytes, master_repl_offset minus the offset a replica acknowledged:
that is what a failover would lose. A replica acknowledges once per second, so an in-sync replica
of a busy master shows up to one second of writes; a sample beyond the bound is taken again
twice, a second apart, before the drill is refused.

Sentinel does not start an automatic failover of a master within 2 x failover-timeout of the
failover it last started or voted for (its failover_start_time, which Redis 7.0 does not expose).
The last failover of a shard is read from each Sentinel's master entry, which Sentinel recreates
when it switches the master (role-reported-time then counts from the switch); an entry as old as
the Sentinel process was loaded at its start, not switched, and a config-epoch of 0 means the
shard never failed over.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import ShardinelError
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import parse_state
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_failover import POLL_INTERVAL, DrillFailure
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_tilt import describe_tilt, read_tilt

LAG_SAMPLES = 3
LAG_SAMPLE_INTERVAL = 1.0
SENTINEL_MAX_DESYNC = 1.0
SENTINEL_START_MARGIN_MS = 2000


def wall_clock(moment):
    """A time.monotonic() moment as HH:MM:SS UTC."""
    return time.strftime('%H:%M:%S UTC', time.gmtime(time.time() + moment - time.monotonic()))


def replica_problems(info, max_lag_bytes):
    """Problems of a master's replicas from its INFO replication: none connected, resyncing, or too far behind."""
    replicas = [value for key, value in sorted(info.items()) if key.startswith('slave') and isinstance(value, dict)]
    if not replicas:
        return ['no connected replica']
    offset = int(info.get('master_repl_offset', 0))
    problems = []
    for replica in replicas:
        address = '%s:%s' % (replica.get('ip'), replica.get('port'))
        behind = max(0, offset - int(replica.get('offset', 0)))
        if replica.get('state') != 'online':
            problems.append('replica %s is connected but resyncing (state %s)' % (address, replica.get('state')))
        elif behind > max_lag_bytes:
            problems.append('replica %s is connected but %d bytes behind the master (max_replica_lag_bytes %d)'
                            % (address, behind, max_lag_bytes))
    return problems


class DrillReadiness:
    """The checks before a shard's fault. ``sentinels`` are Endpoints with a user that may run INFO."""

    def __init__(self, control, sentinels, max_lag_bytes, timeout):
        self.control = control
        self.sentinels = sentinels
        self.max_lag_bytes = max_lag_bytes
        self.timeout = timeout

    def check_replicas(self, name, master):
        """Raise DrillFailure naming the shard unless every replica of ``master`` is connected and caught up."""
        problems = []
        for sample in range(LAG_SAMPLES):
            endpoint = self.control.redis_endpoint(master, 'Redis master %s of shard %s' % (master, name))
            try:
                problems = replica_problems(endpoint.call('INFO', 'replication'), self.max_lag_bytes)
            finally:
                endpoint.close()
            if not problems or any('bytes behind' not in problem for problem in problems) or sample == LAG_SAMPLES - 1:
                break
            time.sleep(LAG_SAMPLE_INTERVAL)
        if problems:
            raise DrillFailure('shard %s is not ready for a drill: master %s: %s; a failover now would lose writes'
                               % (name, master, '; '.join(problems)))

    def tilted(self):
        """[(key, until, text)] for the Sentinels in TILT mode."""
        found = []
        for endpoint in self.sentinels:
            try:
                state = read_tilt(endpoint)
            except ShardinelError as error:
                if 'may not run' in str(error):
                    raise DrillFailure('%s; reading TILT mode needs the Sentinel admin user (sentinel_admin_username)' % error)
                raise DrillFailure(str(error))
            if state['tilt']:
                found.append(('tilt ' + endpoint.address, time.monotonic() + state['tilt_remaining_seconds'],
                              describe_tilt(endpoint.address, state)))
        return found

    def failovers_in_progress(self, name):
        """[(key, None, text)] for the Sentinels that run a failover of the shard now."""
        busy = []
        for endpoint in self.sentinels:
            entry = parse_state(endpoint.sentinel('MASTER', name))
            if 'failover_in_progress' in entry['flags']:
                busy.append(('failover ' + endpoint.address, None, 'Sentinel %s runs a failover of %s (%s)'
                             % (endpoint.address, name, entry.get('failover-state', 'in progress'))))
        return busy

    def next_failover(self, name):
        """[(key, moment, text)] when a Sentinel switched the shard less than 2 x failover-timeout ago (module docstring)."""
        latest = None
        for endpoint in self.sentinels:
            entry = parse_state(endpoint.sentinel('MASTER', name))
            if not entry.get('config-epoch') or not isinstance(entry.get('role-reported-time'), int):
                continue
            uptime_ms = int(endpoint.call('INFO', 'server').get('uptime_in_seconds', 0)) * 1000
            if entry['role-reported-time'] > uptime_ms - SENTINEL_START_MARGIN_MS:
                continue
            moment = (time.monotonic() - entry['role-reported-time'] / 1000.0
                      + 2 * entry['failover-timeout'] / 1000.0 + SENTINEL_MAX_DESYNC)
            latest = moment if latest is None else max(latest, moment)
        if latest is None or latest <= time.monotonic():
            return []
        text = ('Sentinel does not start another failover of %s before about %s (2 x failover-timeout after its last failover)'
                % (name, wall_clock(latest)))
        return [('delay', latest, text)]

    def wait(self, name, automatic):
        """Wait, within the timeout, until no Sentinel is in TILT, runs a failover of the shard, or (for an
        automatic failover) delays the next one. Fails at once when one of them lasts beyond the timeout.

        Returns (ms waited, what was waited for).
        """
        started = time.monotonic()
        deadline = started + self.timeout
        waited_for = {}
        while True:
            waits = self.tilted() + self.failovers_in_progress(name) + (self.next_failover(name) if automatic else [])
            if not waits:
                return int(round((time.monotonic() - started) * 1000)), list(waited_for.values())
            late = [text for _key, until, text in waits if until is not None and until > deadline]
            if late:
                raise DrillFailure('%s: beyond the timeout of %gs, nothing was changed' % ('; '.join(late), self.timeout))
            if time.monotonic() > deadline:
                raise DrillFailure('timed out after %gs waiting for: %s' % (self.timeout, '; '.join(text for _k, _u, text in waits)))
            for key, _until, text in waits:
                waited_for.setdefault(key, text)
            time.sleep(POLL_INTERVAL * 5)
