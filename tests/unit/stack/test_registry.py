"""One registry of the services, read by the CLI, the stack and the relays (no lookup by name)."""

from __future__ import annotations

import pytest

from contracts.topics import SERVICE_NAMES
from services.common.settings import SERVICES
from services.registry import SPECS, spec_of
from services.stack.processes import service_processes


def test_the_registry_holds_each_service_once_in_the_order_of_its_topics() -> None:
    assert tuple(SPECS) == SERVICE_NAMES == SERVICES
    assert all(spec.name == name for name, spec in SPECS.items())


def test_each_spec_names_the_domain_that_names_its_events() -> None:
    for name, spec in SPECS.items():
        assert spec.domain_modules == (f"services.{name}.domain",)
        assert spec.application.name == name


def test_an_unknown_service_is_refused_with_the_names_there_are() -> None:
    with pytest.raises(LookupError, match="plan, consent, referral"):
        spec_of("billing")


def test_the_stack_starts_what_each_spec_declares() -> None:
    names = {process.name for process in service_processes({})}
    for name, spec in SPECS.items():
        assert {f"{name}-api", f"{name}-relay"} <= names
        assert (f"{name}-consumer" in names) == (spec.reactions is not None)
        assert (f"{name}-projections" in names) == bool(spec.projections)
