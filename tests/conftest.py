"""Shared pytest setup; the real stack fixture lives in tests/integration/conftest.py.

`make test` runs pytest with two xdist workers (`-n 2 --dist loadgroup`). Every test that needs
the real stack (PostgreSQL, Kafka, service processes) is in one group, so those tests run one
after another on one worker, in file order, as they do without xdist: they start processes on
shared ports and measure faults, and must not overlap each other. The in-memory tests (unit,
fuzz) are grouped by file, so a module's fixtures are built once, and fill the other worker
meanwhile. Without `-n` the groups change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

IN_MEMORY = ("unit", "fuzz")
STACK_GROUP = "stack"
TESTS = Path(__file__).parent


def xdist_group(path: Path) -> str:
    """The group a test file runs in: its own file if in memory, else the one stack group."""
    relative = path.relative_to(TESTS)
    return relative.as_posix() if relative.parts[0] in IN_MEMORY else STACK_GROUP


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group(item.path)))
