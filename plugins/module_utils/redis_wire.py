# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redis protocol (RESP2) on the standard library, for the code that runs on the managed hosts.

The host-side modules and the instances' start helper talk to Redis instances and Sentinels with it, so that a host
needs neither redis-py nor the command-line tool: the same code answers in check mode on a host where nothing is
installed yet. It imports nothing from the collection, so the start helper can import it from the directory it is
installed in.

- ``Connection((host, port), username, password, tls, timeout)``: ``call(*args)`` returns the reply and raises
  ``ReplyError`` on an error reply; ``pipeline(commands)`` sends every command in one round trip and returns the replies
  with each error reply as a ``ReplyError`` in its place. The address may also be the path of a unix socket (a ``str``);
  Redis serves no TLS there, so ``tls`` is not used for it. With ``binary=True`` bulk strings come back as ``bytes``
  (DUMP payloads and other binary values, without a decoding that costs more than the transfer).
- ``ask_each(addresses, commands, ...)``: the same commands to many servers at once, within one deadline.

Replies: simple and bulk strings are ``str`` (UTF-8; undecodable bytes are escaped as surrogates), integers ``int``,
arrays ``list``, nil ``None``. TLS verifies the server's certificate against the CA file (or the system's store) and,
with ``check_hostname``, that it names the address connected to; as the modules' ``tls_*`` options do by default, and
like the Redis command-line tool, the name is not checked unless asked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import threading
import time


class WireError(Exception):
    """The server could not be reached or answered out of protocol; the message names the address."""


class ReplyError(Exception):
    """An error reply (``-ERR ...``); ``code`` is its first word (ERR, WRONGPASS, NOPERM, LOADING, ...)."""

    @property
    def code(self):
        text = str(self)
        return text.split(" ", 1)[0] if text else ""


class AuthError(ReplyError):
    """The server refused the username and password (the message holds no secret)."""


class TlsFiles:
    """Paths of the CA that signed the servers' certificates and, for mutual TLS, this client's certificate and key;
    whether to verify the server's certificate and whether it must name the address connected to."""

    def __init__(self, ca_file=None, cert_file=None, key_file=None, verify=True, check_hostname=False):
        self.ca_file = ca_file
        self.cert_file = cert_file
        self.key_file = key_file
        self.verify = verify
        self.check_hostname = check_hostname and verify

    def context(self):
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = self.check_hostname
        if not self.verify:
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def label(address):
    host, port = address
    return "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host, port)


def encode(args):
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, bool):
            raise TypeError("a command argument must be str, bytes or a number, not bool")
        else:
            data = str(arg).encode("utf-8", "surrogateescape")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Connection:
    """One connection, opened on first use, logged in as ``username`` when a password is given."""

    def __init__(self, address, username=None, password=None, tls=None, timeout=5.0, binary=False):
        self.binary = binary
        if isinstance(address, str):
            self.address = address
            self.label = "unix:%s" % address
        else:
            self.address = (str(address[0]), int(address[1]))
            self.label = label(self.address)
        self.username = username
        self._password = password
        self.tls = tls
        self.timeout = timeout
        self._socket = None
        self._reader = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def open(self):
        if self._socket is not None:
            return
        self._socket = self._unix_socket() if isinstance(self.address, str) else self._tcp_socket()
        self._reader = self._socket.makefile("rb")
        self._log_in()

    def _tcp_socket(self):
        try:
            raw = socket.create_connection(self.address, timeout=self.timeout)
        except (OSError, socket.timeout) as error:
            raise WireError("%s: %s" % (self.label, error.strerror or error))
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return self.tls.context().wrap_socket(raw, server_hostname=self.address[0]) if self.tls else raw
        except (OSError, ssl.SSLError) as error:
            raw.close()
            raise WireError("%s: TLS handshake failed: %s" % (self.label, error))

    def _unix_socket(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.address)
        except (OSError, socket.timeout) as error:
            sock.close()
            raise WireError("%s: %s" % (self.label, error.strerror or error))
        return sock

    def _log_in(self):
        if self._password:
            credentials = [self.username, self._password] if self.username else [self._password]
            reply = self._exchange([["AUTH"] + credentials])[0]
            if isinstance(reply, ReplyError):
                self.close()
                raise AuthError("%s refused user %s: %s" % (self.label, self.username or "default", reply))

    def close(self):
        for thing in (self._reader, self._socket):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass
        self._socket = self._reader = None

    def call(self, *args):
        reply = self.pipeline([list(args)])[0]
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def pipeline(self, commands):
        """Every command's reply, in order; an error reply is a ReplyError in its place, not raised."""
        self.open()
        return self._exchange(commands)

    def _exchange(self, commands):
        try:
            self._socket.sendall(b"".join(encode(list(command)) for command in commands))
            replies = [self._read() for _command in commands]
        except (OSError, socket.timeout, ssl.SSLError) as error:
            self.close()
            raise WireError("%s: %s" % (self.label, getattr(error, "strerror", None) or error or type(error).__name__))
        return replies

    def _line(self):
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise WireError("%s: connection closed" % self.label)
        return line[:-2]

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "surrogateescape")
        if kind == b"-":
            return ReplyError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self._reader.read(length + 2)
            if len(data) != length + 2:
                raise WireError("%s: connection closed" % self.label)
            return data[:-2] if self.binary else data[:-2].decode("utf-8", "surrogateescape")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _index in range(count)]
        raise WireError("%s: not a Redis reply: %r" % (self.label, line[:40]))


def ask_each(addresses, commands, username=None, password=None, tls=None, timeout=5.0):
    """{address: replies (a list, one per command) or the WireError/ReplyError that stopped it}, asking every
    address at once; an address that has not answered within ``timeout`` seconds gets a WireError."""
    results = {}
    lock = threading.Lock()

    def ask(address):
        try:
            with Connection(address, username, password, tls, timeout) as connection:
                outcome = connection.pipeline(commands)
        except (WireError, ReplyError) as error:
            outcome = error
        with lock:
            results[address] = outcome

    threads = [threading.Thread(target=ask, args=(tuple(address),)) for address in addresses]
    for thread in threads:
        thread.daemon = True
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return dict((tuple(address), results.get(tuple(address), WireError("%s: no answer within %gs" % (label(address), timeout))))
                    for address in addresses)
