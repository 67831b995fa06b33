# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading one shard's snapshot into its running master without a restart, and switching to it in one step.

1. A throwaway server of the host's engine (scratch_server, on a private unix socket) loads the snapshot's RDB file:
   the engine itself reads the file, whatever its encodings.
2. Each application database of the snapshot is copied into a *staging* database of the master: a database that is
   empty on the master and in the snapshot (never 15, which holds the published layout). Keys go over with DUMP on the
   scratch server and ``RESTORE key <absolute expiry> payload REPLACE ABSTTL`` on the master, in batches, so values,
   types and expiry times are the engine's own. Meanwhile the applications keep reading and writing their databases
   as before; every so often the copy waits (``WAIT``) for the replicas to take what it sent, so that they never fall
   behind by more than about WAIT_EVERY bytes.
3. One transaction (``MULTI``/``EXEC``) swaps each application database with its staging copy (``SWAPDB``) and empties
   the application databases the snapshot does not have (``FLUSHDB ASYNC``). It runs under ``WATCH`` of the published
   layout: if a reshard published a new one meanwhile, nothing is swapped. This transaction is the only moment the
   shard takes no command: clients see the old data until it runs and the snapshot right after it. The replicas run
   the same transaction from the replication stream.
4. The staging databases, which now hold the replaced data, are emptied in the background (``FLUSHDB ASYNC``), and the
   copy waits for the replicas to acknowledge everything.

Nothing else is sent to the master: no restart, no ``CONFIG``, no ``ACL``, nothing in database 15, so Sentinel sees
a master that answers throughout and the ACL users and the published layout stay as they were. When anything fails
before the swap, the staging databases are emptied again and the shard's data is as it was.
"""

from __future__ import annotations

import time

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.scratch_server import ScratchServer, ScratchServerError
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import parse_info
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.layout import LAYOUT_DB, LAYOUT_KEY

BATCH = 500
WAIT_EVERY = 32 * 1024 * 1024
LOAD_RATE = 20 * 1024 * 1024


class SwapError(Exception):
    """The copy or the swap failed; ``touched`` says whether the shard's own databases changed."""

    def __init__(self, message, touched=False):
        super().__init__(message)
        self.touched = touched


def keyspace(info_text):
    """{database number: keys} of an INFO keyspace reply."""
    counts = {}
    for key, value in parse_info(info_text).items():
        if key.startswith('db') and key[2:].isdigit():
            fields = dict(part.split('=', 1) for part in value.split(',') if '=' in part)
            counts[int(key[2:])] = int(fields.get('keys', 0))
    return counts


def staging_databases(live, snapshot, databases):
    """({application database of the snapshot: the staging database it is copied into} or None when there are too few,
    the number of databases empty both on the master (``live``) and in the snapshot). Staging databases are taken from
    the highest number down, never the layout's."""
    free = [db for db in range(databases - 1, -1, -1) if db != LAYOUT_DB and db not in live and db not in snapshot]
    wanted = sorted(db for db in snapshot if db != LAYOUT_DB)
    return (dict(zip(wanted, free)) if len(free) >= len(wanted) else None), len(free)


def text(reply):
    """A bulk string of a binary connection as text (None stays None)."""
    return reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply


def version_tuple(version):
    parts = []
    for part in str(version or '').split('.'):
        digits = ''.join(character for character in part if character.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check(replies, what):
    for reply in replies:
        if isinstance(reply, ReplyError):
            raise SwapError('%s: %s' % (what, reply))
    return replies


class ShardSwap:
    """``ShardSwap(master_address, login, tls, timeout, ...).run(rdb_dir, rdb_file, server_binary)`` for one shard."""

    def __init__(self, address, username, password, tls, timeout, layout_raw, replicas, databases):
        self.login = (address, username, password, tls)
        # Binary: DUMP payloads pass through as bytes, never decoded.
        self.master = Connection(address, username, password, tls, timeout, binary=True)
        self.label = self.master.label
        self.swapped = False
        self.timeout = timeout
        self.layout_raw = layout_raw
        self.replicas = replicas
        self.databases = databases
        self.staging = {}

    def run(self, rdb_dir, rdb_file, size, server_binary, engine_version):
        """Load, copy, swap; the report {keys_restored, databases, staging_databases, load_s, copy_s, write_pause_s,
        replica_sync_s, replicas_acknowledged}."""
        report = {}
        started = time.monotonic()
        config = ['dir %s' % rdb_dir, 'dbfilename %s' % rdb_file, 'databases %d' % self.databases, 'maxmemory 0']
        try:
            with ScratchServer(server_binary, option='server_binary', config=config,
                               start_timeout=self.timeout + size / LOAD_RATE) as scratch:
                report['load_s'] = round(time.monotonic() - started, 3)
                scratch_info = parse_info(scratch.connection.call('INFO', 'server'))
                if version_tuple(scratch_info.get('valkey_version') or scratch_info.get('redis_version')) > version_tuple(engine_version):
                    raise SwapError('server_binary %s is a newer engine (%s) than the master %s (%s): the master could not '
                                    'read its DUMP payloads' % (server_binary, scratch_info.get('valkey_version')
                                                                or scratch_info.get('redis_version'), self.label, engine_version))
                snapshot = dict((db, keys) for db, keys in keyspace(scratch.connection.call('INFO', 'keyspace')).items()
                                if db != LAYOUT_DB)
                with Connection(scratch.connection.address, timeout=self.timeout, binary=True) as payloads:
                    self._copy_all(payloads, snapshot, report)
        except ScratchServerError as error:
            self._clean_staging()
            raise SwapError('the snapshot could not be loaded: %s' % error)
        except (SwapError, WireError, ReplyError) as error:
            self._clean_staging()
            raise SwapError(str(error), touched=self.swapped or getattr(error, 'touched', False))
        finally:
            self.master.close()
        return report

    def _copy_all(self, scratch, snapshot, report):
        live = dict((db, keys) for db, keys in keyspace(text(self.master.call('INFO', 'keyspace'))).items() if keys)
        staging, free = staging_databases(live, snapshot, self.databases)
        if staging is None:
            raise SwapError('it needs %d staging database(s) empty on the master and in the snapshot, and only %d of its '
                            '%d databases are; raise redis_server_databases' % (len(snapshot), free, self.databases))
        self.staging = staging
        copied = time.monotonic()
        for db in sorted(staging):
            self._copy_database(scratch, db, staging[db])
        counts = check(self.master.pipeline([command for db in sorted(staging) for command in (['SELECT', staging[db]], ['DBSIZE'])]),
                       'counting the staged keys')[1::2]
        report['copy_s'] = round(time.monotonic() - copied, 3)
        report['databases'] = dict((str(db), count) for db, count in zip(sorted(staging), counts))
        report['keys_restored'] = sum(counts)
        report['staging_databases'] = dict((str(db), target) for db, target in staging.items())
        report['write_pause_s'] = self._swap(live)
        synced = time.monotonic()
        report['replicas_acknowledged'] = self._wait_replicas()
        report['replica_sync_s'] = round(time.monotonic() - synced, 3)

    def _copy_database(self, scratch, db, target):
        scratch.call('SELECT', db)
        self.master.call('SELECT', target)
        cursor, sent = '0', 0
        while True:
            cursor, keys = scratch.call('SCAN', cursor, 'COUNT', BATCH)
            if keys:
                replies = check(scratch.pipeline([['DUMP', key] for key in keys] + [['PEXPIRETIME', key] for key in keys]),
                                'reading the snapshot')
                commands = []
                for key, payload, expiry in zip(keys, replies[:len(keys)], replies[len(keys):]):
                    if payload is None or expiry == -2:
                        continue
                    commands.append(['RESTORE', key, expiry if expiry > 0 else 0, payload, 'REPLACE', 'ABSTTL'])
                    sent += len(payload)
                check(self.master.pipeline(commands), 'RESTORE into staging database %d' % target)
                if self.replicas and sent >= WAIT_EVERY:
                    self.master.call('WAIT', self.replicas, int(self.timeout * 1000))
                    sent = 0
            if cursor == b'0':
                return

    def _swap(self, live):
        """The transaction that puts the snapshot in place; the seconds it took (the write pause)."""
        selected, _watched, raw = self.master.pipeline([['SELECT', LAYOUT_DB], ['WATCH', LAYOUT_KEY], ['GET', LAYOUT_KEY]])
        check([selected, raw], 'reading the published layout')
        if text(raw) != self.layout_raw:
            raise SwapError('the published layout changed during the restore (a reshard started?); nothing was swapped')
        commands = [['MULTI']] + [['SWAPDB', db, target] for db, target in sorted(self.staging.items())]
        for db in sorted(live):
            if db not in self.staging and db != LAYOUT_DB:
                commands += [['SELECT', db], ['FLUSHDB', 'ASYNC']]
        commands.append(['EXEC'])
        started = time.monotonic()
        replies = self.master.pipeline(commands)
        pause = time.monotonic() - started
        check(replies, 'the swap transaction')
        if replies[-1] is None:
            raise SwapError('the published layout changed during the restore (a reshard started?); nothing was swapped')
        self.swapped = True
        old = list(self.staging.values())
        self.staging = {}
        try:
            check(self.master.pipeline([command for db in old for command in (['SELECT', db], ['FLUSHDB', 'ASYNC'])]),
                  'emptying the staging databases')
        except (SwapError, WireError) as error:
            raise SwapError('the snapshot is in place, but emptying the staging databases %s (they hold the replaced data) '
                            'failed: %s' % (', '.join(str(db) for db in old), error), touched=True)
        return round(pause, 6)

    def _wait_replicas(self):
        if not self.replicas:
            return 0
        return int(self.master.call('WAIT', self.replicas, int(self.timeout * 1000)))

    def _clean_staging(self):
        """Empty the staging databases again after a failure before the swap (they were empty before)."""
        if not self.staging:
            return
        try:
            with Connection(*self.login, timeout=self.timeout) as connection:
                connection.pipeline([command for db in self.staging.values() for command in (['SELECT', db], ['FLUSHDB', 'ASYNC'])])
        except (WireError, ReplyError):
            pass
