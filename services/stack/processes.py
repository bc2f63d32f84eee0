"""The service processes `careledger stack up` starts (and deploy/k8s runs): from the registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.topics import SERVICE_NAMES
from services.stack.state import free_port

SERVICES = SERVICE_NAMES  # the services, in the order their processes start


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    port: int | None = None


def service_processes(ports: Mapping[str, int] | None = None) -> list[ProcessSpec]:
    """Each registered service's API and relay, and its consumer and read models if it has them.

    An API keeps the port it had (`ports`, from the last `up`), so that the URLs other services
    were started with stay true when it alone is restarted; a new API gets a free port.
    """
    from services.registry import SPECS

    ports = ports or {}
    specs: list[ProcessSpec] = []
    for service, spec in SPECS.items():
        port = ports.get(f"{service}-api") or free_port()
        specs.append(
            ProcessSpec(
                f"{service}-api", ("careledger", "serve", service, "--port", str(port)), port
            )
        )
        specs.append(ProcessSpec(f"{service}-relay", ("careledger", "relay", service)))
        if spec.reactions is not None:
            specs.append(ProcessSpec(f"{service}-consumer", ("careledger", "consume", service)))
        if spec.projections:
            argv = ("careledger", "projections", "run", service)
            specs.append(ProcessSpec(f"{service}-projections", argv))
    return specs
