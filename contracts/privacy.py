"""What a Kafka record may carry: its security labels, and the stored fields kept off the topic.

Every event class declares a `Publication` (services/common/events.py `@published`): the labels
it always carries (at least the confidentiality code N or R), the fields of the stored event that
are private (free text, contact details: kept in the event store, read through the API, never
put on a topic), fields that are published only when they hold a known code, and the contract
version its record has. The relay applies it in `contracts/envelope.py::build_record`.
See contracts/envelope.md ("Labels" and "What stays off the topic").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# HL7 Healthcare Privacy and Security Classification codes this system uses, and their meaning.
LABELS: dict[str, str] = {
    "N": "confidentiality normal: health information handled as ordinary PHI",
    "R": "confidentiality restricted: sensitive information, shown only to those who need it",
    "BH": "behavioural health information (counselling and therapy of the practice)",
    "PSY": "psychiatry disorder information (depression and anxiety screens, risk, symptoms)",
    "PSYTHPN": "psychotherapy note (what a clinician wrote of a session)",
    "ETH": "substance abuse information",
    "SDV": "sexual assault, abuse or domestic violence information",
    "HIV": "HIV/AIDS information",
    "42CFRPart2": "42 CFR Part 2: a substance use disorder program's record",
    "NORDSCLCD": "no redisclosure without the patient's consent",
}
CONFIDENTIALITY = frozenset({"N", "R"})
# Information this practice restricts: a record that carries any of these is R, whatever its
# class declared; a Part 2 record may not be redisclosed without consent (42 CFR 2.32).
RESTRICTED_BY = frozenset({"PSY", "PSYTHPN", "ETH", "SDV", "HIV", "42CFRPart2"})

_SEGMENT = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)(?P<kind>\[\]\*?)?$")
Step = tuple[str, str]  # (field name, "" | "[]" | "[]*")


def labels_of(declared: Iterable[str], data: Iterable[str] = ()) -> list[str]:
    """The record's labels: the class's, the event's own, and what they imply; sorted.

    Never empty: an event without a confidentiality code (a declaration forgotten) is R.
    """
    labels = {*declared, *data}
    if labels & RESTRICTED_BY:
        labels.add("R")
    if "42CFRPart2" in labels:
        labels.add("NORDSCLCD")
    if "R" in labels:
        labels.discard("N")
    elif "N" not in labels:
        labels.add("R")
    return sorted(labels)


def parse_path(path: str) -> tuple[Step, ...]:
    """`check_ins[].triggers` -> (("check_ins", "[]"), ("triggers", "")); ValueError if bad.

    `name[]` steps into each item of a list; `name[]*` into each item and, again, into each
    item's own `name` list (a recursive structure, such as provisions within provisions).
    """
    steps = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"{path!r}: a field path is names joined by '.', lists as 'name[]'")
        steps.append((match["name"], match["kind"] or ""))
    if steps[-1][1]:
        raise ValueError(f"{path!r}: the last step names the field itself, without []")
    return tuple(steps)


def canonical(path: str) -> str:
    """The path as a schema names it (a recursive step is one schema location)."""
    return path.replace("[]*", "[]")


@dataclass(frozen=True)
class Publication:
    """How one event class is published (see the module docstring)."""

    labels: tuple[str, ...]
    private: tuple[str, ...] = ()
    coded: Mapping[str, frozenset[str]] = field(default_factory=dict)
    version: int | None = None  # None: the class_version
    _steps: tuple[tuple[tuple[Step, ...], frozenset[str] | None], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        unknown = sorted(set(self.labels) - set(LABELS))
        if unknown:
            raise ValueError(f"unknown security labels {unknown}: use HL7 HCS codes {list(LABELS)}")
        if not set(self.labels) & CONFIDENTIALITY:
            raise ValueError("declare a confidentiality code: N (normal) or R (restricted)")
        steps: list[tuple[tuple[Step, ...], frozenset[str] | None]] = [
            (parse_path(p), None) for p in self.private
        ]
        steps += [(parse_path(p), frozenset(codes)) for p, codes in self.coded.items()]
        object.__setattr__(self, "_steps", tuple(steps))

    @property
    def withdrawn(self) -> list[str]:
        """Every field path that may be absent from the record, as the schema names it."""
        return sorted({canonical(p) for p in (*self.private, *self.coded)})

    def withdraw(self, body: dict[str, Any]) -> dict[str, Any]:
        """Remove the private fields (and coded ones that hold no known code) from `body`."""
        for steps, codes in self._steps:
            _drop(body, steps, 0, codes)
        return body


def _drop(node: Any, steps: tuple[Step, ...], at: int, codes: frozenset[str] | None) -> None:
    if not isinstance(node, dict):
        return
    name, kind = steps[at]
    if at == len(steps) - 1:
        if name in node and (codes is None or not _is_code(node[name], codes)):
            del node[name]
        return
    value = node.get(name)
    if not kind:
        _drop(value, steps, at + 1, codes)
    elif isinstance(value, list):
        for item in value:
            _drop(item, steps, at + 1, codes)
            if kind == "[]*":
                _drop(item, steps, at, codes)


def _is_code(value: Any, codes: frozenset[str]) -> bool:
    return isinstance(value, str) and value in codes


UNDECLARED = Publication(labels=("R",))
