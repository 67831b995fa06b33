"""The faults: podman pause/kill/start of a test host, unit control inside it, and a loopback partition."""

from __future__ import annotations

import contextlib
import subprocess
from typing import Iterator

from scenario import IPS

CHAIN = "SHARDINEL-WITNESS"


def run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def podman(*args: str) -> str:
    return run("podman", *args)


def systemctl(host: str, *args: str) -> str:
    return podman("exec", host, "systemctl", *args)


def container_state(host: str) -> str:
    return podman("inspect", "--format", "{{.State.Status}}", host).strip()


def recover(host: str) -> None:
    """Leave the host running whatever a drill did to it."""
    state = container_state(host)
    if state == "paused":
        podman("unpause", host)
    elif state in ("exited", "stopped", "created"):
        podman("start", host)


def _iptables(*args: str, check: bool = True) -> None:
    result = subprocess.run(("iptables", "-w", *args), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"iptables {' '.join(args)} failed: {result.stderr.strip()}")


def heal() -> None:
    """Remove the partition chain and its jump, if present (safe to call any time)."""
    _iptables("-D", "INPUT", "-i", "lo", "-j", CHAIN, check=False)
    _iptables("-F", CHAIN, check=False)
    _iptables("-X", CHAIN, check=False)


@contextlib.contextmanager
def partition(isolated: str) -> Iterator[None]:
    """Drop loopback traffic between the isolated host's address and every other host's address, both ways.

    The processes bind their source address to their host's address (bind-source-addr), so this cuts
    replication and Sentinel traffic; the controller connects from 127.0.0.1 and still reaches everyone.
    """
    heal()
    _iptables("-N", CHAIN)
    try:
        for host, ip in IPS.items():
            if host != isolated:
                _iptables("-A", CHAIN, "-s", IPS[isolated], "-d", ip, "-j", "DROP")
                _iptables("-A", CHAIN, "-s", ip, "-d", IPS[isolated], "-j", "DROP")
        _iptables("-I", "INPUT", "-i", "lo", "-j", CHAIN)
        yield
    finally:
        heal()
