"""A stand-in for systemd's Restart=always in module tests: restarts test processes that exit.

The redis_server role's units restart a killed instance after RestartSec (redis_server_restart_delay);
the plain processes of tests/unit/redis_topology.py have nobody to do that, so a kill drill's test
runs under ``Supervisor(topology, [process], restart_delay)``.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Test processes die with the thread that started them (PR_SET_PDEATHSIG), so restarts run on one
# thread that lives as long as the test session, not on a Supervisor's own thread.
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-process-starter")


class Supervisor:
    """Restarts each watched process ``restart_delay`` s after it exited, until the context ends."""

    def __init__(self, topology: Any, processes: list[Any], restart_delay: float = 1.0) -> None:
        self.topology = topology
        self.processes = processes
        self.restart_delay = restart_delay
        self.restarts: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-supervisor", daemon=True)

    def __enter__(self) -> "Supervisor":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        exited: dict[str, float] = {}
        while not self._stop.wait(0.1):
            for process in self.processes:
                if process.popen is None or process.popen.poll() is None:
                    continue
                since = exited.setdefault(process.name, time.monotonic())
                if time.monotonic() - since < self.restart_delay:
                    continue
                try:
                    _STARTER.submit(self.topology.restart, process).result()
                    self.restarts.append(process.name)
                except Exception as error:  # pylint: disable=broad-exception-caught
                    self.errors.append(f"{process.name}: {error}")
                del exited[process.name]
