"""Application traffic for tests that must see no failed command: SET then GET through one client, in a thread."""

from __future__ import annotations

import threading
import time


class CommandTraffic:
    """Writes and reads back keys "<prefix>:<n>" until stopped. Every exception, or a GET that does not find the key
    just written, is a failure; ``commands`` counts the commands that succeeded."""

    def __init__(self, client: object, prefix: str, keys: int = 500, pause: float = 0.002) -> None:
        self.client, self.prefix, self.keys, self.pause = client, prefix, keys, pause
        self.commands = 0
        self.failures: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        index = 0
        while not self._stopping.is_set():
            key = f"{self.prefix}:{index % self.keys}"
            try:
                self.client.set(key, index)  # type: ignore[attr-defined]
                if self.client.get(key) is None:  # type: ignore[attr-defined]
                    raise AssertionError(f"GET {key} found nothing right after SET")
                self.commands += 2
            except Exception as error:  # pylint: disable=broad-except
                self.failures.append(repr(error))
            index += 1
            time.sleep(self.pause)

    def start(self) -> "CommandTraffic":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> "CommandTraffic":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
