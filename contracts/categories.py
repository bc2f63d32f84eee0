"""The data categories a consent, a decision and a referral speak of, and the labels each implies.

One vocabulary for every service: the consent service's directives and decision requests, its
HTTP bodies, and the categories a referral discloses all take these values, and the labels a
category implies are derived from it here (what the data is), never taken on the caller's word.
The codes are HL7 HCS sensitivity labels (`contracts.privacy.LABELS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

Category = Literal[
    "individual-session",
    "joint-session",
    "family-session",
    "treatment-plan",
    "assessment",
    "diagnosis",
    "medication",
    "progress-notes",
    "substance-use",
    "sud-counseling-notes",
    "psychotherapy-notes",
    "intimate-partner-violence",
    "referral",
    "billing",
    "demographics",
]
CATEGORIES: tuple[str, ...] = get_args(Category)
PART2 = "42CFRPart2"
# What each data category is, as sensitivity labels: derived on the server, never declared away.
IMPLIED_LABELS: Mapping[str, frozenset[str]] = {
    "individual-session": frozenset({"PSY"}),
    "joint-session": frozenset({"PSY"}),
    "family-session": frozenset({"PSY"}),
    "progress-notes": frozenset({"PSY"}),
    "diagnosis": frozenset({"PSY"}),
    "psychotherapy-notes": frozenset({"PSY", "PSYTHPN"}),
    "substance-use": frozenset({PART2, "ETH"}),
    "sud-counseling-notes": frozenset({PART2, "ETH"}),
    "intimate-partner-violence": frozenset({"SDV"}),
}


def implied_labels(categories: Iterable[str]) -> frozenset[str]:
    """The labels the data categories carry by what they are."""
    found: set[str] = set()
    for category in categories:
        found.update(IMPLIED_LABELS.get(category, ()))
    return frozenset(found)
