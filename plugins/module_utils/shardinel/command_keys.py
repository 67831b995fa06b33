"""Which arguments of a command are keys, and which commands write, from the server's COMMAND table.

Fixed positions (first, last, step) are read from COMMAND once; commands with movable keys use
their numkeys argument (EVAL, FCALL families) or the server's COMMAND GETKEYS reply. No I/O here.
Writes are the commands and subcommands flagged ``write``, plus SCRIPT_COMMANDS (a script may write).
SORT's BY and GET patterns name keys that COMMAND does not report: sort_pattern_keys reads them.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from .slots import key_bytes

Spec = tuple[int, int, int, bool]
NUMKEYS_COMMANDS = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})
SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "fcall"})


def command_words(args: Sequence[Any]) -> list[Any]:
    """redis-py passes some commands as one "CONFIG GET"-style first argument; split it as the wire does."""
    first = args[0]
    if isinstance(first, bytes):
        first = first.decode("utf-8")
    return [*str(first).split(), *args[1:]]


def sort_pattern_keys(words: Sequence[Any]) -> tuple[list[bytes], list[Any]]:
    """SORT/SORT_RO's BY and GET patterns: (one key on the shard of each pattern's keys, the patterns whose keys may be anywhere).

    A pattern names keys only if it holds a '*' (BY without one just skips sorting, GET # is the element
    itself); its key part ends at a '->field' after the '*'. The element replaces the '*', so the keys stay
    on one slot only if a non-empty {hash tag} closes before the '*'; that key part then stands for them all.
    """
    keys: list[bytes] = []
    unroutable: list[Any] = []
    index = 2
    while index < len(words):
        option = _text(words[index]).upper()
        if option in ("BY", "GET") and index + 1 < len(words):
            pattern = words[index + 1]
            raw = key_bytes(pattern)
            star = raw.find(b"*")
            if star != -1:
                arrow = raw.find(b"->", star + 1)
                key_part = raw[:arrow] if arrow != -1 and arrow + 2 < len(raw) else raw
                opening = key_part.find(b"{")
                closing = key_part.find(b"}", opening + 1) if opening != -1 else -1
                if opening != -1 and opening + 1 < closing < star:
                    keys.append(key_part)
                else:
                    unroutable.append(pattern)
            index += 2
        elif option == "LIMIT":
            index += 3
        else:
            index += 2 if option == "STORE" else 1
    return keys, unroutable


class CommandKeys:
    """The key positions and write flags of every command, from redis-py's parsed COMMAND reply (``load``).

    A command with movable keys is told by ``movable``: its keys come from the server (COMMAND GETKEYS), which
    command_steps asks for and passes to ``keys`` as ``server_keys``.
    """

    def __init__(self) -> None:
        self._specs: Optional[dict[str, Spec]] = None
        self._writes: frozenset[str] = frozenset()

    @property
    def loaded(self) -> bool:
        return self._specs is not None

    def _spec(self, words: Sequence[Any]) -> Optional[Spec]:
        specs = self._specs if self._specs is not None else {}
        name = str(words[0]).lower()
        spec = specs.get(name)
        if spec is not None and spec[0] == 0 and not spec[3] and len(words) > 1:
            spec = specs.get(f"{name}|{str(words[1]).lower()}", spec)
        return spec

    def movable(self, args: Sequence[Any]) -> bool:
        """True if the server must say which arguments are keys (COMMAND GETKEYS)."""
        words = command_words(args)
        if str(words[0]).upper() in NUMKEYS_COMMANDS:
            return False
        spec = self._spec(words)
        return spec is not None and spec[3]

    def keys(self, args: Sequence[Any], server_keys: Optional[Sequence[Any]] = None) -> list[Any]:
        words = command_words(args)
        if str(words[0]).upper() in NUMKEYS_COMMANDS:
            numkeys = int(words[2])
            return list(words[3:3 + numkeys])
        spec = self._spec(words)
        if spec is None:
            return []
        first, last, step, movable = spec
        if movable:
            if server_keys is None:
                raise ValueError(f"{words[0]} has movable keys: pass the server's COMMAND GETKEYS reply")
            return list(server_keys)
        if first == 0:
            return []
        stop = len(words) if last < 0 else last + 1
        if last < -1:
            stop = len(words) + last + 1
        return list(words[first:stop:step])

    def known(self, args: Sequence[Any]) -> bool:
        """True if the server's COMMAND table has the command (a module's commands only where it is loaded)."""
        return str(command_words(args)[0]).lower() in (self._specs or {})

    def is_write(self, args: Sequence[Any]) -> bool:
        """True for a command (or container subcommand, such as XGROUP CREATE) that may write."""
        words = command_words(args)
        name = _text(words[0]).lower()
        if name in self._writes:
            return True
        return len(words) > 1 and f"{name}|{_text(words[1]).lower()}" in self._writes

    def write_commands(self) -> frozenset[str]:
        """Upper-case names of the top-level commands that may write (empty until the table is loaded)."""
        return frozenset(name.upper() for name in self._writes if "|" not in name)

    def single_key_commands(self) -> frozenset[str]:
        """Upper-case names of commands whose only key is argument 1 (empty until the table is loaded)."""
        if self._specs is None:
            return frozenset()
        return frozenset(name.upper() for name, spec in self._specs.items() if spec == (1, 1, 1, False) and "|" not in name)

    def load(self, table: dict[str, Any]) -> None:
        """Read redis-py's parsed COMMAND reply (RESP2 or RESP3)."""
        specs: dict[str, Spec] = {}
        writes = set(SCRIPT_COMMANDS)
        for name, info in table.items():
            flags = [_text(f) for f in info.get("flags", [])]
            specs[name] = (int(info["first_key_pos"]), int(info["last_key_pos"]), int(info["step_count"]),
                           "movablekeys" in flags)
            if "write" in flags:
                writes.add(name)
            for sub in info.get("subcommands", []):
                sub_name = _text(sub[0]).lower()
                sub_flags = [_text(f) for f in sub[2]]
                specs[sub_name] = (int(sub[3]), int(sub[4]), int(sub[5]), "movablekeys" in sub_flags)
                if "write" in sub_flags:
                    writes.add(sub_name)
        self._writes = frozenset(writes)
        self._specs = specs


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
