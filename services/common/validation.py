"""What the stores and Kafka can hold: the one check every value of a request passes through.

- Text: PostgreSQL text and jsonb cannot hold U+0000, and UTF-8 (the event store's JSON, the
  read models, Kafka headers) cannot encode a lone surrogate (U+D800 to U+DFFF). Any other
  Unicode is kept as it came.
- Integers: beyond +/-(2^53 - 1) a JSON reader may not hold them exactly (and Python refuses to
  print one of over 4,300 digits). Floats: NaN and infinity are not JSON.
- Dates: outside 1900-01-01 .. 2199-12-31 the domain's date arithmetic overflows.

Request bodies: every request model derives from `RequestModel` (the services' `Strict` and
`Body` do), whose validator runs on every field, nested models and lists included, and names the
field in the 422. Path, query and header values: `guard.RequestGuard` applies `text_problem`
before any route runs. Query dates: `Day` and `Moment`, or `moment_in_range` for text parsed by
hand.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from services.common.errors import RuleBroken

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
MAX_INTEGER = 2**53 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why the stores or Kafka cannot hold `value`, or None when they can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char, at = found.group(), found.start()
    if char == "\x00":
        return f"holds U+0000 (NUL) at character {at}, which the stores cannot hold: remove it"
    return (
        f"holds an unpaired surrogate U+{ord(char):04X} at character {at}, which is not "
        "Unicode text: send the character it was meant to be"
    )


def scalar_problem(value: Any) -> str | None:
    """Why one scalar (text, number, date) cannot be kept, or None."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -MAX_INTEGER <= value <= MAX_INTEGER:
            return None
        return f"is outside -{MAX_INTEGER}..{MAX_INTEGER}"
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, dt.date):  # datetime too
        day = value.date() if isinstance(value, dt.datetime) else value
        if MIN_DATE <= day <= MAX_DATE:
            return None
        return f"must be between {MIN_DATE} and {MAX_DATE}"
    return None


def problems(value: Any, where: str = "", *, text_only: bool = False) -> Iterator[tuple[str, str]]:
    """(path, why) for every part of `value` that cannot be kept; paths like `members.0.id`."""
    if isinstance(value, RequestModel):
        return  # it checked its own fields when it was built
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and (why := text_problem(key)):
                yield where, f"has a key that {why}"  # the key itself is not echoed
                continue
            yield from problems(item, f"{where}.{key}" if where else str(key), text_only=text_only)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            path = f"{where}.{index}" if where else str(index)
            yield from problems(item, path, text_only=text_only)
    elif (isinstance(value, str) or not text_only) and (why := scalar_problem(value)):
        yield where, why


class RequestModel(BaseModel):
    """Base of every request body model: unknown fields refused, every value checked."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        for where, why in problems(value):
            raise ValueError(f"item {where} {why}" if where else why)
        return value


def _in_range(value: dt.date) -> dt.date:
    why = scalar_problem(value)
    if why is not None:
        raise ValueError(why)
    return value


Day = Annotated[dt.date, AfterValidator(_in_range)]
Moment = Annotated[dt.datetime, AfterValidator(_in_range)]


def moment_in_range(field: str, value: dt.datetime) -> dt.datetime:
    """`value`, or a 422 naming `field` when it is outside the dates the system keeps."""
    why = scalar_problem(value)
    if why is not None:
        raise RuleBroken(f"`{field}` {why}", errors={field: why})
    return value
