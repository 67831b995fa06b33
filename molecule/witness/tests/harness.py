"""Access to the drill harness's modules (molecule/witness/drills), which the tests share."""

import importlib
import sys
from pathlib import Path

DRILLS = Path(__file__).resolve().parent.parent / "drills"


def drills_module(name):
    if str(DRILLS) not in sys.path:
        sys.path.insert(0, str(DRILLS))
    return importlib.import_module(name)
