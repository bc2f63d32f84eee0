"""A Merkle tree over a store's events in notification order, hashed as RFC 9162 section 2.1 says.

A leaf is `SHA-256(0x00 || entry)`, an inner node `SHA-256(0x01 || left || right)`, the split of
`n` entries at the largest power of two below `n`. Inclusion proofs (one event is in the tree a
signed checkpoint names) and consistency proofs (a later tree only grew from an earlier one) are
the RFC's own, so any RFC 9162 verifier in any language checks them; the verifiers here follow
sections 2.1.3.2 and 2.1.4.2 step by step. Standard library only: an auditor needs nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
_LEAF, _NODE = b"\x00", b"\x01"


class ProofError(ValueError):
    """A proof that does not verify, with the reason."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """The tree over leaf hashes; `root(size)` of any prefix, proofs against any prefix.

    Subtree roots over aligned power-of-two ranges are kept as they are first computed, so a
    root or proof over n leaves costs O(log n) hashes once the ranges below it are known.
    """

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self._leaves: list[bytes] = []
        self._cache: dict[tuple[int, int], bytes] = {}
        for leaf in leaves:
            self.append(leaf)

    def __len__(self) -> int:
        return len(self._leaves)

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash (`leaf_hash(entry)`)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        self._leaves.append(leaf)

    def leaf(self, index: int) -> bytes:
        return self._leaves[index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (all by default); the empty tree's is SHA-256('')."""
        size = len(self) if size is None else self._size(size)
        if size == 0:
            return hashlib.sha256(b"").digest()
        return self._hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1."""
        size = len(self) if size is None else self._size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[size]) of RFC 9162 section 2.1.4.1."""
        size = len(self) if size is None else self._size(size)
        if not 0 <= old_size <= size:
            raise ValueError(f"a tree of {size} cannot have grown from one of {old_size}")
        if old_size in (0, size):
            return []
        return self._subproof(old_size, 0, size, True)

    def _size(self, size: int) -> int:
        if not 0 <= size <= len(self):
            raise ValueError(f"the tree has {len(self)} leaves, not {size}")
        return size

    def _hash(self, start: int, end: int) -> bytes:
        if end - start == 1:
            return self._leaves[start]
        aligned = (end - start) & (end - start - 1) == 0
        if aligned and (start, end) in self._cache:
            return self._cache[(start, end)]
        k = _split(end - start)
        digest = node_hash(self._hash(start, start + k), self._hash(start + k, end))
        if aligned:
            self._cache[(start, end)] = digest
        return digest

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = _split(end - start)
        if index < start + k:
            return [*self._path(index, start, start + k), self._hash(start + k, end)]
        return [*self._path(index, start + k, end), self._hash(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._hash(start, start + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2; raises ProofError unless `leaf` is at `index` of that tree."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is high")
    if r != root:
        raise ProofError("the proof leads to another root")


def verify_consistency(
    old_size: int, size: int, proof: Sequence[bytes], old_root: bytes, root: bytes
) -> None:
    """RFC 9162 section 2.1.4.2; raises ProofError unless tree `size` grew from `old_size`."""
    if not 0 <= old_size <= size:
        raise ProofError(f"a tree of {size} cannot have grown from one of {old_size}")
    if old_size == size:
        if proof or old_root != root:
            raise ProofError("two checkpoints of one size must have one root and no proof")
        return
    if old_size == 0:
        if proof:
            raise ProofError("the empty tree needs no proof")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is high")
    if fr != old_root:
        raise ProofError("the proof does not lead to the earlier root")
    if sr != root:
        raise ProofError("the proof does not lead to the later root")
