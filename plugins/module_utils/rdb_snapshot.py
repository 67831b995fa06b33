# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One instance's data as an RDB file, taken through the replication protocol (as ``redis-cli --rdb`` takes it), and
the engine's own check of such a file.

``take_snapshot`` logs in, says it takes diskless transfers (``REPLCONF capa eof``) and wants the RDB only (``REPLCONF
rdb-only 1``: the instance sends no replication stream after it and keeps no backlog for it), then sends ``PSYNC ? -1``.
The instance forks once and streams what the fork sees: a point-in-time copy of every database, the same as a new
replica of it would receive. With ``repl-diskless-sync yes`` (the roles set it) nothing is written on its disk. The
file is written as it arrives, hashed on the way (SHA-256), and moved into place only once complete.

The engine's checker (``redis-check-rdb`` / ``valkey-check-rdb``) reads the RDB as it arrives, through a pipe, and
says how many keys it holds and which databases; ``check_rdb`` runs it on a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError

CHUNK = 4 * 1024 * 1024
EOF_MARK_LENGTH = 40
CHECK_TIMEOUT = 3600
# The checker reads the snapshot from its standard input (it opens a path; /proc needs no /dev).
STDIN = '/proc/self/fd/0'
KEYS_READ = re.compile(r'\[info\] (\d+) keys read')
EXPIRES = re.compile(r'\[info\] (\d+) expires')
SELECTING_DB = re.compile(r'Selecting DB ID (\d+)')
LOOKS_OK = 'RDB looks OK'


class SnapshotError(Exception):
    """The snapshot could not be taken or checked; the message names the instance or the file, never a password."""


class CheckerError(SnapshotError):
    """The RDB checker could not be run at all (the message names it); the file is not known to be bad."""


class _ReplicationConnection(Connection):
    """A Connection that, after its login, asks for a full synchronisation and reads the RDB that follows."""

    def read_rdb(self, sink):
        """Send PSYNC ? -1 and write the RDB to ``sink`` as it arrives; (replication id, offset, size)."""
        self.open()
        for option in (('capa', 'eof'), ('rdb-only', '1')):
            try:
                self.call('REPLCONF', *option)
            except ReplyError:
                # An engine without rdb-only streams on after the RDB; the connection is closed then anyway.
                if option[0] != 'rdb-only':
                    raise
        try:
            self._socket.sendall(b'*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n')
            answer = self._reply_line()
            if answer.startswith(b'-'):
                raise ReplyError(answer[1:].decode('utf-8', 'replace'))
            words = answer.split()
            if len(words) != 3 or words[0] != b'+FULLRESYNC':
                raise WireError('%s: unexpected answer to PSYNC: %r' % (self.label, answer[:60]))
            replication_id, offset = words[1].decode('ascii', 'replace'), int(words[2])
            header = self._reply_line()
            if header.startswith(b'$EOF:'):
                size = self._copy_until_mark(header[5:], sink)
            elif header.startswith(b'$'):
                size = self._copy_length(int(header[1:]), sink)
            else:
                raise WireError('%s: unexpected start of the RDB transfer: %r' % (self.label, header[:60]))
        except (OSError, ValueError) as error:
            self.close()
            raise WireError('%s: %s' % (self.label, getattr(error, 'strerror', None) or error))
        return replication_id, offset, size

    def _reply_line(self):
        """The next line that is not a keep-alive newline (the instance sends those while it prepares the RDB)."""
        while True:
            line = self._reader.readline()
            if not line:
                raise WireError('%s: connection closed' % self.label)
            if line.strip():
                return line.rstrip(b'\r\n')

    def _copy_length(self, length, sink):
        left = length
        while left:
            chunk = self._reader.read1(min(left, CHUNK))
            if not chunk:
                raise WireError('%s: connection closed with %d bytes of the RDB missing' % (self.label, left))
            sink.write(chunk)
            left -= len(chunk)
        return length

    def _copy_until_mark(self, mark, sink):
        """A diskless transfer ends with the 40-byte mark given in its header; everything before it is the RDB."""
        if len(mark) != EOF_MARK_LENGTH:
            raise WireError('%s: bad end-of-transfer mark in the RDB header' % self.label)
        size, held = 0, b''
        while True:
            chunk = self._reader.read1(CHUNK)
            if not chunk:
                raise WireError('%s: connection closed before the end of the RDB' % self.label)
            data = held + chunk
            if data.endswith(mark):
                body = data[:-EOF_MARK_LENGTH]
                sink.write(body)
                return size + len(body)
            body, held = data[:-EOF_MARK_LENGTH], data[-EOF_MARK_LENGTH:]
            sink.write(body)
            size += len(body)


class _Sink:
    """Where the RDB goes as it arrives: the file, its SHA-256, and the checker's standard input (until it stops
    reading: it refuses what it read, and says so once it is waited for)."""

    def __init__(self, handle, checker):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.checker = checker
        self.feeding = True

    def write(self, chunk):
        self.handle.write(chunk)
        self.digest.update(chunk)
        if self.feeding:
            try:
                self.checker.stdin.write(chunk)
            except BrokenPipeError:
                self.feeding = False


def start_checker(checker):
    """The engine's RDB checker, reading a file from its standard input."""
    try:
        return subprocess.Popen([checker, STDIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT)
    except OSError as error:
        raise CheckerError('check_rdb: cannot run %s: %s' % (checker, error.strerror or error))


def take_snapshot(address, username, password, tls, path, timeout, checker):
    """Write the instance's RDB to ``path`` (mode 0600, replaced only once complete) while ``checker`` checks it; {size,
    sha256, replication_id, replication_offset, keys, expires, databases}. Raises SnapshotError naming the instance,
    or the checker's refusal."""
    partial = path + '.partial'
    connection = _ReplicationConnection(address, username, password, tls, timeout)
    process = start_checker(checker)
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'wb') as handle:
            sink = _Sink(handle, process)
            replication_id, offset, size = connection.read_rdb(sink)
            handle.flush()
            os.fsync(handle.fileno())
        checked = finish_checker(process, checker, 'the snapshot from %s' % connection.label)
        os.replace(partial, path)
    except (WireError, ReplyError) as error:
        _remove(partial)
        raise SnapshotError('the snapshot from %s failed: %s' % (connection.label, error))
    except OSError as error:
        _remove(partial)
        raise SnapshotError('cannot write %s: %s' % (partial, error.strerror or error))
    except SnapshotError:
        _remove(partial)
        raise
    finally:
        connection.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    return dict(checked, size=size, sha256=sink.digest.hexdigest(), replication_id=replication_id,
                replication_offset=offset)


def finish_checker(process, checker, what):
    """Close the checker's input and read its verdict: {keys, expires, databases}, or SnapshotError."""
    try:
        output, _errors = process.communicate(timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SnapshotError('%s did not finish checking %s within %ds' % (checker, what, CHECK_TIMEOUT))
    return checker_verdict(checker, what, process.returncode, output.decode('utf-8', 'replace'))


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def file_sha256(path):
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


def check_rdb(checker, path):
    """Run the engine's RDB checker on ``path``: {keys, expires, databases}; SnapshotError with the checker's last
    lines when it refuses the file."""
    try:
        completed = subprocess.run([checker, path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=CHECK_TIMEOUT, check=False)
    except OSError as error:
        raise CheckerError('check_rdb: cannot run %s: %s' % (checker, error.strerror or error))
    except subprocess.TimeoutExpired:
        raise SnapshotError('%s did not finish checking %s within %ds' % (checker, path, CHECK_TIMEOUT))
    return checker_verdict(checker, path, completed.returncode, completed.stdout.decode('utf-8', 'replace'))


def checker_verdict(checker, what, returncode, output):
    """{keys, expires, databases} from the checker's output, or SnapshotError with its last lines."""
    keys = KEYS_READ.search(output)
    if returncode != 0 or LOOKS_OK not in output or keys is None:
        lines = [line for line in output.splitlines() if line.strip()]
        raise SnapshotError('%s refuses %s (exit code %d): %s'
                            % (os.path.basename(checker), what, returncode, ' / '.join(lines[-4:]) or 'no output'))
    expires = EXPIRES.search(output)
    return dict(keys=int(keys.group(1)), expires=int(expires.group(1)) if expires else None,
                databases=sorted(set(int(number) for number in SELECTING_DB.findall(output))))
