"""The Merkle tree and its proofs: the RFC 6962/9162 reference vectors, then properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.merkle import (
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# The eight inputs and the roots of their prefixes used by the RFC 6962 reference tests (the
# Certificate Transparency and transparency-dev/merkle test suites).
ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
INCLUSION = {  # (leaf index, tree size): path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CONSISTENCY = {  # (old size, size): proof
    (1, 8): INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def reference_tree() -> MerkleTree:
    return MerkleTree([leaf_hash(entry) for entry in ENTRIES])


def test_the_roots_of_every_prefix_are_the_reference_roots() -> None:
    tree = reference_tree()
    assert [tree.root(size).hex() for size in range(1, 9)] == ROOTS
    assert MerkleTree().root().hex() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_are_the_reference_paths_and_verify(index: int, size: int) -> None:
    tree = reference_tree()
    proof = tree.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    verify_inclusion(tree.leaf(index), index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("old", "size"), sorted(CONSISTENCY))
def test_consistency_proofs_are_the_reference_proofs_and_verify(old: int, size: int) -> None:
    tree = reference_tree()
    proof = tree.consistency_proof(old, size)
    assert [p.hex() for p in proof] == CONSISTENCY[(old, size)]
    roots = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[size - 1])
    verify_consistency(old, size, proof, *roots)


def _flipped(proof: list[bytes], at: int) -> list[bytes]:
    changed = list(proof)
    changed[at] = bytes([changed[at][0] ^ 8]) + changed[at][1:]
    return changed


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_a_corrupted_inclusion_proof_fails(index: int, size: int) -> None:
    tree = reference_tree()
    proof, root, leaf = tree.inclusion_proof(index, size), tree.root(size), tree.leaf(index)
    probes = [
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf_hash(b"forged"), index, size, proof, root),
        (leaf, index, size, proof, tree.root(size - 1)),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [root, *proof], root),
        (leaf, index, size, proof[:-1], root),
        *((leaf, index, size, _flipped(proof, at), root) for at in range(len(proof))),
    ]
    for probe in probes:
        with pytest.raises(ProofError):
            verify_inclusion(*probe)


@pytest.mark.parametrize(("old", "size"), sorted(CONSISTENCY))
def test_a_corrupted_consistency_proof_fails(old: int, size: int) -> None:
    tree = reference_tree()
    proof, r1, r2 = tree.consistency_proof(old, size), tree.root(old), tree.root(size)
    probes = [
        (old + 1, size, proof, r1, r2),
        (old - 1, size, proof, r1, r2),
        (old, size * 2, proof, r1, r2),
        (old, size, proof, r2, r1),
        (old, size, proof, leaf_hash(b"x"), r2),
        (old, size, [], r1, r2),
        (old, size, [*proof, r2], r1, r2),
        (old, size, [proof[0], *proof], r1, r2),
        (old, size, proof[:-1], r1, r2),
        *((old, size, _flipped(proof, at), r1, r2) for at in range(len(proof))),
    ]
    for probe in probes:
        with pytest.raises(ProofError):
            verify_consistency(*probe)


def test_the_trivial_consistency_cases() -> None:
    tree = reference_tree()
    verify_consistency(0, 8, [], tree.root(0), tree.root(8))
    verify_consistency(8, 8, [], tree.root(8), tree.root(8))
    for probe in [(8, 8, [], tree.root(7), tree.root(8)), (3, 2, [], tree.root(3), tree.root(2))]:
        with pytest.raises(ProofError):
            verify_consistency(*probe)


def test_a_leaf_is_a_hash_and_sizes_stay_in_the_tree() -> None:
    tree = reference_tree()
    with pytest.raises(ValueError, match="32 bytes"):
        tree.append(b"entry, not its hash")
    with pytest.raises(ValueError, match="not in a tree"):
        tree.inclusion_proof(8)
    with pytest.raises(ValueError, match="has 8 leaves"):
        tree.root(9)


entries = st.lists(st.binary(max_size=16), min_size=1, max_size=70)


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's definition, with no cache."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


@given(entries, st.data())
def test_every_leaf_proves_into_every_tree_that_holds_it(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = MerkleTree([leaf_hash(entry) for entry in data])
    size = draw.draw(st.integers(1, len(tree)))
    index = draw.draw(st.integers(0, size - 1))
    assert tree.root(size) == naive_root([tree.leaf(i) for i in range(size)])
    verify_inclusion(
        tree.leaf(index), index, size, tree.inclusion_proof(index, size), tree.root(size)
    )
    others = [i for i in range(size) if data[i] != data[index]]
    if others:
        other = tree.leaf(draw.draw(st.sampled_from(others)))
        with pytest.raises(ProofError):
            verify_inclusion(other, index, size, tree.inclusion_proof(index, size), tree.root(size))


@given(entries, st.data())
def test_every_tree_proves_it_grew_from_each_of_its_prefixes(
    data: list[bytes], draw: st.DataObject
) -> None:
    tree = MerkleTree([leaf_hash(entry) for entry in data])
    size = draw.draw(st.integers(0, len(tree)))
    old = draw.draw(st.integers(0, size))
    verify_consistency(
        old, size, tree.consistency_proof(old, size), tree.root(old), tree.root(size)
    )


@given(entries, st.data())
def test_a_rewritten_history_fails_consistency(data: list[bytes], draw: st.DataObject) -> None:
    tree = MerkleTree([leaf_hash(entry) for entry in data])
    old = draw.draw(st.integers(1, len(tree)))
    at = draw.draw(st.integers(0, old - 1))
    forged = list(data)
    forged[at] = data[at] + b"!"
    rewritten = MerkleTree([leaf_hash(entry) for entry in forged])
    with pytest.raises(ProofError):
        verify_consistency(
            old, len(tree), rewritten.consistency_proof(old), tree.root(old), rewritten.root()
        )
