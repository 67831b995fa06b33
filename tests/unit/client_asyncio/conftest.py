"""The asyncio client's tests: real processes from tests/unit/conftest.py's topologies, no event-loop plugin.

Each test is a plain function that runs its coroutine with ``run()`` (asyncio.run with a time limit); helpers that
block (the topology's failovers and waits) run in a thread with asyncio.to_thread, so that the client's tasks and
the writers keep running meanwhile. failover_writer (tests/unit/client) is importable here for its WriterReport.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))
