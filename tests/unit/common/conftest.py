"""Fixtures of the kit's in-memory tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.schemas import SchemaRegistry
from tests.unit.common.support_consumer import schema_registry


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    """The consumer tests' schema registry (PingSent v1)."""
    return schema_registry(tmp_path)
