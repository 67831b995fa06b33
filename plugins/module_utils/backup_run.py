# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A backup run on a data host (module shardinel.redis.backup, and the redis_server role's backup timer through
/usr/local/libexec/shardinel/redis-backup): snapshot each shard whose source runs here into a new backup set, keep
the newest sets, and write the metrics file.

Each shard's snapshot is one fork of its source (backup_sources chooses it: an in-sync replica unless told to use the
master), taken through the replication protocol (rdb_snapshot), so it is a point-in-time copy of that shard. Shards are
taken one after the other, each at its own moment; a set is not one instant across shards. The published layout is
read from the source before and after the snapshot: a backup during a reshard, or across the start of one, fails for
that shard, because its keys are moving between shards.
"""

from __future__ import annotations

import os
import time

from ansible_collections.shardinel.redis.plugins.module_utils.backup_sets import (
    BackupSetError, DirectoryLock, check_name, default_set_name, finish_set, list_sets, metrics_text, now_text, prune,
    start_set, write_json, write_metrics)
from ansible_collections.shardinel.redis.plugins.module_utils.backup_sources import SourceError, choose_sources, host_shards
from ansible_collections.shardinel.redis.plugins.module_utils.rdb_snapshot import SnapshotError, take_snapshot
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import watch_argument_spec, watch_from_params
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_address
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.layout import (
    LAYOUT_DB, LAYOUT_KEY, Layout, LayoutFormatError)

FORMAT = 1
CHECKERS = dict(redis='/usr/bin/redis-check-rdb', valkey='/usr/bin/valkey-check-rdb')


class BackupError(Exception):
    """The run failed; the message names the shards (or the setting), ``result`` holds what was done."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


def backup_argument_spec():
    """The options of a backup run (the module's, and the fields of the timer's settings file)."""
    spec = watch_argument_spec()
    spec.update(
        directory=dict(type='path', required=True),
        backup_set=dict(type='str'),
        keep=dict(type='int', default=7),
        source=dict(type='str', default='replica', choices=['replica', 'master']),
        max_lag=dict(type='float', default=10.0),
        host=dict(type='str'),
        shards=dict(type='list', elements='str'),
        check_rdb=dict(type='path'),
        metrics_file=dict(type='path'),
        timeout=dict(type='float', default=60.0),
    )
    return spec


def validate(params):
    """(the ShardWatch, the set name); ValueError naming the option that is wrong."""
    if params['keep'] < 0:
        raise ValueError('keep: must be 0 (keep every set) or more, got %d' % params['keep'])
    for option in ('max_lag', 'timeout'):
        if params[option] <= 0:
            raise ValueError('%s: must be a positive number of seconds, got %r' % (option, params[option]))
    for shard in params['shards'] or []:
        check_name(shard, 'shards')
    if params['username'] and not params['password']:
        raise ValueError('username is set but password is empty')
    name = check_name(params['backup_set'], 'backup_set') if params['backup_set'] else default_set_name()
    if params['host'] is not None and not params['host'].strip():
        raise ValueError('host: must be an address, or left out')
    return watch_from_params(params), name


def read_layout(address, params, tls, timeout):
    """The layout published on an instance (database 15), or None."""
    with Connection(parse_address(address, 'address'), params['username'], params['password'], tls, timeout) as connection:
        selected, raw = connection.pipeline([['SELECT', LAYOUT_DB], ['GET', LAYOUT_KEY]])
    for reply in (selected, raw):
        if isinstance(reply, ReplyError):
            raise reply
    return None if raw is None else Layout.from_json(raw)


def layout_document(layout, sentinel_shards):
    """The layout a set records: the published one, or version 0 naming the shards the Sentinels monitor."""
    if layout is None:
        return dict(version=0, shards=sorted(sentinel_shards))
    return dict(version=layout.version, shards=list(layout.shards), lease_s=layout.lease_s)


def rdb_version(path):
    """The RDB format version in the file's header (REDIS0010 -> 10), or None."""
    with open(path, 'rb') as handle:
        header = handle.read(9)
    return int(header[5:]) if header[:5] == b'REDIS' and header[5:].isdigit() else None


def snapshot_shard(shard, entry, params, tls, set_dir, set_name, sentinel_shards):
    """Take one shard's snapshot into ``set_dir``; its metadata. SnapshotError (message without the shard's name)."""
    source = entry['source']
    timeout = params['timeout']
    started = time.time()
    try:
        before = read_layout(source, params, tls, timeout)
    except (WireError, ReplyError, LayoutFormatError) as error:
        raise SnapshotError('cannot read the published layout on %s: %s' % (source, error))
    if before is not None and before.migrating:
        raise SnapshotError('a reshard is unfinished: the published layout (version %d) moves keys from %s to %s; back up '
                            'once it has finished (playbooks/scale.yml)'
                            % (before.version, ', '.join(before.previous), ', '.join(before.shards)))
    path = os.path.join(set_dir, shard + '.rdb')
    checker = params['check_rdb'] or CHECKERS.get(entry['engine'], CHECKERS['redis'])
    taken = take_snapshot(parse_address(source, 'address'), params['username'], params['password'], tls, path, timeout,
                          checker)
    try:
        after = read_layout(source, params, tls, timeout)
    except (WireError, ReplyError, LayoutFormatError) as error:
        raise SnapshotError('cannot read the published layout on %s after the snapshot: %s' % (source, error))
    if (after.version if after else 0) != (before.version if before else 0):
        raise SnapshotError('the published layout changed during the snapshot (version %d, then %d): a reshard started; '
                            'back up once it has finished' % (before.version if before else 0, after.version if after else 0))
    finished = time.time()
    metadata = dict(
        format=FORMAT, set=set_name, shard=shard, file=shard + '.rdb', size=taken['size'], sha256=taken['sha256'],
        rdb_version=rdb_version(path), layout=layout_document(before, sentinel_shards),
        engine=entry['engine'], engine_version=entry['engine_version'],
        source=dict(address=source, role=entry['role'], master=entry['master'], lag_s=entry['lag_s']),
        replication=dict(id=taken['replication_id'], offset=taken['replication_offset']),
        keys=taken['keys'], expires=taken['expires'], databases=taken['databases'],
        memory_bytes=entry['memory_bytes'], started=now_text(started), finished=now_text(finished),
        finished_unix=round(finished, 3), seconds=round(finished - started, 3))
    write_json(os.path.join(set_dir, shard + '.json'), metadata)
    return metadata


def remove_shard_files(set_dir, shard):
    for suffix in ('.rdb', '.rdb.partial', '.json'):
        try:
            os.unlink(os.path.join(set_dir, shard + suffix))
        except OSError:
            pass


def plan_entry(entry):
    return dict((key, entry[key]) for key in ('master', 'source', 'role', 'lag_s', 'problems'))


def run_backup(params, check_mode=False):
    """The result of a backup run (what the module returns); BackupError (with the result) when a shard failed."""
    try:
        watch, set_name = validate(params)
    except ValueError as error:
        raise BackupError(str(error))
    tls = watch.tls
    directory = params['directory']
    try:
        chosen, silent, sentinel_names = choose_sources(watch, params['source'], params['max_lag'], params['shards'])
    except (SourceError, WireError, ReplyError) as error:
        raise BackupError(str(error))
    mine = host_shards(chosen, params['host'])
    result = dict(changed=False, backup_set=set_name, directory=directory, path=os.path.join(directory, set_name),
                  shards={}, failed_shards={}, removed_sets=[], sentinels_not_answering=sorted(silent))
    problems = dict((shard, '; '.join(chosen[shard]['problems'])) for shard in mine if chosen[shard]['source'] is None)
    if check_mode:
        result['shards'] = dict((shard, plan_entry(chosen[shard])) for shard in mine)
        result['failed_shards'] = problems
        try:
            result['removed_sets'] = prune(directory, params['keep'], dry_run=True, pending=1 if mine else 0)
        except BackupSetError as error:
            raise BackupError(str(error), result)
        result['changed'] = bool(mine)
        if problems:
            raise BackupError(failure_message(problems), result)
        return result
    try:
        with DirectoryLock(directory):
            run_shards(mine, chosen, problems, params, tls, set_name, sentinel_names, result)
    except (BackupSetError, OSError) as error:
        raise BackupError(str(getattr(error, 'strerror', None) or error), result)
    if result['failed_shards']:
        raise BackupError(failure_message(result['failed_shards']), result)
    return result


def run_shards(mine, chosen, problems, params, tls, set_name, sentinel_names, result):
    """Under the directory lock: the set, its retention and the metrics file."""
    directory = params['directory']
    started = time.time()
    if mine:
        set_dir = start_set(directory, set_name)
        for shard in mine:
            if shard in problems:
                result['failed_shards'][shard] = problems[shard]
                continue
            try:
                result['shards'][shard] = snapshot_shard(shard, chosen[shard], params, tls, set_dir, set_name, sentinel_names)
            except SnapshotError as error:
                remove_shard_files(set_dir, shard)
                result['failed_shards'][shard] = str(error)
        held = sorted(result['shards'])
        layouts = [metadata['layout'] for metadata in result['shards'].values()]
        engines = [(metadata['engine'], metadata['engine_version']) for metadata in result['shards'].values()]
        finished = time.time()
        manifest = dict(
            format=FORMAT, set=set_name, host=params['host'], started=now_text(started), finished=now_text(finished),
            finished_unix=round(finished, 3), shards=held, failed=result['failed_shards'],
            layout=layouts[0] if layouts else None, engine=engines[0][0] if engines else None,
            engine_version=engines[0][1] if engines else None, source=params['source'],
            shard_details=dict((shard, dict((key, result['shards'][shard][key]) for key in ('size', 'keys', 'sha256', 'finished_unix')))
                               for shard in held))
        finish_set(directory, set_name, manifest)
        result['changed'] = True
        if not result['failed_shards']:
            result['removed_sets'] = prune(directory, params['keep'])
    if params['metrics_file']:
        outcome = dict((shard, shard in result['shards']) for shard in mine)
        write_metrics(params['metrics_file'], metrics_text(list_sets(directory), outcome, time.time()))


def failure_message(failed):
    return 'the backup of %s failed: %s' % (
        ', '.join(sorted(failed)), ' | '.join('%s: %s' % (shard, why) for shard, why in sorted(failed.items())))
