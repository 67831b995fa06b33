"""The Sentinel Pub/Sub events the client follows, and how to read them.

Order seen from the leader Sentinel on Redis 7.0.15 during SENTINEL FAILOVER (times from the
command): +elected-leader (0.07 s), +selected-slave and +failover-state-send-slaveof-noone
(0.13 s), +failover-state-wait-promotion right after REPLICAOF NO ONE is sent (0.23 s),
+promoted-slave (1.1 s, when Sentinel's next INFO sees the new role), +failover-end and
+switch-master (1.18 s). Only the leader publishes the failover-state events; every Sentinel
publishes +switch-master. A failover that the leader started and gives up ends with
-failover-abort-no-good-slave or -failover-abort-slave-timeout (-failover-abort-not-elected
comes only from a Sentinel that never became leader, so it never started a pause here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .addresses import Address

SWITCH_MASTER = "+switch-master"
FAILOVER_STARTS = ("+elected-leader", "+failover-state-send-slaveof-noone")
FAILOVER_ABORTS = ("-failover-abort-no-good-slave", "-failover-abort-slave-timeout")
CHANNELS = (SWITCH_MASTER,) + FAILOVER_STARTS + FAILOVER_ABORTS

SWITCH = "switch"
START = "start"
ABORT = "abort"
_KINDS = dict([(SWITCH_MASTER, SWITCH)] + [(c, START) for c in FAILOVER_STARTS] + [(c, ABORT) for c in FAILOVER_ABORTS])


@dataclass(frozen=True)
class FailoverEvent:
    """kind is SWITCH (address = the new master), START or ABORT (address = the master being replaced)."""

    kind: str
    shard: str
    address: Address


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def parse_event(channel: Any, data: Any) -> Optional[FailoverEvent]:
    """The event in one Pub/Sub message, or None for anything else.

    +switch-master data: "<name> <old ip> <old port> <new ip> <new port>". The others use
    Sentinel's instance format: "master <name> <ip> <port>" or
    "slave <ip:port> <ip> <port> @ <master name> <master ip> <master port>".
    """
    kind = _KINDS.get(_text(channel))
    parts = _text(data).split()
    try:
        if kind == SWITCH and len(parts) == 5:
            return FailoverEvent(kind, parts[0], (parts[3], int(parts[4])))
        if kind is not None and "@" in parts:
            at = parts.index("@")
            return FailoverEvent(kind, parts[at + 1], (parts[at + 2], int(parts[at + 3])))
        if kind is not None and len(parts) >= 4 and parts[0] == "master":
            return FailoverEvent(kind, parts[1], (parts[2], int(parts[3])))
    except (IndexError, ValueError):
        return None
    return None
