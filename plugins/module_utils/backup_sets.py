# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup sets on a data host: how they are laid out, found, kept and checked, and the metrics file they feed.

A backup directory holds one directory per set, named after the set::

    DIRECTORY/.lock                  held (flock) while a backup or a restore uses the directory
    DIRECTORY/.SET.partial/          a set being written; renamed to SET/ when the run ends
    DIRECTORY/SET/set.json           the set: name, times, layout, shards held, shards that failed
    DIRECTORY/SET/SHARD.rdb          the shard's snapshot (mode 0600: it holds the applications' data)
    DIRECTORY/SET/SHARD.json         the shard's metadata: layout, engine and version, source and replication offset,
                                     keys, databases, size, SHA-256, times (never a password)

A set on one host holds the shards this host backed up (those whose source runs here); the same set name on other
hosts holds the others. A set is complete when no shard of it failed.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import re
import shutil
import tempfile
import time

SET_FILE = 'set.json'
LOCK_FILE = '.lock'
PARTIAL = '.partial'
FORMAT = 1
NAME = re.compile(r'^[0-9A-Za-z][0-9A-Za-z._:+-]*$')
LATEST = 'latest'


class BackupSetError(Exception):
    """A backup set or directory is unusable; the message names the setting, the set or the shard."""


def now_text(moment=None):
    """UTC time as ISO 8601 text (seconds)."""
    stamp = datetime.datetime.fromtimestamp(time.time() if moment is None else moment, datetime.timezone.utc)
    return stamp.strftime('%Y-%m-%dT%H:%M:%SZ')


def default_set_name(moment=None):
    """The name of a set started now: its UTC time, e.g. 20261205T030000Z (sorts by time)."""
    stamp = datetime.datetime.fromtimestamp(time.time() if moment is None else moment, datetime.timezone.utc)
    return stamp.strftime('%Y%m%dT%H%M%SZ')


def check_name(value, option):
    """A set or shard name usable as a file name; ValueError naming the option otherwise."""
    if not isinstance(value, str) or not NAME.match(value) or value.endswith(PARTIAL) or value == LATEST:
        raise ValueError('%s: %r is not a usable name (letters, digits and . _ : + -, not starting with one of '
                         'those, not "latest")' % (option, value))
    return value


class DirectoryLock:
    """``with DirectoryLock(directory):`` - only one backup or restore at a time uses a backup directory."""

    def __init__(self, directory):
        self.directory = directory
        self.handle = None

    def __enter__(self):
        try:
            os.makedirs(self.directory, 0o700, exist_ok=True)
            self.handle = open(os.path.join(self.directory, LOCK_FILE), 'a', encoding='utf-8')  # pylint: disable=consider-using-with
        except OSError as error:
            raise BackupSetError('directory: cannot use %s: %s' % (self.directory, error.strerror or error))
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            raise BackupSetError('directory: another backup or restore is using %s now; run again when it has finished'
                                 % self.directory)
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def write_json(path, document, mode=0o600):
    """Write JSON atomically (a temporary file in the same directory, then rename)."""
    directory = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(prefix='.tmp-', dir=directory)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write('\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_json(path):
    with open(path, encoding='utf-8') as handle:
        document = json.load(handle)
    if not isinstance(document, dict):
        raise ValueError('%s does not hold a JSON object' % path)
    return document


def partial_path(directory, name):
    return os.path.join(directory, '.%s%s' % (name, PARTIAL))


def start_set(directory, name):
    """Create the directory a set is written into (removing what an interrupted run left of any set)."""
    for entry in os.listdir(directory):
        if entry.startswith('.') and entry.endswith(PARTIAL):
            shutil.rmtree(os.path.join(directory, entry), ignore_errors=True)
    if os.path.exists(os.path.join(directory, name)):
        raise BackupSetError('backup_set: a set named %s exists in %s already' % (name, directory))
    path = partial_path(directory, name)
    os.mkdir(path, 0o700)
    return path


def finish_set(directory, name, manifest):
    """Write the set's set.json and move it into place; its final path."""
    partial = partial_path(directory, name)
    write_json(os.path.join(partial, SET_FILE), manifest)
    final = os.path.join(directory, name)
    os.rename(partial, final)
    return final


def list_sets(directory):
    """[set.json of every set in the directory], oldest first (by finish time, then name); unreadable ones skipped."""
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BackupSetError('directory: cannot list %s: %s' % (directory, error.strerror or error))
    found = []
    for entry in entries:
        manifest_path = os.path.join(directory, entry, SET_FILE)
        if entry.startswith('.') or not os.path.isfile(manifest_path):
            continue
        try:
            manifest = read_json(manifest_path)
        except (OSError, ValueError):
            continue
        if manifest.get('set') == entry:
            found.append(manifest)
    return sorted(found, key=lambda manifest: (str(manifest.get('finished', '')), manifest['set']))


def is_complete(manifest):
    return not manifest.get('failed')


def prune(directory, keep, dry_run=False, pending=0):
    """Remove every set older than the ``keep`` newest complete ones (complete or not); 0 keeps every set. The names
    removed (or, with ``dry_run``, that would be once ``pending`` more complete sets are written)."""
    if keep <= 0:
        return []
    manifests = list_sets(directory)
    complete = [manifest for manifest in manifests if is_complete(manifest)]
    kept = keep - pending
    if len(complete) < kept:
        return []
    cut = manifests.index(complete[-kept]) if kept > 0 else len(manifests)
    removed = [manifest['set'] for manifest in manifests[:cut]]
    if not dry_run:
        for name in removed:
            shutil.rmtree(os.path.join(directory, name))
    return removed


def open_set(directory, name):
    """The set.json of the set called ``name`` (or, for "latest", of the newest complete set); BackupSetError naming
    backup_set and the sets that exist when there is no such set."""
    manifests = list_sets(directory)
    if name == LATEST:
        complete = [manifest for manifest in manifests if is_complete(manifest)]
        if complete:
            return complete[-1]
    else:
        for manifest in manifests:
            if manifest['set'] == name:
                return manifest
    known = ', '.join(manifest['set'] for manifest in manifests) or 'none'
    wanted = 'no complete set' if name == LATEST else 'no set named %s' % name
    raise BackupSetError('backup_set: %s in %s (sets there: %s)' % (wanted, directory, known))


def shard_metadata(directory, manifest, shard):
    """The metadata of one shard of a set, checked against the set; BackupSetError naming the shard."""
    name = manifest['set']
    if shard in manifest.get('failed', {}):
        raise BackupSetError('%s: backup set %s is incomplete: the backup of this shard failed (%s)'
                             % (shard, name, manifest['failed'][shard]))
    if shard not in manifest.get('shards', []):
        raise BackupSetError('shards: %s is not in backup set %s on this host (it holds %s)'
                             % (shard, name, ', '.join(manifest.get('shards', [])) or 'no shard'))
    path = os.path.join(directory, name, shard + '.json')
    try:
        metadata = read_json(path)
    except (OSError, ValueError) as error:
        raise BackupSetError('%s: backup set %s is incomplete: cannot read %s: %s'
                             % (shard, name, path, getattr(error, 'strerror', None) or error))
    for field in ('shard', 'set', 'file', 'size', 'sha256', 'layout', 'engine', 'engine_version'):
        if field not in metadata:
            raise BackupSetError('%s: backup set %s is incomplete: %s has no %s' % (shard, name, path, field))
    if metadata['shard'] != shard or metadata['set'] != name:
        raise BackupSetError('%s: %s belongs to shard %s of set %s' % (shard, path, metadata['shard'], metadata['set']))
    return metadata


def metrics_text(manifests, run_results, run_time):
    """The node_exporter textfile of a host's backups: per shard the newest complete backup held here (time, size,
    keys), and how this run went for the shards it covered."""
    newest = {}
    for manifest in manifests:
        for shard in manifest.get('shards', []):
            newest[shard] = manifest
    lines = []

    def metric(name, kind, text, samples):
        lines.extend(['# HELP %s %s' % (name, text), '# TYPE %s %s' % (name, kind)])
        lines.extend('%s%s %s' % (name, labels, value) for labels, value in samples)

    def shard_label(shard):
        return '{shard="%s"}' % shard.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')

    successes = sorted((shard, manifest['shard_details'].get(shard, {})) for shard, manifest in newest.items()
                       if 'shard_details' in manifest)
    metric('shardinel_backup_last_success_timestamp_seconds', 'gauge',
           'Unix time the newest backup of the shard held on this host finished.',
           [(shard_label(shard), details.get('finished_unix', 0)) for shard, details in successes])
    metric('shardinel_backup_last_success_size_bytes', 'gauge', 'Size of that backup\'s RDB file.',
           [(shard_label(shard), details.get('size', 0)) for shard, details in successes])
    metric('shardinel_backup_last_success_keys', 'gauge', 'Keys in that backup (every database).',
           [(shard_label(shard), details.get('keys', 0)) for shard, details in successes])
    metric('shardinel_backup_last_run_success', 'gauge',
           '1 if the last backup run on this host backed the shard up, 0 if it failed.',
           [(shard_label(shard), 1 if ok else 0) for shard, ok in sorted(run_results.items())])
    metric('shardinel_backup_last_run_timestamp_seconds', 'gauge', 'Unix time the last backup run on this host ended.',
           [('', '%.3f' % run_time)])
    return '\n'.join(lines) + '\n'


def write_metrics(path, text):
    """Replace the metrics file atomically (mode 0644), creating its directory."""
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, 0o755, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix='.tmp-', dir=directory)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
