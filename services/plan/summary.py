"""One plan's summary for the worklists and lookups, folded from its events (pure).

The same fold feeds the in-memory read model (unit tests) and the PostgreSQL projection
(`plan.plan_summaries`), so both answer alike. Values are JSON (dates as ISO strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.records import to_json_value

Summary = dict[str, Any]


def fold(
    summaries: dict[str, Summary], name: str, plan_id: str, version: int, state: Mapping[str, Any]
) -> None:
    """Apply one stored event (decoded state) to the summary of its plan."""
    data = {k: to_json_value(v) for k, v in state.items() if not k.startswith("_")}
    if name == "PlanCreated":
        summaries[plan_id] = {
            "plan_id": plan_id,
            "tenant": data["tenant"],
            "created_at": data["timestamp"],
            "unit_kind": data["unit_kind"],
            "members": [m["client_id"] for m in data["members"]],
            "status": "draft",
            "next_review_on": data["next_review_on"],
            "last_review_on": None,
            "sessions": [],
            "goal_ids": [],
            "joint_paused": False,
            "team": [c["clinician_id"] for c in data["clinicians"]],
        }
    summary = summaries.get(plan_id)
    if summary is None:
        return
    summary["version"] = version
    if name == "PlanStatusChanged":
        summary["status"] = data["status"]
    elif name == "ScheduleChanged":
        summary["next_review_on"] = data["next_review_on"]
    elif name == "ReviewRecorded":
        summary["next_review_on"] = data["next_review_on"]
        summary["last_review_on"] = data["held_on"]
    elif name == "SessionRecorded":
        kept = (
            "session_id",
            "format",
            "partner_id",
            "held_on",
            "clinician_id",
            "share_by",
            "sharing_agreement_id",
        )
        summary["sessions"].append({k: data.get(k) for k in kept})
    elif name == "ConfidenceResolved":
        for session in summary["sessions"]:
            if session.get("session_id") == data["session_id"]:
                session["resolved"] = data["outcome"]
    elif name == "ClinicianAssigned":
        summary["team"] = [*summary.get("team", []), data["clinician_id"]]
    elif name == "ClinicianRemoved":
        summary["team"] = [c for c in summary.get("team", []) if c != data["clinician_id"]]
    elif name == "EmergencyAccessGranted":
        # The review queue is compliance's alone, and compliance reads the justification.
        keys = ("grant_id", "clinician_id", "justification", "granted_at", "until")
        grant = {k: data[k] for k in keys}
        summary["open_grants"] = [*summary.get("open_grants", []), grant]
    elif name == "EmergencyAccessReviewed":
        summary["open_grants"] = [
            g for g in summary.get("open_grants", []) if g["grant_id"] != data["grant_id"]
        ]
    elif name == "GoalAdded":
        summary["goal_ids"].append(data["goal_id"])
    elif name == "FormatShifted":
        summary["joint_paused"] = bool(data["pauses_joint"]) or (
            summary["joint_paused"] and not data["resumes_joint"]
        )
