"""The fields a contract (JSON Schema) describes, by path: for version checks and privacy scans.

A path names a field as `contracts.privacy` does: `rationale`, `check_ins[].triggers`,
`recipient.name`; a recursive `$ref` (provisions within provisions) is walked once. A newer
version lists what it leaves out of its predecessor, for privacy, under `x-withdrawn`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.privacy import canonical, parse_path

WITHDRAWN = "x-withdrawn"
# Private fields a version introduces: the stored event has them, no record ever carried them.
STORED_ONLY = "x-stored-only"
_CONSTRAINED = ("enum", "const", "format", "pattern")
_IDENTIFIER = "an id (client, clinician, practice, record or aggregate), never a name"
# Strings without enum, format or pattern that are not free text, by field name, and what they
# hold instead. Any other such string is free text: it must be declared private.
NOT_FREE_TEXT: dict[str, str] = {
    "id": _IDENTIFIER,
    "tenant": _IDENTIFIER,
    "partners": _IDENTIFIER,
    "attendees": _IDENTIFIER,
    "decided_by": _IDENTIFIER,
    "disclosed_by": _IDENTIFIER,
    "reviewed_by": _IDENTIFIER,
    "recorded_by": _IDENTIFIER,
    "requested_by": _IDENTIFIER,
    "about_partner_of": _IDENTIFIER,
    "clients": _IDENTIFIER,
    "sub": "a token subject: the caller's id, never a name",
    "on_behalf_of": _IDENTIFIER,
    "security_labels": "HL7 HCS codes",
    "categories": "data-category codes",
    "code": "an obligation code",
    "rule": "the name of a consent rule",
    "basis_rule": "the name of a consent rule",
    "severity": "an instrument's severity band",
    "outcome": "a referral outcome code (as ReferralCompleted's enum)",
    "trace": "the steps of a consent decision, written by the policy from ids and codes",
    "missing": "what consent a blocked send lacks, written by the service from ids and codes",
    "text": "the fixed 42 CFR Part 2 redisclosure notice",
}


@dataclass(frozen=True)
class Field:
    """One field of a schema: its path, its (resolved) schema and whether it is required."""

    path: str
    schema: Mapping[str, Any]
    required: bool

    @property
    def types(self) -> frozenset[str]:
        kind = self.schema.get("type")
        return frozenset([kind] if isinstance(kind, str) else kind or ())


def fields(document: Mapping[str, Any]) -> dict[str, Field]:
    """Every field of a schema document by path, parents before children."""
    found: dict[str, Field] = {}

    def resolve(node: Any, seen: frozenset[str]) -> tuple[Mapping[str, Any] | None, frozenset[str]]:
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            return (None, seen) if name in seen else (document["$defs"][name], seen | {name})
        return (node if isinstance(node, Mapping) else None), seen

    def walk(node: Mapping[str, Any], prefix: str, seen: frozenset[str]) -> None:
        required = set(node.get("required", ()))
        for name, child in (node.get("properties") or {}).items():
            resolved, inner = resolve(child, seen)
            if resolved is None:
                continue
            path = prefix + name
            found[path] = Field(path, resolved, name in required)
            walk(resolved, path + ".", inner)
            items, under = resolve(resolved.get("items"), inner)
            if items is not None:
                walk(items, path + "[].", under)

    walk(document, "", frozenset())
    return found


def _is_free_string(node: Mapping[str, Any] | None) -> bool:
    if node is None:
        return False
    kind = node.get("type")
    types = [kind] if isinstance(kind, str) else kind or []
    return "string" in types and not any(key in node for key in _CONSTRAINED)


def free_text_paths(document: Mapping[str, Any]) -> list[str]:
    """Fields that may hold free text: unconstrained strings (or lists of them), less ids/codes."""
    found = []
    for path, info in fields(document).items():
        items = info.schema.get("items")
        if not (_is_free_string(info.schema) or _is_free_string(items)):
            continue
        if path.rsplit(".", 1)[-1].replace("[]", "") in NOT_FREE_TEXT or _is_id(path):
            continue
        found.append(path)
    return found


def _is_id(path: str) -> bool:
    return path.endswith(("_id", "_ids"))


def covered(path: str, withdrawn: Iterable[str]) -> bool:
    """Whether `path` is a withdrawn field or inside one."""
    names = [canonical(w) for w in withdrawn]
    return any(path == w or path.startswith((w + ".", w + "[].")) for w in names)


def withdrawn_version(
    older: Mapping[str, Any],
    *,
    version: int,
    private: Iterable[str],
    coded: Mapping[str, Iterable[str]],
) -> dict[str, Any]:
    """The next version of a contract: `older` without the private fields; coded fields
    optional and limited to their codes. For `python -m services.withdraw_cli`."""
    newer = copy.deepcopy(dict(older))
    for key in ("$id", "title"):
        if isinstance(newer.get(key), str):
            newer[key] = newer[key].replace(".v" + str(version - 1), ".v" + str(version))
    for path in private:
        parent, name = _parent(newer, path)
        parent.get("properties", {}).pop(name, None)
        _not_required(parent, name)
    for path, codes in coded.items():
        parent, name = _parent(newer, path)
        node = parent["properties"][name]
        node["enum"] = sorted(codes)
        node["description"] = "a known code; left out when the value is not one (see the API)"
        _not_required(parent, name)
    newer[WITHDRAWN] = sorted({canonical(p) for p in (*private, *coded)})
    newer["description"] = (
        f"{newer.get('description', '').rstrip('.')}. Without the free text and contact details "
        f"of v{version - 1} (x-withdrawn): the event store keeps them; read them through the API."
    ).lstrip(". ")
    return newer


def _not_required(node: dict[str, Any], name: str) -> None:
    if name in node.get("required", ()):
        node["required"] = [r for r in node["required"] if r != name]


def _parent(document: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    node: dict[str, Any] = document
    steps = parse_path(path)
    for name, kind in steps[:-1]:
        node = _deref(document, node["properties"][name])
        if kind:
            node = _deref(document, node["items"])
    return node, steps[-1][0]


def _deref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = document["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return node
