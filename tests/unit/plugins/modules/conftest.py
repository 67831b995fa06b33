"""Fixtures for the module tests; the topologies come from tests/unit/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from module_runner import ModuleRunner, module_runner  # pylint: disable=import-error


@pytest.fixture()
def run_module(tmp_path: Path) -> ModuleRunner:
    """run_module("topology_info", args, check_mode=False) -> ModuleResult, running python -m <module> args.json."""
    return module_runner(tmp_path)
