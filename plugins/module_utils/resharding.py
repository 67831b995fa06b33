# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration engine of shardinel.redis.reshard: change the published layout's shard set, moving every key.

Protocol (RESHARD_SPEC): validate; read the newest layout over every monitored master; publish a
migrating layout (version + 1, previous = the current set) on every master of both sets; wait out
its lease, so that every running client routes in migration mode (it pulls a moving key from the
previous owner before it uses it on the new one, so sources get no application writes); move every
key whose owner under the new table is another shard, pass after pass, until a complete pass finds
nothing; publish the stable layout (version + 2). A run that finds the layout migrating to the same
set resumes it; every step is idempotent, so a killed run loses and duplicates nothing.
"""

from __future__ import annotations

import collections
import time
import traceback
import uuid

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    redis_credentials,
    redis_kwargs,
    sentinel_credentials,
)
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import Endpoint, ShardinelError, describe_error
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address

try:
    from redis import exceptions as redis_errors

    from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.layout import (
        LAYOUT_DB,
        LEASE_MARGIN_S,
        Layout,
        LayoutConflictError,
        LayoutFormatError,
        mark_moving,
        newest,
        read_layout,
        write_layout,
    )
    from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.slots import key_slot
except ImportError:
    HAS_SHARDINEL = False
    SHARDINEL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_SHARDINEL = True
    SHARDINEL_IMPORT_ERROR = None

FENCE_KEY = 'shardinel:reshard:fence'
FENCE_TTL_MS = 60000
RETRY_WINDOW_S = 60.0
MAX_PASSES = 5
RESOLVE_WAIT_S = 10.0
RETRY_PAUSE_S = 0.5
POLL_INTERVAL_S = 0.2
MAX_BATCH = 100000
MAX_LEASE_S = 3600.0
TRANSIENT_ERRORS = (' is unreachable: ', 'READONLY', 'IOERR', 'LOADING', 'MASTERDOWN', 'TRYAGAIN')


class Unavailable(ShardinelError):
    """No master found, or no replica acknowledged a step in time: a failover or a resync may be under way, so the step is
    retried after asking the Sentinels again."""


def validate_reshard_params(params):
    """Check the reshard options; raise ValueError naming the option before anything is read or changed."""
    shards = params['shards']
    if not shards or not all(shards):
        raise ValueError('shards: give at least one shard name (empty names are not allowed), got %r' % (shards,))
    repeated = sorted(name for name, count in collections.Counter(shards).items() if count > 1)
    if repeated:
        raise ValueError('shards: %s named more than once' % ', '.join(repr(name) for name in repeated))
    if params['rate'] < 0:
        raise ValueError('rate: must be 0 (unthrottled) or a positive number of keys per second, got %r' % params['rate'])
    if not 1 <= params['batch'] <= MAX_BATCH:
        raise ValueError('batch: must be between 1 and %d keys, got %r' % (MAX_BATCH, params['batch']))
    if not 0 < params['lease'] <= MAX_LEASE_S:
        raise ValueError('lease: must be a positive number of seconds up to %g, got %r' % (MAX_LEASE_S, params['lease']))


def run_reshard(params, addresses, check_mode):
    """Validate, plan and (unless check_mode) run the reshard.

    Returns (result, failure): failure is None, or why a run that had already changed something stopped (the result then
    says what it did). A failure before any change raises ValueError or ShardinelError.
    """
    validate_reshard_params(params)
    engine = Resharder(params, addresses)
    started = time.monotonic()
    try:
        engine.run(check_mode)
        failure = None
    except ShardinelError as error:
        if not engine.published:
            raise
        failure = str(error)
    finally:
        engine.close()
    engine.result['duration_s'] = round(time.monotonic() - started, 3)
    return engine.result, failure


def transient(error):
    """A failure worth asking the Sentinels again and retrying: the instance is gone, demoted, loading or behind."""
    return isinstance(error, Unavailable) or any(marker in str(error) for marker in TRANSIENT_ERRORS)


def names(shards):
    return ', '.join(sorted(shards)) or 'none'


class Resharder:
    """One run of the reshard against the topology the Sentinels in ``addresses`` monitor."""

    def __init__(self, params, addresses):
        self.params = params
        self.target = sorted(params['shards'])
        self.kwargs = redis_kwargs(params)
        self.credentials = redis_credentials(params)
        self.sentinels = [Endpoint(host, port, 'Sentinel %s' % format_address((host, port)), kwargs=self.kwargs,
                                   **sentinel_credentials(params)) for host, port in addresses]
        self.masters = {}
        self.endpoints = {}
        self.wait_ms = int(max(100, min(2000, params['socket_timeout'] * 500)))
        self.migrate_timeout_ms = int(params['socket_timeout'] * 1000)
        self.fence_value = uuid.uuid4().hex
        step = min(params['batch'], params['rate']) if params['rate'] else params['batch']
        self.step = max(1, int(step))
        self.moved = collections.Counter()
        self.handled = 0
        self.move_started = None
        self.published = False
        self.result = dict(changed=False, version=0, plan=[], keys_moved=0, slots_moved=0, duration_s=0.0,
                           migration_s=0.0, pairs=[], resumed=False, retries=0, undeployed=[])

    def close(self):
        for endpoint in list(self.endpoints.values()) + self.sentinels:
            endpoint.close()
        self.endpoints.clear()

    # Sentinels and masters -------------------------------------------------------------------
    def monitored(self):
        """Names of every shard a reachable Sentinel monitors; an unreachable Sentinel is skipped, not fatal."""
        found, unreachable = set(), []
        for sentinel in self.sentinels:
            try:
                found.update(state['name'] for state in sentinel.states('MASTERS'))
            except ShardinelError as error:
                if ' is unreachable: ' not in str(error):
                    raise
                unreachable.append(str(error))
        if len(unreachable) == len(self.sentinels):
            raise ShardinelError('no Sentinel is reachable: ' + '; '.join(unreachable))
        return found

    def resolve(self, shard, wait_s):
        """The address of the shard's master: the one most Sentinels name, once it answers ROLE as a master."""
        deadline = time.monotonic() + wait_s
        while True:
            named = collections.Counter()
            for sentinel in self.sentinels:
                try:
                    address = sentinel.master_address(shard)
                except ShardinelError:
                    continue
                if address:
                    named[address] += 1
            role = None
            if named:
                address = named.most_common(1)[0][0]
                role = self._role(shard, address)
                if role == 'master':
                    self.masters[shard] = address
                    return address
            if time.monotonic() >= deadline:
                raise Unavailable('shard %s: no master found: the Sentinels name %s%s' % (
                    shard, ', '.join('%s (%d)' % item for item in named.items()) or 'none',
                    ', which answers ROLE %s' % role if role else ''))
            time.sleep(POLL_INTERVAL_S)

    def _role(self, shard, address):
        host, port = parse_address(address, 'master of %s' % shard)
        endpoint = Endpoint(host, port, self._label(shard, address), kwargs=self.kwargs, **self.credentials)
        try:
            return endpoint.role()['role']
        except ShardinelError as error:
            if not transient(error):
                raise
            return None
        finally:
            endpoint.close()

    @staticmethod
    def _label(shard, address):
        return 'Redis master %s of shard %s' % (address, shard)

    def endpoint(self, shard, db=0, raw=False):
        """A connection to the shard's master on database ``db``; ``raw`` ones return bytes (keys may be binary)."""
        if shard not in self.masters:
            self.resolve(shard, RESOLVE_WAIT_S)
        address = self.masters[shard]
        handle = (address, db, raw)
        if handle not in self.endpoints:
            host, port = parse_address(address, 'master of %s' % shard)
            kwargs = dict(self.kwargs, db=db, decode_responses=not raw)
            self.endpoints[handle] = Endpoint(host, port, self._label(shard, address), kwargs=kwargs, **self.credentials)
        return self.endpoints[handle]

    def forget(self, shard):
        """Drop the shard's master and its connections, so that the next use asks the Sentinels again."""
        address = self.masters.pop(shard, None)
        for handle in [h for h in self.endpoints if h[0] == address]:
            self.endpoints.pop(handle).close()

    def retrying(self, shards, what, action):
        """Run action(); on a transient failure ask the Sentinels for the shards' masters again and retry, for up to
        RETRY_WINDOW_S (a failover, then the old master's resync as a replica, takes a while)."""
        deadline = None
        while True:
            try:
                return action()
            except ShardinelError as error:
                deadline = deadline or time.monotonic() + RETRY_WINDOW_S
                self.give_up_unless_transient(error, deadline, what)
            for shard in shards:
                self.forget(shard)
            time.sleep(RETRY_PAUSE_S)

    def give_up_unless_transient(self, error, deadline, what):
        if not transient(error):
            raise ShardinelError('%s: %s' % (what, error))
        if time.monotonic() >= deadline:
            raise ShardinelError('%s: %s (still failing after %d s of retries); run the module again to resume'
                                 % (what, error, RETRY_WINDOW_S))
        self.result['retries'] += 1

    @staticmethod
    def call(endpoint, *args):
        """endpoint.call, with the errors of redis-py helpers used outside it worded the same way."""
        try:
            return endpoint.call(*args)
        except redis_errors.RedisError as error:
            raise redis_failure(endpoint, error)

    # preflight -------------------------------------------------------------------------------
    def check_replicas(self, shards):
        """Refuse a shard whose master has no connected, in-sync replica: every step WAITs for one."""
        for shard in sorted(shards):
            info = self.call(self.endpoint(shard), 'INFO', 'replication')
            online = [v for k, v in info.items() if k.startswith('slave') and isinstance(v, dict) and v.get('state') == 'online']
            if not online:
                raise ShardinelError('shards: shard %s has no connected replica (master %s reports %s connected); every step '
                                     'of a reshard waits for a replica to acknowledge it'
                                     % (shard, self.masters[shard], info.get('connected_slaves', 0)))

    def read_layouts(self, shards):
        """{shard: the layout its master holds, or None}."""
        layouts = {}
        for shard in sorted(shards):
            endpoint = self.endpoint(shard, LAYOUT_DB)
            try:
                layouts[shard] = read_layout(endpoint.client)
            except LayoutFormatError as error:
                raise ShardinelError('%s: %s' % (endpoint.label, error))
            except redis_errors.RedisError as error:
                raise redis_failure(endpoint, error, 'reading the layout')
        return layouts

    def publish(self, layout, shards):
        """Write the layout on every master of ``shards`` and WAIT for a replica of each."""
        for shard in sorted(shards):
            self.retrying([shard], 'publishing layout version %d on shard %s' % (layout.version, shard),
                          lambda shard=shard: self._write_layout(shard, layout))

    def _write_layout(self, shard, layout):
        endpoint = self.endpoint(shard, LAYOUT_DB)
        try:
            acknowledged = write_layout(endpoint.client, layout, 1, self.wait_ms / 1000.0)
        except LayoutConflictError as error:
            raise ShardinelError('%s: %s; another reshard is running' % (endpoint.label, error))
        except redis_errors.RedisError as error:
            raise redis_failure(endpoint, error, 'writing the layout')
        self.published = True
        if acknowledged < 1:
            raise Unavailable('%s: no replica acknowledged layout version %d within %d ms'
                              % (endpoint.label, layout.version, self.wait_ms))

    def _mark_moving(self, shard, version):
        """From here on clients pull this shard's moving keys instead of using them on it (see shardinel.key_pull)."""
        endpoint = self.endpoint(shard, LAYOUT_DB)
        try:
            acknowledged = mark_moving(endpoint.client, version, 1, self.wait_ms / 1000.0)
        except redis_errors.RedisError as error:
            raise redis_failure(endpoint, error, 'marking it as moving keys')
        if acknowledged < 1:
            raise Unavailable('%s: no replica acknowledged the moving mark of layout version %d within %d ms'
                              % (endpoint.label, version, self.wait_ms))

    # the run ---------------------------------------------------------------------------------
    def run(self, check_mode):
        result = self.result
        monitored = self.monitored()
        unknown = [name for name in self.target if name not in monitored]
        # A plan (check mode) may name shards that are not deployed yet: playbooks/scale.yml --check plans a grow before
        # the new shards run. They hold no key, so the plan only reads the shards that run.
        if unknown and (not check_mode or self.params['adopt']):
            raise ShardinelError('shards: %s not monitored by any reachable Sentinel (they monitor %s)'
                                 % (', '.join(repr(n) for n in unknown), names(monitored)))
        result['undeployed'] = unknown
        layouts = self.read_layouts(monitored)
        published = newest(layouts.values())
        result['version'] = published.version if published is not None else 0
        if self.params['adopt']:
            if published is None:
                self.check_replicas(monitored)
                result['changed'] = True
                if not check_mode:
                    self.publish(Layout(1, self.target, lease_s=self.params['lease']), monitored)
                    result['version'] = 1
            return
        if published is not None and published.migrating:
            if set(published.shards) != set(self.target):
                raise ShardinelError(
                    'shards: an unfinished reshard (layout version %d) is moving keys from [%s] to [%s]; run it again with '
                    'shards [%s] to finish it before resharding to [%s]' % (
                        published.version, names(published.previous), names(published.shards), names(published.shards),
                        names(self.target)))
            moving, result['resumed'] = published, True
        else:
            current = published.shards if published is not None else sorted(monitored)
            if set(current) == set(self.target):
                self.repair(published, layouts, check_mode)
                return
            version = published.version if published is not None else 0
            moving = Layout(version + 1, self.target, previous=current, lease_s=self.params['lease'])
        gone = [name for name in moving.all_shards if name not in monitored and name not in unknown]
        if gone:
            raise ShardinelError('shards: the layout being left names %s, which no reachable Sentinel monitors; its keys '
                                 'cannot be moved' % ', '.join(repr(n) for n in gone))
        self.check_replicas([name for name in moving.all_shards if name not in unknown])
        slot_pairs = {pair: len(slots) for pair, slots in moving.moving_slots().items()}
        result['plan'] = self.plan(moving, slot_pairs, unknown)
        result['slots_moved'] = sum(slot_pairs.values())
        result['changed'] = True
        if check_mode:
            return
        self.publish(moving, moving.all_shards)
        result['version'] = moving.version
        time.sleep(max(moving.lease_s, published.lease_s if published is not None else 0) + LEASE_MARGIN_S)
        for shard in sorted(moving.all_shards):
            self.retrying([shard], 'marking shard %s as moving keys for layout version %d' % (shard, moving.version),
                          lambda shard=shard: self._mark_moving(shard, moving.version))
        self.move_started = time.monotonic()
        try:
            self.migrate(moving)
        finally:
            result['migration_s'] = round(time.monotonic() - self.move_started, 3)
            result['keys_moved'] = sum(self.moved.values())
            result['pairs'] = [dict(pair_entry(pair, slot_pairs), keys_moved=self.moved[pair])
                               for pair in sorted(set(slot_pairs) | set(self.moved))]
        final = Layout(moving.version + 1, self.target, lease_s=self.params['lease'])
        self.publish(final, moving.all_shards)
        result['version'] = final.version

    def repair(self, published, layouts, check_mode):
        """The layout already names the target set: write it again where a master of the set lacks it (a run killed
        while it published); otherwise nothing changes."""
        stale = [shard for shard in self.target if published is not None and layouts.get(shard) != published]
        if stale:
            self.check_replicas(stale)
            self.result['changed'] = True
            if not check_mode:
                self.publish(published, stale)

    # plan ------------------------------------------------------------------------------------
    def plan(self, layout, slot_pairs, undeployed=()):
        """Per (from, to): the slots that change owner and the keys that have to move (every key found on a shard
        that does not own it under the new table, whatever the layout it was written under). Shards not deployed yet
        hold no key."""
        keys = collections.Counter()
        for shard in [name for name in layout.all_shards if name not in undeployed]:
            for db in self.app_dbs(shard):
                for page in self.scan(shard, db, retry=False):
                    for key in page:
                        owner = layout.owners[key_slot(key)]
                        if owner != shard:
                            keys[(shard, owner)] += 1
        return [dict(pair_entry(pair, slot_pairs), keys=keys[pair]) for pair in sorted(set(slot_pairs) | set(keys))]

    def app_dbs(self, shard):
        """The databases that hold keys on the shard's master (INFO keyspace), except the layout's."""
        keyspace = self.retrying([shard], 'reading INFO keyspace of shard %s' % shard,
                                 lambda: self.call(self.endpoint(shard), 'INFO', 'keyspace'))
        return sorted(int(name[2:]) for name in keyspace if name.startswith('db') and int(name[2:]) != LAYOUT_DB)

    def scan(self, shard, db, retry):
        """Pages of keys of one database of the shard's master. With ``retry``, a failure asks the Sentinels again and
        the scan starts over (the keys already moved are gone from it)."""
        cursor, deadline = 0, None
        while True:
            try:
                cursor, keys = self.call(self.endpoint(shard, db, raw=True), 'SCAN', cursor, 'COUNT', self.params['batch'])
            except ShardinelError as error:
                what = 'scanning database %d of shard %s' % (db, shard)
                if not retry:
                    raise ShardinelError('%s: %s' % (what, error))
                deadline = deadline or time.monotonic() + RETRY_WINDOW_S
                self.give_up_unless_transient(error, deadline, what)
                self.forget(shard)
                time.sleep(RETRY_PAUSE_S)
                cursor = 0
                continue
            cursor = int(cursor)
            if keys:
                yield keys
            if cursor == 0:
                return

    # migration -------------------------------------------------------------------------------
    def migrate(self, layout):
        """Passes over every shard of both sets until one finds no key to move. The shards that only gain keys come first
        in a pass, while they hold fewest (scanning is most of the engine's own work)."""
        gaining = [shard for shard in layout.shards if shard not in layout.previous]
        order = gaining + [shard for shard in layout.all_shards if shard not in gaining]
        for _pass in range(MAX_PASSES):
            found = 0
            for shard in order:
                for db in self.app_dbs(shard):
                    found += self.migrate_database(layout, shard, db)
            if not found:
                return
        raise ShardinelError('keys were still found on shards that do not own them after %d passes; is a client writing '
                             'with another layout? Run the module again to resume' % MAX_PASSES)

    def migrate_database(self, layout, shard, db):
        """Move the keys of one database of ``shard`` that other shards own; returns how many were found."""
        found = 0
        pending = collections.defaultdict(list)
        for page in self.scan(shard, db, retry=True):
            for key in page:
                owner = layout.owners[key_slot(key)]
                if owner != shard:
                    pending[owner].append(key)
                    found += 1
                    if len(pending[owner]) >= self.step:
                        self.move_batch(shard, owner, db, pending.pop(owner))
        for owner, keys in sorted(pending.items()):
            self.move_batch(shard, owner, db, keys)
        return found

    def move_batch(self, source, target, db, keys):
        what = 'moving %d keys of database %d from shard %s to shard %s' % (len(keys), db, source, target)
        moved = self.retrying([source, target], what, lambda: self._move(source, target, db, keys))
        self.moved[(source, target)] += moved
        self.throttle(len(keys))

    def _move(self, source, target, db, keys):
        """One batch, idempotent, so that a retry or a re-run after a kill is safe.

        MIGRATE ... COPY KEYS, then a fence write and WAIT on the target, then DEL at the source of the keys the target
        holds, then WAIT on the source; rather than a plain MIGRATE or DUMP/RESTORE ABSTTL:
        - MIGRATE is atomic per key on the source (which runs nothing else meanwhile, so no client pull interleaves) and
          copies server to server with the TTL kept, without passing the values through this process;
        - COPY keeps the source's copy until the target's replica has the restored one: without COPY a failover of the
          target before it replicated would lose the keys. The restores are written by the source's connection, which
          WAIT on ours does not cover; a write of ours after them (the fence) does, the replication stream being ordered;
        - no REPLACE: BUSYKEY means an application already wrote the key at its new owner (clients write moving keys
          there), so the migrator's older copy is dropped, never written over it. The other keys of the batch are
          restored all the same, and the EXISTS check below decides which source copies go;
        - the DEL is WAITed for too, so that a failover of the source cannot bring a moved key back.
        """
        source_db = self.endpoint(source, db, raw=True)
        host, port = self.endpoint(target).host, self.endpoint(target).port
        username, password = self.credentials['username'], self.credentials['password']
        auth = ('AUTH2', username, password) if username else ('AUTH', password) if password else ()
        try:
            self.call(source_db, 'MIGRATE', host, port, '', db, self.migrate_timeout_ms, 'COPY', *(auth + ('KEYS',) + tuple(keys)))
        except ShardinelError as error:
            if 'BUSYKEY' not in str(error):
                raise
        present = self.held(self.endpoint(target, db, raw=True), keys)
        fence = self.endpoint(target, LAYOUT_DB)
        self.call(fence, 'SET', FENCE_KEY, self.fence_value, 'PX', FENCE_TTL_MS)
        self.wait_for_replica(fence, 'the keys restored from shard %s' % source)
        if not present:
            return 0
        removed = self.call(source_db, 'UNLINK', *present)
        self.wait_for_replica(source_db, 'the deletion of %d moved keys' % len(present))
        return int(removed)

    def held(self, endpoint, keys):
        """The keys that exist on the endpoint: one EXISTS for all, then one per key if some are missing."""
        if int(self.call(endpoint, 'EXISTS', *keys)) == len(keys):
            return keys
        pipeline = endpoint.client.pipeline(transaction=False)
        for key in keys:
            pipeline.exists(key)
        try:
            return [key for key, exists in zip(keys, pipeline.execute()) if exists]
        except redis_errors.RedisError as error:
            raise redis_failure(endpoint, error)

    def wait_for_replica(self, endpoint, what):
        if int(self.call(endpoint, 'WAIT', 1, self.wait_ms)) < 1:
            raise Unavailable('%s: no replica acknowledged %s within %d ms' % (endpoint.label, what, self.wait_ms))

    def throttle(self, count):
        self.handled += count
        if self.params['rate']:
            ahead = self.handled / float(self.params['rate']) - (time.monotonic() - self.move_started)
            if ahead > 0:
                time.sleep(ahead)


def redis_failure(endpoint, error, doing=None):
    """A ShardinelError for a redis-py error, worded like Endpoint.call's (so transient() recognises it)."""
    text = describe_error(error)
    if isinstance(error, (redis_errors.ConnectionError, redis_errors.TimeoutError)):
        return ShardinelError('%s is unreachable: %s' % (endpoint.label, text))
    return ShardinelError('%s: %s%s' % (endpoint.label, '%s: ' % doing if doing else '', text))


def pair_entry(pair, slot_pairs):
    return {'from': pair[0], 'to': pair[1], 'slots': slot_pairs.get(pair, 0)}
