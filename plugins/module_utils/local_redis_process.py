# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local process of a Redis master, found from its INFO server and checked in /proc, and the signals of a drill.

A process id alone proves nothing on another host or in another container (PIDs repeat), so the
process must be a redis-server (or valkey-server) on this host that holds the listening socket of
the master's port.
"""

from __future__ import annotations

import os
import signal

PROC = '/proc'
SERVER_NAMES = ('redis-server', 'valkey-server')
TCP_LISTEN = '0A'


class ProcessRefused(Exception):
    """The master's process cannot be signalled from here; the message says why."""


def _listening_inodes(port):
    """Inodes of the TCP sockets listening on ``port`` in this network namespace."""
    inodes = set()
    for table in ('tcp', 'tcp6'):
        try:
            with open(os.path.join(PROC, 'net', table), encoding='utf-8') as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == TCP_LISTEN and int(fields[1].rsplit(':', 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read().strip()


def local_master_process(pid, port, address):
    """Check that ``pid`` (from the master's INFO server) is the redis-server listening on ``port`` here.

    Returns the process name; raises ProcessRefused with a message naming the master otherwise.
    """
    where = 'master %s reports process id %d' % (address, pid)
    try:
        name = _read(os.path.join(PROC, str(pid), 'comm'))
    except OSError:
        raise ProcessRefused('%s, which is no process on this host: run the drill on the host that runs the master' % where)
    if name not in SERVER_NAMES:
        raise ProcessRefused('%s, but process %d on this host is %r, not a redis-server: run the drill on the host that '
                             'runs the master' % (where, pid, name))
    sockets = set('socket:[%s]' % inode for inode in _listening_inodes(port))
    fd_dir = os.path.join(PROC, str(pid), 'fd')
    try:
        links = set()
        for fd in os.listdir(fd_dir):
            try:
                links.add(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:
                continue
    except PermissionError:
        raise ProcessRefused('%s; this user may not inspect or signal it: run the module as root (become: true) or as the '
                             'Redis service user' % where)
    except OSError as error:
        raise ProcessRefused('%s, which cannot be inspected here: %s' % (where, error))
    if not sockets & links:
        raise ProcessRefused('%s, but the %s with that id on this host does not listen on port %d: the master runs on another '
                             'host or container; run the drill there' % (where, name, port))
    return name


def send(pid, signum):
    """Send signum to pid; ProcessRefused naming the signal when that is not allowed."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise ProcessRefused('process %d is gone before %s could be sent' % (pid, signal.Signals(signum).name))
    except PermissionError:
        raise ProcessRefused('not allowed to send %s to process %d: run the module as root (become: true) or as the '
                             'Redis service user' % (signal.Signals(signum).name, pid))
