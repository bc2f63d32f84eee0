"""The hash chain over each aggregate's stored events: its canonical encoding, defined once.

Every stored event row carries `chain_hash`, computed by PostgreSQL as the row is inserted
(services/common/store/chain.py installs the trigger) and checkable in any language:

    chain_hash = SHA-256( previous                 32 bytes: the chain_hash of the same
                                                   aggregate's event with the next lower
                                                   version, or 32 zero bytes for its first
                       || notification_id          8 bytes, signed big-endian
                       || originator_id            16 bytes, the UUID's bytes
                       || originator_version       8 bytes, signed big-endian
                       || len(topic)               4 bytes, signed big-endian: the length of
                                                   the stored name in UTF-8
                       || topic                    the stored name in UTF-8
                       || state )                  the stored state, byte for byte

So a changed state, name, version or position, or an event taken out of the middle of an
aggregate's history, breaks the chain from that event on. What a chain alone cannot show (an
aggregate's last events removed, events appended by someone who computes the hash too) needs
signed Merkle checkpoints over the same hashes (contracts/merkle.py), not built yet.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

GENESIS = bytes(32)


def chain_hash(
    previous: bytes | None,
    *,
    notification_id: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The chain hash of one stored event; `previous` None for an aggregate's first event."""
    encoded = b"".join(
        (
            previous if previous is not None else GENESIS,
            notification_id.to_bytes(8, "big", signed=True),
            originator_id.bytes,
            originator_version.to_bytes(8, "big", signed=True),
            len(name := topic.encode("utf-8")).to_bytes(4, "big", signed=True),
            name,
            state,
        )
    )
    return hashlib.sha256(encoded).digest()
