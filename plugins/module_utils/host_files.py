# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's directories, files and links laid out in one pass (the shardinel.redis.host_layout module).

``lay_out(module, pattern)`` first checks the packages the layout needs: outside check mode, if one is missing nothing else
is done. Then it compares every directory, file and link with what it should be, every item before changing any,
and (outside check mode) changes what differs, in the order given: directories (with their parents), files (new
content written to a temporary file beside the old one, validated, then moved over it; attributes alone fixed in
place; a create-only file that exists is never read), links (replaced atomically). Last, it reads which units
systemd does not run. Errors are ``LayoutError`` naming the path; the caller hides the secrets in them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import shlex
import stat
import tempfile

from ansible_collections.shardinel.redis.plugins.module_utils.host_packages import missing_packages
from ansible_collections.shardinel.redis.plugins.module_utils.secret_text import hide_secrets
from ansible_collections.shardinel.redis.plugins.module_utils.systemd_units import UnitStateError, inactive_units

KEEP = -1
# In check mode an owner or group that does not exist yet (its package is not installed): no file has this id.
NOT_YET = -2


class LayoutError(Exception):
    """The layout cannot be applied; the message names the path."""


class Attributes:
    """Owner, group and mode an item asks for (None, and KEEP for the ids, when it leaves one alone)."""

    def __init__(self, item, check_mode):
        self.owner, self.group, self.mode = item.get('owner'), item.get('group'), parse_mode(item)
        self.uid = KEEP if self.owner is None else account_id(pwd.getpwnam, self.owner, item['path'], check_mode)
        self.gid = KEEP if self.group is None else account_id(grp.getgrnam, self.group, item['path'], check_mode)

    def differ(self, status):
        return ((self.uid != KEEP and status.st_uid != self.uid) or (self.gid != KEEP and status.st_gid != self.gid)
                or (self.mode is not None and stat.S_IMODE(status.st_mode) != self.mode))

    def lines(self, status=None):
        """'owner: name' lines for the attributes asked for, as they are on ``status`` or as asked."""
        lines = []
        if self.owner is not None:
            lines.append('owner: %s' % (self.owner if status is None else account_name(pwd.getpwuid, status.st_uid)))
        if self.group is not None:
            lines.append('group: %s' % (self.group if status is None else account_name(grp.getgrgid, status.st_gid)))
        if self.mode is not None:
            lines.append('mode: %04o' % (self.mode if status is None else stat.S_IMODE(status.st_mode)))
        return lines

    def summary(self):
        return ', '.join(self.lines())

    def apply(self, path):
        if self.uid != KEEP or self.gid != KEEP:
            os.chown(path, self.uid, self.gid)
        if self.mode is not None:
            os.chmod(path, self.mode)


class Change:
    """One path that differs: whether it is new, its diff entries, and what makes it right."""

    def __init__(self, path, created, diffs, apply):
        self.path, self.created, self.diffs, self.apply = path, created, diffs, apply


def parse_mode(item):
    mode = item.get('mode')
    if mode is None:
        return None
    text = str(mode)
    if isinstance(mode, int) and not isinstance(mode, bool):
        if 0 <= mode <= 0o7777:
            return mode
    elif text.isdigit() and not set(text) - set('01234567') and len(text.lstrip('0')) <= 4:
        return int(text, 8)
    raise LayoutError('%s: mode %s is not an octal mode such as 0640' % (item['path'], text))


def account_id(lookup, name, path, check_mode):
    try:
        return lookup(name)[2]
    except KeyError:
        if name.isdigit():
            return int(name)
        if check_mode:
            return NOT_YET
        raise LayoutError('%s: the user or group %s does not exist' % (path, name))


def account_name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def attribute_diff(path, status, attributes):
    return {'before_header': '%s (attributes)' % path, 'after_header': '%s (attributes)' % path,
            'before': '\n'.join(attributes.lines(status)) + '\n', 'after': '\n'.join(attributes.lines()) + '\n'}


def plan_directory(item, check_mode):
    path, attributes = item['path'], Attributes(item, check_mode)
    if os.path.isdir(path):
        status = os.stat(path)
        if not attributes.differ(status):
            return None
        return Change(path, False, [attribute_diff(path, status, attributes)], lambda: attributes.apply(path))
    if os.path.lexists(path):
        raise LayoutError('%s exists and is not a directory' % path)

    def create():
        os.makedirs(path)
        attributes.apply(path)

    return Change(path, True, [{'before_header': '%s (absent)' % path, 'after_header': path, 'before': '',
                                'after': ', '.join(['directory'] + attributes.lines()) + '\n'}], create)


def plan_file(item, check_mode, directories, pattern, run):
    path = item['path']
    if item.get('content') is None:
        raise LayoutError('%s: no content; the shardinel.redis.host_layout action renders template and src items '
                          'into content before it calls the module' % path)
    exists = os.path.lexists(path)
    if exists and item.get('create_only'):
        return None
    if exists and not stat.S_ISREG(os.lstat(path).st_mode):
        raise LayoutError('%s exists and is not a regular file' % path)
    if not exists and not will_be_directory(os.path.dirname(path), directories):
        raise LayoutError('%s: its directory does not exist and is not among the directories' % path)
    validate = item.get('validate')
    if validate and '%s' not in validate:
        raise LayoutError('%s: the validate command has no %%s for the file to check' % path)
    attributes, content = Attributes(item, check_mode), item['content'].encode('utf-8')
    if not exists:
        return Change(path, True, [content_diff(path, None, content, attributes, item.get('diff', True), pattern)],
                      lambda: write_file(path, content, attributes, validate, run))
    status = os.lstat(path)
    with open(path, 'rb') as stream:
        before = stream.read()
    diffs = [attribute_diff(path, status, attributes)] if attributes.differ(status) else []
    if before == content:
        return Change(path, False, diffs, lambda: attributes.apply(path)) if diffs else None
    diffs.insert(0, content_diff(path, before, content, attributes, item.get('diff', True), pattern))
    return Change(path, False, diffs, lambda: write_file(path, content, attributes, validate, run))


def will_be_directory(path, directories):
    """Whether ``path`` is a directory now or once the directories (made with their parents) are created."""
    path = os.path.normpath(path)
    return os.path.isdir(path) or any(wanted == path or wanted.startswith(path.rstrip('/') + '/') for wanted in directories)


def content_diff(path, before, after, attributes, show, pattern):
    """The diff entry of a file's content (``before`` None: the file is new, and its attributes are in the header)."""
    if before is None:
        entry = {'before_header': '%s (absent)' % path, 'before': '',
                 'after_header': '%s (%s)' % (path, attributes.summary()) if attributes.summary() else path}
    else:
        entry = {'before_header': path, 'after_header': path}
    if not show:
        entry.update(before='' if before is None else '(content not shown)\n', after='(new content, not shown)\n')
        return entry
    if before is not None:
        entry['before'] = hide_secrets(before.decode('utf-8', 'replace'), pattern)
    entry['after'] = hide_secrets(after.decode('utf-8'), pattern)
    if before is not None and entry['before'] == entry['after']:
        entry['after_header'] += ' (only hidden secrets differ)'
    return entry


def write_file(path, content, attributes, validate, run):
    directory, name = os.path.split(path)
    old = os.lstat(path) if os.path.lexists(path) else None
    uid = attributes.uid if attributes.uid != KEEP or old is None else old.st_uid
    gid = attributes.gid if attributes.gid != KEEP or old is None else old.st_gid
    mode = attributes.mode
    if mode is None:
        mode = stat.S_IMODE(old.st_mode) if old is not None else 0o666 & ~current_umask()
    handle, temporary = tempfile.mkstemp(prefix='.%s.' % name, dir=directory)
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        if uid != KEEP or gid != KEEP:
            os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        if validate:
            check_content(validate, temporary, path, run)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    sync_directory(directory)


def check_content(command, temporary, path, run):
    argv = [part.replace('%s', temporary) for part in shlex.split(command)]
    rc, out, err = run(argv)
    if rc != 0:
        raise LayoutError('%s: the new content was rejected, the file is unchanged (%s): %s' % (
            path, command, '\n'.join(text.strip() for text in (out, err) if text.strip())))


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sync_directory(directory):
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def plan_link(item):
    path, target = item['path'], item['target']
    before = ''
    if os.path.islink(path):
        current = os.readlink(path)
        if current == target:
            return None
        before = 'symbolic link to %s\n' % current
    elif os.path.lexists(path):
        raise LayoutError('%s exists and is not a symbolic link' % path)
    return Change(path, not before, [{'before_header': path if before else '%s (absent)' % path, 'after_header': path,
                                      'before': before, 'after': 'symbolic link to %s\n' % target}],
                  lambda: write_link(path, target))


def write_link(path, target):
    directory, name = os.path.split(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    temporary = os.path.join(directory, '.%s.%d' % (name, os.getpid()))
    if os.path.lexists(temporary):
        os.unlink(temporary)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def reported_names(params):
    """Every path and name the result may report: a secret inside one of them would be hidden there by Ansible."""
    names = list(params['packages'] or []) + list(params['units'] or [])
    for kind in ('directories', 'files', 'links'):
        for item in params[kind] or []:
            names.extend(item.get(key) for key in ('path', 'target', 'owner', 'group'))
    return [name for name in names if name]


def check_secrets(params):
    """Refuse a secret that is part of a path or name the result reports (Ansible would hide it there too)."""
    names = reported_names(params)
    for number, secret in enumerate(params['secrets'] or [], 1):
        if secret and any(secret in name for name in names):
            raise LayoutError('secrets: entry %d is part of a path or name that the result reports, where Ansible would '
                              'hide it; use a longer secret' % number)


def plan_layout(params, check_mode, pattern, run):
    """Every change the layout needs, in order (directories, files, links); nothing is changed."""
    directories = [os.path.normpath(item['path']) for item in params['directories'] or []]
    changes = []
    for item in params['directories'] or []:
        changes.append(guarded(item['path'], plan_directory, item, check_mode))
    for item in params['files'] or []:
        changes.append(guarded(item['path'], plan_file, item, check_mode, directories, pattern, run))
    for item in params['links'] or []:
        changes.append(guarded(item['path'], plan_link, item))
    return [change for change in changes if change is not None]


def guarded(path, function, *args):
    """function(*args), its OSError turned into a LayoutError naming ``path``."""
    try:
        return function(*args)
    except OSError as error:
        raise LayoutError('%s: %s' % (path, error.strerror or error))


def probe(path):
    """What a play wants to know of a path it does not lay out: whether it exists and may be written."""
    return {'exists': os.path.lexists(path), 'writeable': os.access(path, os.W_OK)}


def lay_out(module, pattern):
    """The module's result (``pattern``: the secrets, from secret_text.secret_pattern); raises LayoutError."""
    params, check_mode = module.params, module.check_mode
    check_secrets(params)
    result = {'changed': False, 'changed_paths': [], 'created': [], 'inactive': [],
              'probed': dict((path, probe(path)) for path in params.get('probes') or []),
              'missing_packages': missing_packages(module, params['packages'] or [])}
    diffs = []
    if module._diff:
        result['diff'] = diffs
    if result['missing_packages']:
        if not check_mode:
            return result
        result['changed'] = True
        diffs.append({'before_header': 'packages', 'after_header': 'packages (to be installed)', 'before': '',
                      'after': '\n'.join(result['missing_packages']) + '\n'})
    for change in plan_layout(params, check_mode, pattern, module.run_command):
        if not check_mode:
            guarded(change.path, change.apply)
        result['changed'] = True
        result['changed_paths'].append(change.path)
        if change.created:
            result['created'].append(change.path)
        diffs.extend(change.diffs)
    try:
        result['inactive'] = inactive_units(module, params['units'] or [])
    except UnitStateError as error:
        raise LayoutError('units: %s' % error)
    return result
