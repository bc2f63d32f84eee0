"""The plan service's domain: the treatment plan aggregate and the rules it keeps."""

from typing import Any

from services.common.events import name_events
from services.plan.domain.plan import Plan

name_events("plan", Plan)


def _session_v1_to_v2(state: dict[str, Any]) -> None:
    """A session recorded before the agreement's terms version and share-by dates were kept."""
    state["sharing_agreement_version"] = None
    state["share_by"] = None


Plan.SessionRecorded.class_version = 2  # type: ignore[attr-defined]
Plan.SessionRecorded.upcast_v1_v2 = staticmethod(_session_v1_to_v2)  # type: ignore[attr-defined]

__all__ = ["Plan"]
