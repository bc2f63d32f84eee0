"""Write the next contract version of events that declare private fields.

    python -m services.withdraw_cli plan FormatShifted [more events...]

For each event, reads the class's `@published(private=..., coded=..., version=N)` declaration
and writes `contracts/schemas/<service>/<Event>.vN.json` from version N-1: the private fields
removed, the coded ones optional and limited to their codes, and `x-withdrawn` listing them.
It refuses to overwrite a file. Review the file, then release it with
`python -m contracts.lock --update` and regenerate `contracts/asyncapi.yaml`.
"""

from __future__ import annotations

import importlib
import json

import typer

from contracts.fields import withdrawn_version
from contracts.schemas import ContractId, default_registry


def write_next_version(service: str, event: str) -> str:
    """Write the declared version of one event's contract; returns its relative path."""
    from contracts.naming import publication_of
    from services.common.events import named_event_classes

    importlib.import_module(f"services.{service}.domain")
    cls = named_event_classes(service).get(f"careledger.{service}.{event}")
    if cls is None:
        raise ValueError(f"no event {event!r} in services.{service}.domain")
    publication = publication_of(cls)
    if not publication.version or not publication.withdrawn:
        raise ValueError(f"{event} declares no private fields and no new version")
    registry = default_registry()
    target = ContractId(service, event, publication.version)
    if registry.path(target).exists():
        raise ValueError(f"{target.relative_path} exists: a contract file is never rewritten")
    older = registry.load(target._replace(version=publication.version - 1))
    document = withdrawn_version(
        older, version=target.version, private=publication.private, coded=publication.coded
    )
    registry.path(target).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return target.relative_path


def main(service: str, events: list[str]) -> None:
    """Write the next version of each event's contract from its declaration."""
    for event in events:
        try:
            typer.echo(f"wrote contracts/schemas/{write_next_version(service, event)}")
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None


if __name__ == "__main__":
    typer.run(main)
