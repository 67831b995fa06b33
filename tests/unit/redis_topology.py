"""Real redis-server / redis-sentinel processes on 127.0.0.1 for tests and benchmarks.

``RedisTopology.start(tmp_dir, shard_count)`` writes configs into ``tmp_dir``, starts a
master and one replica per shard plus three Sentinels (ACL users as in DESIGN.md section 3;
the app user also has +@transaction, the Sentinel discovery user may SUBSCRIBE to exactly
SENTINEL_CLIENT_CHANNELS), and waits until every Sentinel sees every shard, its replica and
the other Sentinels.
``stop()`` kills every process group it started. ``add_shard(name)`` starts one more shard (master +
replica) in a running topology and has every running Sentinel monitor it; ``remove_shard(name)`` has
them remove it and kills its processes.

``RedisTopology.start(tmp_dir, shard_count, tls=True)`` runs the same topology on TLS only: a
private CA, a server certificate (SAN 127.0.0.1, also used by Redis and Sentinel as their client
certificate) and a client certificate are written into ``tmp_dir/tls``; every process has
``port 0``, ``tls-port`` on its usual port, ``tls-replication yes`` and ``tls-auth-clients``
``optional`` (or ``tls_auth_clients="yes"`` for mutual TLS). ``tls_client_kwargs()`` gives the
redis-py settings that reach it.
"""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
HOST = "127.0.0.1"
SENTINEL_COUNT = 3
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 4000

REDIS_USER_RULES = {
    "admin": "allchannels ~* +@all",
    "replication": "+psync +replconf +ping",
    "sentinel": (
        "allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info"
        " +client|setname +client|kill +script|kill"
    ),
    "app": "~* allchannels +@read +@write +@connection +@pubsub +@scripting +@transaction -@dangerous +migrate +restore",
}
# The channels shardinel's listener subscribes to (shardinel.failover_events.CHANNELS), and no others.
SENTINEL_CLIENT_CHANNELS = (
    "+switch-master", "+elected-leader", "+failover-state-send-slaveof-noone",
    "-failover-abort-no-good-slave", "-failover-abort-slave-timeout",
)
SENTINEL_CLIENT_CHANNEL_RULES = " ".join(f"&{channel}" for channel in SENTINEL_CLIENT_CHANNELS)
SENTINEL_USER_RULES = {
    "sentinel-admin": "allchannels +@all",
    "sentinel-client": (
        f"resetchannels {SENTINEL_CLIENT_CHANNEL_RULES} -@all +auth +hello +ping +role +command +client|getname +client|id"
        " +client|setname +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|myid"
        " +sentinel|replicas +sentinel|sentinels +subscribe +unsubscribe"
    ),
}

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class User:
    username: str
    password: str

    def acl_line(self, rules: str) -> str:
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        return f"user {self.username} on #{digest} {rules}"


@dataclass
class Process:
    """One redis-server or redis-sentinel process; ``start()`` may be called again after ``kill()``."""

    name: str
    port: int
    config: Path
    sentinel: bool
    popen: Optional[subprocess.Popen[bytes]] = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def address_string(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        argv = [REDIS_SENTINEL if self.sentinel else REDIS_SERVER, str(self.config)]
        log = open(self.config.with_suffix(".log"), "ab")  # pylint: disable=consider-using-with
        try:
            self.popen = subprocess.Popen(  # pylint: disable=consider-using-with
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
            )
        finally:
            log.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.popen.wait(timeout=10)


@dataclass
class Shard:
    name: str
    master: Process
    replica: Process

    @property
    def members(self) -> list[Process]:
        return [self.master, self.replica]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a TLS topology: the CA, the servers' certificate and key, and a client certificate and key."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    auth_clients: str = "optional"

    def server_config(self) -> list[str]:
        return [
            f"tls-cert-file {self.server_cert}", f"tls-key-file {self.server_key}", f"tls-ca-cert-file {self.ca}",
            f"tls-auth-clients {self.auth_clients}", "tls-replication yes",
        ]

    def client_kwargs(self, client_cert: bool = False) -> dict[str, object]:
        kwargs: dict[str, object] = {"ssl": True, "ssl_ca_certs": str(self.ca), "ssl_cert_reqs": "required",
                                     "ssl_check_hostname": True}
        if client_cert:
            kwargs.update(ssl_certfile=str(self.client_cert), ssl_keyfile=str(self.client_key))
        return kwargs


@dataclass
class RedisTopology:
    """A running test topology. Attribute overview:

    - ``sentinel_addresses``: ["127.0.0.1:port", ...] (3 Sentinels)
    - ``users``: role -> User on every Redis instance: "admin", "replication", "sentinel", "app"
    - ``sentinel_users``: role -> User on every Sentinel: "admin" (sentinel-admin), "client" (discovery only)
    - ``shards``: list of Shard(name, master=Process, replica=Process) in bootstrap placement;
      ``shard(name)`` looks one up. Process has host, port, address, address_string, start(), kill(sig).
    - ``processes``: name -> Process for every server and Sentinel ("shard1-master", "sentinel0", ...)
    - ``tls``: the TlsFiles of a TLS topology, else None; ``tls_client_kwargs()`` the redis-py settings for it
    """

    directory: Path
    shards: list[Shard]
    sentinels: list[Process]
    users: dict[str, User]
    sentinel_users: dict[str, User]
    processes: dict[str, Process] = field(default_factory=dict)
    tls: Optional[TlsFiles] = None

    @property
    def sentinel_addresses(self) -> list[str]:
        return [s.address_string for s in self.sentinels]

    @property
    def shard_names(self) -> list[str]:
        return [s.name for s in self.shards]

    def shard(self, name: str) -> Shard:
        for shard in self.shards:
            if shard.name == name:
                return shard
        raise KeyError(name)

    def process_at(self, address: tuple[str, int]) -> Process:
        for process in self.processes.values():
            if process.address == tuple(address):
                return process
        raise KeyError(address)

    # connections -------------------------------------------------------------------------
    def tls_client_kwargs(self, client_cert: bool = False) -> dict[str, object]:
        """redis-py TLS settings (CA, and with client_cert the client certificate) for this topology; {} without TLS."""
        return self.tls.client_kwargs(client_cert) if self.tls is not None else {}

    def redis_client(self, address: tuple[str, int], role: str = "admin", **kwargs: object) -> redis.Redis:
        user = self.users[role]
        kwargs = {**self.tls_client_kwargs(client_cert=True), **kwargs}
        return redis.Redis(host=address[0], port=address[1], username=user.username, password=user.password,
                           socket_timeout=2, socket_connect_timeout=2, **kwargs)  # type: ignore[arg-type]

    def sentinel_client(self, process: Process, role: str = "admin") -> redis.Redis:
        user = self.sentinel_users[role]
        return redis.Redis(host=process.host, port=process.port, username=user.username, password=user.password,
                           socket_timeout=2, socket_connect_timeout=2, decode_responses=True,
                           **self.tls_client_kwargs(client_cert=True))  # type: ignore[arg-type]

    def client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for shardinel.ShardedSentinelClient with the app and discovery users."""
        return {
            "username": self.users["app"].username,
            "password": self.users["app"].password,
            "sentinel_username": self.sentinel_users["client"].username,
            "sentinel_password": self.sentinel_users["client"].password,
        }

    # waiting -----------------------------------------------------------------------------
    def sentinel_masters(self, shard_name: str) -> list[Optional[tuple[str, int]]]:
        """The master address each Sentinel reports for the shard (None if it cannot answer)."""
        answers: list[Optional[tuple[str, int]]] = []
        for sentinel in self.sentinels:
            if not sentinel.running:
                answers.append(None)
                continue
            client = self.sentinel_client(sentinel)
            try:
                addr = client.sentinel_get_master_addr_by_name(shard_name)
                answers.append((addr[0], int(addr[1])) if addr else None)
            except redis.RedisError:
                answers.append(None)
            finally:
                client.close()
        return answers

    def wait_for_master_agreement(self, shard_name: str, not_address: Optional[tuple[str, int]] = None,
                                  timeout: float = 30.0) -> tuple[str, int]:
        """Wait until all running Sentinels report the same master (other than not_address) and it says ROLE master."""
        def agreed() -> Optional[tuple[str, int]]:
            running = [a for a, s in zip(self.sentinel_masters(shard_name), self.sentinels) if s.running]
            if not running or running[0] is None or any(a != running[0] for a in running):
                return None
            if not_address is not None and running[0] == tuple(not_address):
                return None
            return running[0] if self.role_of(running[0]) == "master" else None
        return _wait_for(agreed, timeout, f"Sentinels to agree on a master for {shard_name}")

    def role_of(self, address: tuple[str, int]) -> Optional[str]:
        client = self.redis_client(address)
        try:
            role = client.execute_command("ROLE")
            return role[0].decode() if isinstance(role[0], bytes) else str(role[0])
        except redis.RedisError:
            return None
        finally:
            client.close()

    def wait_for_role(self, address: tuple[str, int], role: str, timeout: float = 30.0) -> None:
        _wait_for(lambda: self.role_of(address) == role or None, timeout, f"{address} to report ROLE {role}")

    def wait_for_replica_in_sync(self, address: tuple[str, int], timeout: float = 30.0) -> None:
        def in_sync() -> Optional[bool]:
            client = self.redis_client(address)
            try:
                info = client.info("replication")
            except redis.RedisError:
                return None
            finally:
                client.close()
            return (info.get("role") == "slave" and info.get("master_link_status") == "up") or None
        _wait_for(in_sync, timeout, f"{address} to be an in-sync replica")

    def wait_until_sentinels_ready(self, timeout: float = 30.0) -> None:
        """Every running Sentinel knows every shard, its replicas and the other running Sentinels."""
        others = sum(1 for s in self.sentinels if s.running) - 1

        def ready() -> Optional[bool]:
            for sentinel in self.sentinels:
                if not sentinel.running:
                    continue
                client = self.sentinel_client(sentinel)
                try:
                    for shard in self.shards:
                        state = client.sentinel_master(shard.name)
                        if state["num-other-sentinels"] < others or state["num-slaves"] < 1 or state["is_odown"]:
                            return None
                except redis.RedisError:
                    return None
                finally:
                    client.close()
            return True
        _wait_for(ready, timeout, "Sentinels to discover replicas and each other")

    def force_failover(self, shard_name: str) -> tuple[str, int]:
        """SENTINEL FAILOVER via the first running Sentinel; returns the master address it replaced."""
        old = self.wait_for_master_agreement(shard_name)
        sentinel = next(s for s in self.sentinels if s.running)
        client = self.sentinel_client(sentinel)
        try:
            client.sentinel_failover(shard_name)
        finally:
            client.close()
        return old

    def settle_after_failover(self, shard_name: str, old_master: tuple[str, int], timeout: float = 40.0) -> tuple[str, int]:
        """Wait for a new agreed master, the old master (if running) to become its in-sync replica, Sentinels ready."""
        new = self.wait_for_master_agreement(shard_name, not_address=old_master, timeout=timeout)
        if self.process_at(old_master).running:
            self.wait_for_role(old_master, "slave", timeout=timeout)
            self.wait_for_replica_in_sync(old_master, timeout=timeout)
        return new

    # lifecycle ---------------------------------------------------------------------------
    @classmethod
    def start(cls, directory: Path, shard_count: int = 2, sentinel_count: int = SENTINEL_COUNT, tls: bool = False,
              tls_auth_clients: str = "optional") -> "RedisTopology":
        directory.mkdir(parents=True, exist_ok=True)
        tls_files = write_tls_files(directory / "tls", tls_auth_clients) if tls else None
        users = {role: User(role, secrets.token_hex(12)) for role in REDIS_USER_RULES}
        sentinel_users = {"admin": User("sentinel-admin", secrets.token_hex(12)),
                          "client": User("sentinel-client", secrets.token_hex(12))}
        ports = iter(_free_ports(2 * shard_count + sentinel_count))
        shards = []
        for index in range(1, shard_count + 1):
            name = f"shard{index}"
            master = Process(f"{name}-master", next(ports), directory / f"{name}-master.conf", False)
            replica = Process(f"{name}-replica", next(ports), directory / f"{name}-replica.conf", False)
            shards.append(Shard(name, master, replica))
        sentinels = [Process(f"sentinel{i}", next(ports), directory / f"sentinel{i}.conf", True) for i in range(sentinel_count)]
        topology = cls(directory, shards, sentinels, users, sentinel_users, tls=tls_files)
        for shard in shards:
            topology.processes[shard.master.name] = shard.master
            topology.processes[shard.replica.name] = shard.replica
        for sentinel in sentinels:
            topology.processes[sentinel.name] = sentinel
        try:
            topology._write_configs()
            for shard in shards:
                for member in shard.members:
                    member.start()
            for shard in shards:
                for member in shard.members:
                    _wait_for(lambda m=member: topology.role_of(m.address) is not None or None, 15, f"{member.name} to answer")
                topology.wait_for_replica_in_sync(shard.replica.address)
            for sentinel in sentinels:
                sentinel.start()
            topology.wait_until_sentinels_ready()
        except BaseException:
            topology.stop()
            raise
        return topology

    def restart(self, process: Process) -> None:
        """Start a killed process again with its (possibly rewritten) config and wait until it answers."""
        process.start()
        if process.sentinel:
            _wait_for(lambda: _answers(self.sentinel_client(process)) or None, 15, f"{process.name} to answer")
        else:
            _wait_for(lambda: self.role_of(process.address) is not None or None, 15, f"{process.name} to answer")

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill(signal.SIGKILL)

    def add_shard(self, name: str, monitor: bool = True) -> Shard:
        """Start a new shard (master + replica) in the running topology and make every running Sentinel monitor it,
        with the same settings as the shards it started with; waits until the Sentinels see its replica and each other.
        With ``monitor=False`` only its processes start (no Sentinel knows it)."""
        if any(shard.name == name for shard in self.shards):
            raise ValueError(f"shard {name} exists")
        master_port, replica_port = _free_ports(2)
        master = Process(f"{name}-master", master_port, self.directory / f"{name}-master.conf", False)
        replica = Process(f"{name}-replica", replica_port, self.directory / f"{name}-replica.conf", False)
        shard = Shard(name, master, replica)
        self.shards.append(shard)
        self.processes[master.name], self.processes[replica.name] = master, replica
        self._write_shard_configs(shard)
        for member in shard.members:
            self.restart(member)
        self.wait_for_replica_in_sync(replica.address)
        if not monitor:
            return shard
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            client = self.sentinel_client(sentinel)
            try:
                (_monitor, _name, ip, port, quorum), *settings = self._monitor_settings(shard)
                client.sentinel_monitor(name, ip, int(port), int(quorum))
                for option, _name, value in settings:
                    client.sentinel_set(name, option, value)
            finally:
                client.close()
        self.wait_until_sentinels_ready()
        return shard

    def remove_shard(self, name: str) -> None:
        """SENTINEL REMOVE the shard on every running Sentinel, then kill its processes and forget it."""
        shard = self.shard(name)
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            client = self.sentinel_client(sentinel)
            try:
                client.sentinel_remove(name)
            finally:
                client.close()
        for member in shard.members:
            member.kill(signal.SIGKILL)
            del self.processes[member.name]
        self.shards.remove(shard)

    def _write_configs(self) -> None:
        for shard in self.shards:
            self._write_shard_configs(shard)
        sentinel_admin = self.sentinel_users["admin"]
        sentinel_acl = ["user default off"] + [
            self.sentinel_users[key].acl_line(SENTINEL_USER_RULES[self.sentinel_users[key].username]) for key in ("admin", "client")
        ]
        for sentinel in self.sentinels:
            lines = [
                f"bind {HOST}", *self._port_lines(sentinel.port), "daemonize no", f"dir {self.directory}",
                f"sentinel announce-ip {HOST}", f"sentinel sentinel-user {sentinel_admin.username}",
                f"sentinel sentinel-pass {sentinel_admin.password}",
            ] + sentinel_acl
            for shard in self.shards:
                lines += [f"sentinel {' '.join(words)}" for words in self._monitor_settings(shard)]
            _write_secret(sentinel.config, lines)

    def _write_shard_configs(self, shard: Shard) -> None:
        user_lines = ["user default off"] + [self.users[role].acl_line(rules) for role, rules in REDIS_USER_RULES.items()]
        replication = self.users["replication"]
        for member in shard.members:
            lines = [
                f"bind {HOST}", *self._port_lines(member.port), "daemonize no", f"dir {self.directory}",
                f"dbfilename {member.name}.rdb", 'save ""', "appendonly no", f"replica-announce-ip {HOST}",
                f"masteruser {replication.username}", f"masterauth {replication.password}",
                "repl-diskless-sync yes", "repl-diskless-sync-delay 0", "loglevel notice",
            ] + user_lines
            if member is shard.replica:
                lines.append(f"replicaof {HOST} {shard.master.port}")
            _write_secret(member.config, lines)

    def _monitor_settings(self, shard: Shard) -> list[tuple[str, ...]]:
        """The Sentinel settings of one shard, as config lines without "sentinel" (and as SENTINEL commands)."""
        sentinel_user = self.users["sentinel"]
        return [
            ("monitor", shard.name, HOST, str(shard.master.port), str(QUORUM)),
            ("auth-user", shard.name, sentinel_user.username),
            ("auth-pass", shard.name, sentinel_user.password),
            ("down-after-milliseconds", shard.name, str(DOWN_AFTER_MS)),
            ("failover-timeout", shard.name, str(FAILOVER_TIMEOUT_MS)),
            ("parallel-syncs", shard.name, "1"),
        ]

    def _port_lines(self, port: int) -> list[str]:
        """The plaintext port, or for a TLS topology the TLS port with the plaintext one closed."""
        if self.tls is None:
            return [f"port {port}"]
        return ["port 0", f"tls-port {port}", *self.tls.server_config()]


def write_tls_files(directory: Path, auth_clients: str = "optional") -> TlsFiles:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files (keys 0600) in directory."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # pylint: disable=import-outside-toplevel

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
                    extensions: list[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(signer, hashes.SHA256())

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        return cert_path, key_path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("shardinel test CA", ca_key, "shardinel test CA", ca_key,
                          [(x509.BasicConstraints(ca=True, path_length=0), True)])
    ca_path, _ca_key_path = write("ca", ca_cert, ca_key)
    leaf = [(x509.BasicConstraints(ca=False, path_length=None), True)]
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = certificate(HOST, server_key, "shardinel test CA", ca_key, leaf + [
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ])
    server_paths = write("server", server_cert, server_key)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = certificate("shardinel test client", client_key, "shardinel test CA", ca_key,
                              leaf + [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)])
    client_paths = write("client", client_cert, client_key)
    return TlsFiles(ca_path, *server_paths, *client_paths, auth_clients=auth_clients)


def install_start_helper(directory: Path) -> Path:
    """The redis_server role's start helper (ExecStartPre) installed in ``directory`` as on a data host: the script as
    ``redis-start-role``, next to it redis_wire.py and a package shardinel/ with a docstring-only __init__.py and the
    collection's addresses.py and sentinel_answers.py. Returns the script's path (run it as ``python3 <path>``)."""
    repo = Path(__file__).resolve().parents[2]
    module_utils = repo / "plugins" / "module_utils"
    package = directory / "shardinel"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(module_utils / "redis_wire.py", directory / "redis_wire.py")
    (package / "__init__.py").write_text('"""Sentinel answers and addresses for redis-start-role."""\n', encoding="utf-8")
    for name in ("addresses.py", "sentinel_answers.py"):
        shutil.copyfile(module_utils / "shardinel" / name, package / name)
    script = directory / "redis-start-role"
    shutil.copyfile(repo / "roles" / "redis_server" / "files" / "redis_start_role.py", script)
    return script


def running_topology(directory: Path, shard_count: int = 2, tls: bool = False) -> Iterator[RedisTopology]:
    """Generator for fixtures and benchmarks: yields a started topology and always stops it."""
    topology = RedisTopology.start(directory, shard_count, tls=tls)
    try:
        yield topology
    finally:
        topology.stop()


def _write_secret(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _unused in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
