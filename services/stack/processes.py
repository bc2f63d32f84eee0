"""The service processes `careledger stack up` starts: only those whose code exists today."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass

from services.stack.state import free_port


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    module: str  # started only when this module can be imported
    argv: tuple[str, ...]
    port: int | None = None


SERVICES = ("plan", "consent", "referral")


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def service_processes(ports: Mapping[str, int] | None = None) -> list[ProcessSpec]:
    """APIs, relays, consumers and projections of the services that exist.

    An API keeps the port it had (`ports`, from the last `up`), so that the URLs other services
    were started with stay true when it alone is restarted; a new API gets a free port.
    """
    ports = ports or {}
    specs: list[ProcessSpec] = []
    argv: tuple[str, ...]
    for service in SERVICES:
        root = f"services.{service}"
        if not _exists(f"{root}.bootstrap"):
            continue  # the composition root `careledger serve|consume` loads
        if _exists(f"{root}.api"):
            port = ports.get(f"{service}-api") or free_port()
            argv = ("careledger", "serve", service, "--port", str(port))
            specs.append(ProcessSpec(f"{service}-api", f"{root}.api", argv, port))
        if _exists(f"{root}.application") and _exists("services.common.relay.publisher"):
            argv = ("careledger", "relay", service)
            specs.append(ProcessSpec(f"{service}-relay", "services.common.relay.publisher", argv))
        if _exists(f"{root}.reactions"):
            argv = ("careledger", "consume", service)
            specs.append(ProcessSpec(f"{service}-consumer", f"{root}.reactions", argv))
        if _exists(f"{root}.projections"):
            argv = ("careledger", "projections", "run", service)
            specs.append(ProcessSpec(f"{service}-projections", f"{root}.projections", argv))
    return specs
