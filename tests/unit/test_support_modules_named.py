"""Every module under tests/ that pytest does not collect says so by its name: support_*.py."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
COLLECTED_OR_PACKAGE = ("conftest.py", "__init__.py")


def test_a_module_under_tests_is_a_test_a_conftest_or_a_support_module() -> None:
    misnamed = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name not in COLLECTED_OR_PACKAGE and not path.name.startswith(("test_", "support_"))
    )
    assert not misnamed, f"name these support_*.py (or test_*.py): {misnamed}"
