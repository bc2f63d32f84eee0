"""Measures and instruments: ranges, scoring, interpretation and alerts (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import RuleBroken


@dataclass(frozen=True)
class Measure:
    """A quantity measured per partner: a simple value or a scored instrument."""

    code: str
    display: str
    unit: str
    low: float
    high: float
    higher_is_better: bool
    loinc: str | None = None
    item_ranges: tuple[tuple[int, int], ...] = ()  # instruments only: (low, high) per item
    worsening_delta: float | None = None  # a change this large for the worse raises an alert
    labels: tuple[str, ...] = ()

    @property
    def is_instrument(self) -> bool:
        return bool(self.item_ranges)


def _items(count: int, high: int, first_high: int | None = None) -> tuple[tuple[int, int], ...]:
    ranges = [(0, high)] * count
    if first_high is not None:
        ranges[0] = (0, first_high)
    return tuple(ranges)


# Worsening deltas: PHQ-9 5 points and GAD-7 4 points are the usual reliable-change figures;
# AUDIT-C 2 points, CSI-4 5 and CSI-16 10 points are the practice's defaults.
MEASURES: dict[str, Measure] = {
    m.code: m
    for m in (
        Measure("connection", "Emotional connection self-rating", "score", 0, 10, True),
        Measure("trust", "Trust self-rating", "score", 0, 10, True),
        Measure("closeness", "Closeness self-rating", "score", 0, 10, True),
        Measure("fight-duration", "Fight duration", "min", 0, 1440, False),
        Measure("repair-time", "Repair time after a fight", "h", 0, 720, False),
        Measure("disconnection-days", "Days of disconnection per week", "d/wk", 0, 7, False),
        Measure("phq-9", "PHQ-9", "score", 0, 27, False, "44261-6", _items(9, 3), 5, ("PSY",)),
        Measure("gad-7", "GAD-7", "score", 0, 21, False, "70274-6", _items(7, 3), 4, ("PSY",)),
        Measure("audit-c", "AUDIT-C", "score", 0, 12, False, "75626-2", _items(3, 4), 2, ("ETH",)),
        Measure(
            "csi-4",
            "Couples Satisfaction Index (4)",
            "score",
            0,
            21,
            True,
            None,
            _items(4, 5, first_high=6),
            5,
        ),
        Measure(
            "csi-16",
            "Couples Satisfaction Index (16)",
            "score",
            0,
            81,
            True,
            None,
            _items(16, 5, first_high=6),
            10,
        ),
    )
}

CSI_DISTRESS_BELOW = {"csi-4": 13.5, "csi-16": 51.5}
AUDIT_C_POSITIVE_AT = {"male": 4, "female": 3}  # other or unknown sex: 3, the cautious cut-off


def measure_or_raise(code: str, field_name: str = "measure") -> Measure:
    try:
        return MEASURES[code]
    except KeyError:
        raise RuleBroken(
            f"unknown measure '{code}'",
            {field_name: f"use one of: {', '.join(sorted(MEASURES))}"},
        ) from None


@dataclass(frozen=True)
class Scored:
    """A checked measurement: its score, items and what it means."""

    score: float
    items: list[int] | None
    interpretation: dict[str, Any] = field(default_factory=dict)


def score_measurement(
    measure: Measure, *, value: float | None, items: Sequence[int] | None
) -> Scored:
    """Check ranges and score; `value` is the total for an instrument and must match its items."""
    if items is not None and not measure.is_instrument:
        raise RuleBroken("not an instrument", {"items": f"{measure.display} takes a value only"})
    if value is not None:
        _check_range(measure, float(value), "value")  # NaN fails every comparison, so this too
    if measure.is_instrument:
        if measure.code == "phq-9" and items is None:
            raise RuleBroken(
                "PHQ-9 needs its item scores",
                {"items": "give all 9 PHQ-9 item scores (0-3 each) so item 9 can be checked"},
            )
        if items is not None:
            checked = _check_items(measure, items)
            total = float(sum(checked))
            if value is not None and float(value) != total:
                raise RuleBroken(
                    f"{measure.display} total does not match its items",
                    {"value": f"the items add up to {total:g}; send that or omit the total"},
                )
            return Scored(total, checked)
    if value is None:
        raise RuleBroken("no value", {"value": f"give the {measure.display} value"})
    return Scored(float(value), None)


def _check_items(measure: Measure, items: Sequence[int]) -> list[int]:
    if len(items) != len(measure.item_ranges):
        raise RuleBroken(
            f"{measure.display} has {len(measure.item_ranges)} items",
            {"items": f"give exactly {len(measure.item_ranges)} item scores, got {len(items)}"},
        )
    errors = {
        f"items[{i}]": f"item {i + 1} ranges {low}-{high}"
        for i, (item, (low, high)) in enumerate(zip(items, measure.item_ranges, strict=True))
        if not low <= item <= high
    }
    if errors:
        raise RuleBroken(f"{measure.display} item out of range", errors)
    return list(items)


def _check_range(measure: Measure, value: float, field_name: str) -> None:
    if not measure.low <= value <= measure.high:
        raise RuleBroken(
            f"{measure.display} out of range",
            {field_name: f"{measure.display} ranges {measure.low:g}-{measure.high:g}"},
        )


def check_in_range(code: str, value: float, field_name: str) -> None:
    """Check a goal's baseline or target against a known measure's range."""
    _check_range(MEASURES[code], value, field_name)


def interpret(
    measure: Measure, scored: Scored, *, sex: str | None, previous: Sequence[float]
) -> dict[str, Any]:
    """Severity, screening result and response/remission; `previous` oldest first."""
    score = scored.score
    result: dict[str, Any] = {}
    if measure.code == "phq-9":
        result["severity"] = _band(
            score,
            [
                (20, "severe"),
                (15, "moderately-severe"),
                (10, "moderate"),
                (5, "mild"),
                (0, "minimal"),
            ],
        )
        result["item9_positive"] = bool(scored.items and scored.items[8] > 0)
        result["remission"] = score < 5
        baseline = previous[0] if previous else None
        result["response"] = bool(baseline and (baseline - score) / baseline >= 0.5)
    elif measure.code == "gad-7":
        result["severity"] = _band(
            score, [(15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal")]
        )
    elif measure.code == "audit-c":
        cut_off = AUDIT_C_POSITIVE_AT.get(sex or "", 3)
        result["positive"] = score >= cut_off
        result["cut_off"] = cut_off
    elif measure.code in CSI_DISTRESS_BELOW:
        result["distress"] = score < CSI_DISTRESS_BELOW[measure.code]
    if measure.worsening_delta is not None and previous:
        change = score - previous[-1]
        worse = -change if measure.higher_is_better else change
        result["worsened"] = worse >= measure.worsening_delta
    return result


def _band(score: float, bands: list[tuple[float, str]]) -> str:
    return next(name for low, name in bands if score >= low)


def alerts_for(measure: Measure, interpretation: Mapping[str, Any]) -> list[str]:
    """Alert kinds a measurement raises."""
    kinds = []
    if interpretation.get("item9_positive"):
        kinds.append("phq9-item9-positive")
    if interpretation.get("positive") and measure.code == "audit-c":
        kinds.append("audit-c-positive")
    if interpretation.get("worsened"):
        kinds.append("worsening")
    return kinds
