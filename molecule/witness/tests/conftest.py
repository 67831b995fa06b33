"""The drill report that side_effect wrote, printed once as tables (pytest -s shows them)."""

import json
import os
from pathlib import Path

import pytest

from harness import drills_module


@pytest.fixture(scope="session")
def report():
    path = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ".")) / "witness-drills.json"
    assert path.exists(), f"{path} is missing: side_effect (drills/run_drills.py) did not run"
    data = json.loads(path.read_text(encoding="utf-8"))
    print("\n" + drills_module("table").format_report(data), flush=True)
    return data


@pytest.fixture(scope="session")
def drills(report):
    return {d["name"]: d for d in report["drills"]}


@pytest.fixture(scope="session")
def settings(report):
    return report["settings"]
