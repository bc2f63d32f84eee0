"""The plan service's domain: the treatment plan aggregate and the rules it keeps."""

from services.common.events import name_events
from services.plan.domain.plan import Plan

name_events("plan", Plan)

__all__ = ["Plan"]
