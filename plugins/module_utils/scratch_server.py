# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway server of an engine binary (redis-server, redis-sentinel, valkey-server, ...), to ask it how it reads
ACL rules without creating a user on a server that runs.

It listens only on a unix socket in a private temporary directory (mode 0700), keeps nothing (no RDB, no AOF, no
replication), and is killed and its directory removed on ``stop()``. A Sentinel binary runs in Sentinel mode, whose
command table (and so whose reading of ``+sentinel|...`` rules) differs from a Redis server's.

``config`` lines are added after its own (a later line wins): shardinel.redis.restore gives ``dir`` and ``dbfilename``
of a backup's RDB file, which the server then loads at start (it never writes it: it saves nothing and is killed), and
``start_timeout`` the seconds that loading may take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import Connection, ReplyError, WireError

START_TIMEOUT = 10.0


class ScratchServerError(Exception):
    """The binary is missing, refused the configuration, or did not answer; the message says which."""


class ScratchServer:
    """``with ScratchServer(binary, sentinel) as server: server.connection.call(...)``"""

    def __init__(self, binary, sentinel=False, option='server_binary', config=(), start_timeout=START_TIMEOUT):
        self.binary = binary
        self.sentinel = sentinel
        self.option = option
        self.config = list(config)
        self.start_timeout = start_timeout
        self.directory = None
        self.process = None
        self.connection = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise ScratchServerError('%s: %s is not an executable file' % (self.option, self.binary))
        self.directory = tempfile.mkdtemp(prefix='shardinel-scratch-')
        socket_path = os.path.join(self.directory, 'server.sock')
        config = os.path.join(self.directory, 'scratch.conf')
        with open(config, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join([
                'port 0', 'unixsocket %s' % socket_path, 'unixsocketperm 700', 'dir %s' % self.directory,
                'daemonize no', 'loglevel warning', 'save ""', 'appendonly no'] + self.config + ['']))
        with open(os.path.join(self.directory, 'server.log'), 'wb') as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [self.binary, config] + (['--sentinel'] if self.sentinel else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, close_fds=True)
        self.connection = Connection(socket_path, timeout=self.start_timeout)
        self._wait_until_it_answers()

    def _wait_until_it_answers(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise ScratchServerError('%s: %s exited (%s) before answering: %s'
                                         % (self.option, self.binary, self.process.returncode, self._log_tail()))
            try:
                self.connection.call('PING')
                return
            except (WireError, ReplyError) as error:
                self.connection.close()
                if time.monotonic() > deadline:
                    raise ScratchServerError('%s: %s did not answer within %gs: %s'
                                             % (self.option, self.binary, self.start_timeout, error))
            time.sleep(0.005)

    def _log_tail(self):
        try:
            with open(os.path.join(self.directory, 'server.log'), 'rb') as handle:
                lines = handle.read().decode('utf-8', 'replace').strip().splitlines()
        except OSError:
            return 'no log'
        return ' / '.join(lines[-3:]) or 'no log'

    def stop(self):
        if self.connection is not None:
            self.connection.close()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.process = self.connection = self.directory = None
