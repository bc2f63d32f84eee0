"""Ids built from parts without ambiguity, and the canonical form of an id a person typed.

Joining parts with a separator lets two different tuples give one id (`("a:b", "c")` and
`("a", "b:c")`); `stable_id` hashes canonical JSON of the parts instead, so each tuple has its
own id. `canonical_id` is how two spellings of one id compare equal: Unicode NFC, surrounding
and repeated whitespace removed, case folded.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from functools import lru_cache
from uuid import UUID


def stable_id(namespace: UUID, tenant: str, *parts: object) -> UUID:
    """uuid5 of canonical JSON `[tenant, *parts]`: distinct tuples never share an id."""
    text = json.dumps([tenant, *parts], ensure_ascii=False, separators=(",", ":"))
    return uuid.uuid5(namespace, text)


@lru_cache(maxsize=4096)  # the same few ids are compared over and over by the decision point
def canonical_id(value: str) -> str:
    """NFC, whitespace collapsed and trimmed, case folded: `' Dr-Evil'` -> `'dr-evil'`."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    return unicodedata.normalize("NFC", text.casefold())


def printable_id(value: str) -> bool:
    """True when the id has something left once canonical and no control characters."""
    canonical = canonical_id(value)
    return bool(canonical) and canonical.isprintable()
