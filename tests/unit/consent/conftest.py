"""Fixtures of the consent unit tests: an in-memory application with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.common.context import CommandContext
from services.common.store.application import build_application
from services.consent.application import ConsentApplication
from tests.unit.consent.support_builders import NOW, context


@pytest.fixture
def ctx() -> CommandContext:
    return context()


@pytest.fixture
def app() -> Iterator[ConsentApplication]:
    application: ConsentApplication = build_application(ConsentApplication, None)
    application.clock = lambda: NOW  # type: ignore[method-assign]
    yield application
    application.close()
