"""The real local stack: a KRaft Kafka broker and a private PostgreSQL cluster under .local/."""

from contracts.topics import TOPICS
from services.stack.postgres import ensure_schemas
from services.stack.state import StackInfo, StackNotRunningError, read_stack_info, stack_home
from services.stack.topics import ensure_topics

__all__ = [
    "TOPICS",
    "StackInfo",
    "StackNotRunningError",
    "ensure_schemas",
    "ensure_topics",
    "read_stack_info",
    "stack_home",
]
