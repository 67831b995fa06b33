# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore run on a data host (module shardinel.redis.restore): check a backup set and the live topology, then put
each chosen shard's snapshot in place on its running master (restore_swap), one shard after the other.

Every check runs, for every chosen shard, before anything is sent that changes a server: the set exists and holds the
shard, complete; each file has the size and SHA-256 its metadata names and the engine's RDB checker accepts it; the
Sentinels name a master for the shard that answers as master; the published layout is not in the middle of a reshard
and names the same shards as the set's (with none published, the shards the Sentinels monitor); the master runs the
set's engine; its maxmemory leaves room for a second copy of the shard's data while it is staged; and it has enough
empty databases to stage the snapshot in.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.shardinel.redis.plugins.module_utils.backup_sets import (
    BackupSetError, DirectoryLock, check_name, open_set, shard_metadata)
from ansible_collections.shardinel.redis.plugins.module_utils.backup_sources import SourceError, engine_of, sentinel_shards
from ansible_collections.shardinel.redis.plugins.module_utils.rdb_snapshot import CheckerError, SnapshotError, check_rdb, file_sha256
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.restore_swap import ShardSwap, SwapError, keyspace, staging_databases
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import (
    parse_info, problem_text, watch_argument_spec, watch_from_params)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.layout import (
    DEFAULT_LEASE_S, LAYOUT_DB, LAYOUT_KEY, Layout, LayoutConflictError, LayoutFormatError, newest, write_layout)
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.sentinel_answers import is_down

CHECKERS = dict(redis='/usr/bin/redis-check-rdb', valkey='/usr/bin/valkey-check-rdb')
SERVERS = dict(redis='/usr/bin/redis-server', valkey='/usr/bin/valkey-server')
MASTER_QUESTIONS = [['SELECT', LAYOUT_DB], ['GET', LAYOUT_KEY], ['INFO', 'replication'], ['INFO', 'server'],
                    ['INFO', 'memory'], ['INFO', 'keyspace'], ['CONFIG', 'GET', 'databases']]


class RestoreError(Exception):
    """A refusal or a failure; the message names the setting or the shard, ``result`` holds what was done."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


def restore_argument_spec():
    spec = watch_argument_spec()
    spec.update(
        directory=dict(type='path', required=True),
        backup_set=dict(type='str', required=True),
        shards=dict(type='list', elements='str'),
        server_binary=dict(type='path'),
        check_rdb=dict(type='path'),
        timeout=dict(type='float', default=60.0),
        skip_missing=dict(type='bool', default=False),
    )
    return spec


def validate(params):
    if params['timeout'] <= 0:
        raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
    if params['backup_set'] != 'latest':
        check_name(params['backup_set'], 'backup_set')
    for shard in params['shards'] or []:
        check_name(shard, 'shards')
    if params['shards'] is not None and not params['shards']:
        raise ValueError('shards: name at least one shard, or leave it out to restore every shard of the set')
    if params['username'] and not params['password']:
        raise ValueError('username is set but password is empty')
    return watch_from_params(params)


def verify_files(directory, manifest, shards, params):
    """{shard: its metadata, with the checker's databases}; RestoreError naming the shard whose file is missing, of
    another size or checksum, or refused by the engine's checker."""
    metadata = {}
    for shard in shards:
        entry = shard_metadata(directory, manifest, shard)
        path = os.path.join(directory, manifest['set'], entry['file'])
        try:
            size = os.path.getsize(path)
        except OSError as error:
            raise RestoreError('%s: backup set %s is incomplete: %s is missing (%s)'
                               % (shard, manifest['set'], path, error.strerror or error))
        if size != entry['size']:
            raise RestoreError('%s: %s is corrupt: %d bytes, the set\'s metadata says %d' % (shard, path, size, entry['size']))
        if file_sha256(path) != entry['sha256']:
            raise RestoreError('%s: %s is corrupt: its SHA-256 differs from the one in the set\'s metadata' % (shard, path))
        checker = params['check_rdb'] or CHECKERS.get(entry['engine'], CHECKERS['redis'])
        try:
            checked = check_rdb(checker, path)
        except CheckerError as error:
            raise RestoreError('%s: %s' % (shard, error))
        except SnapshotError as error:
            raise RestoreError('%s: %s is corrupt: %s' % (shard, path, error))
        metadata[shard] = dict(entry, path=path, checked=checked)
    return metadata


def master_facts(watch, masters, restored):
    """{master address: {layout (raw text or None), info: {...}, keyspace, databases}} of every master that answers;
    RestoreError naming the shard when the master of a ``restored`` shard does not."""
    facts = {}
    for address, replies in watch.ask_instances(sorted(set(masters.values())), MASTER_QUESTIONS).items():
        shard = [name for name, master in masters.items() if master == address and name in restored]
        if isinstance(replies, Exception) or any(isinstance(reply, ReplyError) for reply in replies):
            if shard:
                problem = replies if isinstance(replies, Exception) else [r for r in replies if isinstance(r, ReplyError)][0]
                raise RestoreError('%s: its master %s does not answer: %s' % (', '.join(shard), address, problem_text(problem)))
            continue
        info = {}
        for text in replies[2:6]:
            info.update(parse_info(text))
        databases = replies[6]
        facts[address] = dict(layout=replies[1], info=info, keyspace=keyspace(replies[5]),
                              databases=int(databases[1]) if isinstance(databases, list) and len(databases) == 2 else 16)
    return facts


def live_layout(facts):
    """(the newest published layout among the masters, or None; its raw text)"""
    layouts = {}
    for entry in facts.values():
        if entry['layout'] is not None:
            try:
                layouts[entry['layout']] = Layout.from_json(entry['layout'])
            except LayoutFormatError as error:
                raise RestoreError('the published layout cannot be read: %s' % error)
    best = newest(layouts.values())
    raw = [text for text, layout in layouts.items() if layout is best]
    return best, raw[0] if raw else None


def plan(watch, params, manifest, metadata):
    """Per shard what the restore would do, after every check against the live topology."""
    try:
        masters_states, silent = sentinel_shards(watch)
    except SourceError as error:
        raise RestoreError(str(error))
    masters = dict((shard, address) for shard, (address, _state) in masters_states.items())
    for shard in metadata:
        if shard not in masters:
            raise RestoreError('%s: no Sentinel monitors this shard (they monitor %s)' % (shard, ', '.join(sorted(masters))))
    facts = master_facts(watch, masters, metadata)
    layout, layout_raw = live_layout(facts)
    if layout is not None and layout.migrating:
        raise RestoreError('a reshard is unfinished: the published layout (version %d) moves keys from %s to %s; finish it '
                           '(playbooks/scale.yml) before restoring' % (layout.version, ', '.join(layout.previous), ', '.join(layout.shards)))
    live_shards = list(layout.shards) if layout is not None else sorted(masters)
    planned = {}
    for shard, entry in sorted(metadata.items()):
        master = masters[shard]
        fact = facts[master]
        info = fact['info']
        if is_down(masters_states[shard][1]):
            raise RestoreError('%s: the Sentinels see its master %s down (%s)' % (shard, master, ','.join(masters_states[shard][1]['flags'])))
        if info.get('role') != 'master':
            raise RestoreError('%s: %s, the master the Sentinels name, reports role %s' % (shard, master, info.get('role')))
        set_shards = sorted(entry['layout'].get('shards', []))
        if set_shards != sorted(live_shards):
            raise RestoreError('%s: backup set %s was taken with the layout %s (version %s) and the live one is %s (%s): keys '
                               'would be on the wrong shards; restore a set taken with the live layout'
                               % (shard, entry['set'], ', '.join(set_shards), entry['layout'].get('version'),
                                  ', '.join(live_shards), 'version %d' % layout.version if layout else 'none published'))
        engine, version = engine_of(info)
        if engine != entry['engine']:
            raise RestoreError('%s: backup set %s holds %s data and its master %s runs %s %s'
                               % (shard, entry['set'], entry['engine'], master, engine, version))
        maxmemory, used = int(info.get('maxmemory', 0) or 0), int(info.get('used_memory', 0) or 0)
        staged = int(entry.get('memory_bytes') or 0)
        if maxmemory and used + staged > maxmemory:
            raise RestoreError('%s: its master %s has maxmemory %d bytes; it uses %d and staging the snapshot needs about %d '
                               'more (the shard\'s data as it was backed up)' % (shard, master, maxmemory, used, staged))
        snapshot_dbs = [db for db in entry['checked']['databases'] if db != LAYOUT_DB]
        staging, free = staging_databases(fact['keyspace'], snapshot_dbs, fact['databases'])
        if staging is None:
            raise RestoreError('%s: staging the snapshot\'s %d database(s) needs as many databases empty on the master %s and '
                               'in the snapshot; %d of its %d are: raise redis_server_databases'
                               % (shard, len(snapshot_dbs), master, free, fact['databases']))
        planned[shard] = dict(
            master=master, engine=engine, engine_version=version, databases=fact['databases'],
            replicas=int(info.get('connected_slaves', 0) or 0), staging_databases=dict((str(k), v) for k, v in staging.items()),
            set_layout=entry['layout'], keys=entry.get('keys'), size=entry['size'], backed_up=entry.get('finished'),
            source=entry.get('source', {}).get('address'), path=entry['path'], file=entry['file'])
    live = dict(layout_raw=layout_raw, layout=dict(version=layout.version if layout else 0, shards=live_shards),
                silent=sorted(silent), masters=sorted(set(masters.values())))
    return planned, live


def run_restore(params, check_mode=False):
    """The result of a restore run (what the module returns); RestoreError with the result so far otherwise."""
    try:
        watch = validate(params)
    except ValueError as error:
        raise RestoreError(str(error))
    directory = params['directory']
    result = dict(changed=False, directory=directory, shards={}, restored=[], skipped={})
    try:
        with DirectoryLock(directory):
            shards, manifest = chosen_shards(directory, params, result)
            if not shards:
                return result
            metadata = verify_files(directory, manifest, shards, params)
            planned, live = plan(watch, params, manifest, metadata)
            result.update(live_layout=live['layout'], sentinels_not_answering=live['silent'])
            lost = lost_layout(live['layout_raw'], metadata)
            if check_mode:
                result['shards'] = dict((shard, public(entry)) for shard, entry in planned.items())
                result['changed'] = True
                if lost is not None:
                    result['republished_layout'] = json.loads(lost.to_json())
                return result
            for shard in sorted(planned):
                result['shards'][shard] = restore_one(shard, planned[shard], metadata[shard], params, watch.tls,
                                                      live['layout_raw'], manifest['set'], directory)
                result['restored'].append(shard)
                result['changed'] = True
            if lost is not None:
                republish(lost, live['masters'], params, watch.tls)
                result['republished_layout'] = json.loads(lost.to_json())
    except (BackupSetError, WireError, ReplyError) as error:
        raise RestoreError(str(error), result)
    except RestoreError as error:
        error.result = result
        raise
    return result


def lost_layout(layout_raw, metadata):
    """The published layout the set recorded, when none is published now (a FLUSHALL took database 15 with the rest);
    None otherwise. Clients keep the highest layout version they have seen, so the layout to publish again is that one,
    not a new version 1."""
    if layout_raw is not None:
        return None
    recorded = [entry['layout'] for entry in metadata.values() if int(entry['layout'].get('version') or 0) > 0]
    if not recorded:
        return None
    best = max(recorded, key=lambda layout: layout['version'])
    return Layout(best['version'], best['shards'], lease_s=best.get('lease_s', DEFAULT_LEASE_S))


class _LayoutDatabase:
    """The calls shardinel.layout.write_layout makes, over a redis_wire connection on the layout's database."""

    def __init__(self, connection):
        self.connection = connection

    def eval(self, script, numkeys, *args):
        return self.connection.call('EVAL', script, numkeys, *args)

    def execute_command(self, *args):
        return self.connection.call(*args)


def republish(layout, masters, params, tls):
    """Publish ``layout`` on every master (never over a newer one) and WAIT for a replica; RestoreError naming the master
    it could not be written on."""
    for master in masters:
        try:
            with Connection(parse_address(master, 'address'), params['username'], params['password'], tls,
                            params['timeout']) as connection:
                connection.call('SELECT', LAYOUT_DB)
                write_layout(_LayoutDatabase(connection), layout, 1, min(params['timeout'], 10.0))
        except LayoutConflictError:
            continue
        except (WireError, ReplyError) as error:
            raise RestoreError('the shards are restored, but publishing the layout again (version %d) on %s failed: %s'
                               % (layout.version, master, error))


def chosen_shards(directory, params, result):
    """(the shards to restore, the set's set.json); with skip_missing, a set or shard this host does not hold is listed
    in result['skipped'] instead of refused."""
    try:
        manifest = open_set(directory, params['backup_set'])
    except BackupSetError as error:
        if not params['skip_missing']:
            raise
        result['set_missing'] = str(error)
        result['skipped'] = dict((shard, str(error)) for shard in params['shards'] or [])
        return [], None
    result['backup_set'] = manifest['set']
    held, failed = list(manifest.get('shards', [])), manifest.get('failed', {})
    if params['skip_missing']:
        wanted = params['shards'] or held
        for shard in wanted:
            if shard not in held:
                result['skipped'][shard] = ('its backup failed: %s' % failed[shard] if shard in failed
                                            else 'backup set %s on this host does not hold it' % manifest['set'])
        return [shard for shard in wanted if shard in held], manifest
    if not params['shards'] and failed:
        raise RestoreError('backup set %s is incomplete: the backup of %s failed; name the shards to restore from it '
                           '(shards: [%s])' % (manifest['set'], ', '.join(sorted(failed)), ', '.join(held)))
    if not held and not params['shards']:
        raise RestoreError('backup set %s holds no shard on this host' % manifest['set'])
    return params['shards'] or held, manifest


PUBLIC = ('master', 'engine', 'engine_version', 'replicas', 'staging_databases', 'set_layout', 'keys', 'size', 'backed_up', 'source')


def public(entry):
    return dict((key, entry[key]) for key in PUBLIC)


def restore_one(shard, entry, metadata, params, tls, layout_raw, set_name, directory):
    started = time.monotonic()
    swap = ShardSwap(parse_address(entry['master'], 'address'), params['username'], params['password'], tls,
                     params['timeout'], layout_raw, entry['replicas'], entry['databases'])
    binary = params['server_binary'] or SERVERS.get(entry['engine'], SERVERS['redis'])
    try:
        report = swap.run(os.path.join(directory, set_name), entry['file'], entry['size'], binary, entry['engine_version'])
    except SwapError as error:
        state = ('its data may be partly replaced' if error.touched else 'its data is as it was')
        raise RestoreError('%s: the restore failed (%s): %s' % (shard, state, error))
    report.update(public(entry), seconds=round(time.monotonic() - started, 3), keys_in_set=metadata.get('keys'))
    if report['replicas_acknowledged'] < entry['replicas']:
        report['warning'] = ('%d of %d replica(s) acknowledged the restore within %gs; they catch up from the replication '
                             'stream (or a full resynchronisation)' % (report['replicas_acknowledged'], entry['replicas'],
                                                                       params['timeout']))
    return report
