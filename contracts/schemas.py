"""The event contracts: one JSON Schema 2020-12 file per event type and version.

Files live at `<root>/<service>/<EventName>.v<N>.json` (root: `contracts/schemas`). A registry
loads each file once and keeps its compiled validator; tests and tools may point a registry at
another root (a temporary directory of test-only schemas, for example).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator

from contracts.fields import WITHDRAWN, covered, fields
from contracts.privacy import canonical

try:  # Rust validator: ~100x faster on the relay's hot path; same 2020-12 semantics
    import jsonschema_rs
except ImportError:  # pragma: no cover - optional accelerator
    jsonschema_rs = None  # type: ignore[assignment]

SCHEMA_ROOT = Path(__file__).resolve().parent / "schemas"
# The contracts are published as files; `ce_dataschema` names a file by this base URI.
SCHEMA_BASE_URI = "https://careledger.example/contracts/schemas/"
_FILE_NAME = re.compile(r"^(?P<event>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)\.json$")


class ContractViolation(ValueError):
    """A record body does not validate against its contract (or has no contract)."""


class ContractId(NamedTuple):
    """One event type and version: ("plan", "FormatShifted", 1)."""

    service: str
    event: str
    version: int

    @property
    def ce_type(self) -> str:
        return f"careledger.{self.service}.{self.event}.v{self.version}"

    @property
    def relative_path(self) -> str:
        return f"{self.service}/{self.event}.v{self.version}.json"

    @classmethod
    def from_ce_type(cls, ce_type: str) -> ContractId:
        """Parse `careledger.plan.FormatShifted.v1`."""
        parts = ce_type.split(".")
        if len(parts) != 4 or parts[0] != "careledger" or not re.fullmatch(r"v\d+", parts[3]):
            raise ContractViolation(f"not a careledger event type: {ce_type!r}")
        return cls(parts[1], parts[2], int(parts[3][1:]))


class SchemaRegistry:
    """Schema files under one root: paths, loading, cached validators and listing."""

    def __init__(self, root: Path = SCHEMA_ROOT) -> None:
        self.root = root
        self._validators: dict[ContractId, Draft202012Validator] = {}
        self._fast: dict[ContractId, Any] = {}

    def path(self, contract: ContractId) -> Path:
        return self.root / contract.relative_path

    def dataschema_uri(self, contract: ContractId) -> str:
        return SCHEMA_BASE_URI + contract.relative_path

    def load(self, contract: ContractId) -> dict[str, Any]:
        """The schema document of `contract`; ContractViolation if there is no such file."""
        path = self.path(contract)
        try:
            document: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise ContractViolation(
                f"no contract for {contract.ce_type}: expected {path}"
            ) from None
        return document

    def validator(self, contract: ContractId) -> Draft202012Validator:
        cached = self._validators.get(contract)
        if cached is None:
            schema = self.load(contract)
            Draft202012Validator.check_schema(schema)
            cached = self._validators[contract] = Draft202012Validator(schema)
        return cached

    def is_valid(self, contract: ContractId, body: Mapping[str, Any]) -> bool:
        """Whether `body` fits; with `jsonschema-rs` installed, checked by it (fast path)."""
        if jsonschema_rs is None:
            return bool(self.validator(contract).is_valid(body))
        fast = self._fast.get(contract)
        if fast is None:
            self.validator(contract)  # checks the schema itself, once
            fast = self._fast[contract] = jsonschema_rs.Draft202012Validator(self.load(contract))
        return bool(fast.is_valid(body))

    def validate(self, contract: ContractId, body: Mapping[str, Any]) -> None:
        """Raise ContractViolation naming each failing field path and rule.

        The message names paths and rules only, never values: a value may be PHI.
        """
        if self.is_valid(contract, body):
            return
        errors = sorted(self.validator(contract).iter_errors(body), key=lambda e: list(e.path))
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e.path) or '(body)'}: fails {e.validator!r}"
            + (f" {sorted(e.validator_value)}" if e.validator == "required" else "")
            for e in errors
        )  # empty only if the two validators disagree: refuse all the same
        raise ContractViolation(f"{contract.ce_type} does not match its contract: {problems}")

    def contracts(self) -> list[ContractId]:
        """Every (service, event, version) that has a schema file, sorted."""
        found = []
        for path in sorted(self.root.glob("*/*.json")):
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise ContractViolation(f"{path}: schema files are named <EventName>.v<N>.json")
            found.append(ContractId(path.parent.name, match["event"], int(match["version"])))
        return sorted(found)

    def files(self) -> list[Path]:
        return [self.path(c) for c in self.contracts()]


def breaking_changes(older: Mapping[str, Any], newer: Mapping[str, Any]) -> list[str]:
    """What `newer` breaks for readers of `older`: a field removed, a required field made
    optional, a field retyped (at any depth). A field `newer` lists under `x-withdrawn` (a
    private field, kept in the event store and read through the API) may be removed or made
    optional; nothing else may. An empty list means `newer` is a compatible next version."""
    withdrawn = [str(p) for p in newer.get(WITHDRAWN, ())]
    old, new = fields(older), fields(newer)
    problems = [
        f"{path!r} is declared withdrawn but {older.get('title', 'the older version')} has no "
        "such field"
        for path in map(canonical, withdrawn)
        if path not in old
    ]
    gone: list[str] = []
    for path, was in old.items():
        if covered(path, withdrawn) or any(path.startswith((g + ".", g + "[].")) for g in gone):
            continue
        kind = "required field" if was.required else "field"
        now = new.get(path)
        if now is None:
            gone.append(path)
            problems.append(
                f"{kind} {path!r} was removed"
                + ("" if was.required else ": only fields declared private (x-withdrawn) may be")
            )
        elif was.required and not now.required:
            problems.append(f"required field {path!r} became optional")
        elif was.schema.get("type") != now.schema.get("type"):
            problems.append(
                f"{kind} {path!r} changed type from "
                f"{was.schema.get('type')!r} to {now.schema.get('type')!r}"
            )
    return problems


@lru_cache(maxsize=1)
def default_registry() -> SchemaRegistry:
    """The registry of the released contracts under `contracts/schemas`."""
    return SchemaRegistry()


def schema_path(service: str, event: str, version: int) -> Path:
    return default_registry().path(ContractId(service, event, version))


def load_schema(service: str, event: str, version: int) -> dict[str, Any]:
    return default_registry().load(ContractId(service, event, version))


def validate(service: str, event: str, version: int, body: Mapping[str, Any]) -> None:
    default_registry().validate(ContractId(service, event, version), body)


def list_event_types() -> list[ContractId]:
    return default_registry().contracts()
