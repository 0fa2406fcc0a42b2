"""RFC 6962 Merkle tree: hashes, proof generation from stored subtree hashes, verification.

Pure module (no Django). Conventions:

* A *perfect node* ``(level, index)`` is the root of the perfect subtree covering leaves
  ``[index * 2**level, (index + 1) * 2**level)``; level 0 nodes are leaf hashes.
* Every hash a proof contains is ``MTH(D[a:b])`` for a range whose start is aligned to the
  largest power of two >= its length; such a range splits into O(log n) perfect nodes, so a
  store that keeps perfect-node hashes (leaves + internal nodes) answers any proof without
  touching the rest of the tree.  Generation is two steps so a database can fetch everything
  in one query: ``*_ranges()`` -> ``nodes_for_ranges()`` -> fetch -> ``hashes_for_ranges()``.
* Verification follows RFC 6962 / RFC 9162 and the transparency-dev test vectors, including
  the "subtree" proofs of the Merkle Tree Certificates draft.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end)


class ProofError(ValueError):
    """A proof (or its parameters) does not verify. The message says why."""

    code = "proof"

    def __init__(self, template: str = "", *, code: str | None = None, **params: object) -> None:
        # a stable code and the values as data for the edge's translation (audit/messages.py; the convention of
        # trading.coded.CodedError, which audit may not import); ``str(exc)`` is the English sentence
        self.code = code or self.code
        self.params = params
        super().__init__(template % params if params else template)


# --------------------------------------------------------------------------- hashing

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (iterative; O(n) hashes, O(log n) memory)."""
    if not leaves:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (level, hash) of perfect subtrees, left to right
    for h in leaves:
        level = 0
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
        stack.append((level, h))
    h = stack.pop()[1]
    while stack:
        h = node_hash(stack.pop()[1], h)
    return h


def mth(entries: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of raw entries."""
    return root_from_leaf_hashes([leaf_hash(e) for e in entries])


# --------------------------------------------------------------- perfect-node geometry

def perfect_nodes(start: int, end: int) -> list[Node]:
    """Perfect nodes whose ranges tile ``[start, end)`` left to right (aligned ranges only)."""
    nodes: list[Node] = []
    pos = start
    while pos < end:
        # biggest aligned power-of-two block starting at pos that fits
        level = (end - pos).bit_length() - 1
        while pos & ((1 << level) - 1):
            level -= 1
        nodes.append((level, pos >> level))
        pos += 1 << level
    return nodes


def hash_range(start: int, end: int, node: Callable[[Node], bytes]) -> bytes:
    """MTH(D[start:end]) for an aligned range, folding its perfect nodes right to left."""
    if start == end:
        return EMPTY_ROOT
    parts = perfect_nodes(start, end)
    h = node(parts[-1])
    for p in reversed(parts[:-1]):
        h = node_hash(node(p), h)
    return h


def nodes_for_ranges(ranges: Iterable[Range]) -> set[Node]:
    out: set[Node] = set()
    for a, b in ranges:
        out.update(perfect_nodes(a, b))
    return out


def hashes_for_ranges(ranges: Sequence[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [hash_range(a, b, nodes.__getitem__) for a, b in ranges]


def new_perfect_nodes(old_size: int, new_size: int) -> list[Node]:
    """Perfect nodes at level >= 1 completed when the tree grows from old_size to new_size."""
    out: list[Node] = []
    level = 1
    while (1 << level) <= new_size:
        first = old_size >> level  # nodes with index < first were complete before
        last = new_size >> level  # nodes with index < last are complete now
        out.extend((level, i) for i in range(first, last))
        level += 1
    return out


# --------------------------------------------------------------------- proof ranges

def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Ranges of the RFC 6962 audit path for leaf ``index`` in a tree of ``size``, bottom-up."""
    if not 0 <= index < size:
        raise ProofError("leaf index %(index)s is outside a tree of size %(size)s", code="index_outside", index=index,
                         size=size)
    path: list[Range] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """Ranges of the RFC 6962 consistency proof between sizes (0 < size1 <= size2)."""
    if not 0 < size1 <= size2:
        raise ProofError("no consistency proof from size %(first)s to size %(second)s", code="no_consistency",
                         first=size1, second=size2)
    out: list[Range] = []

    def sub(m: int, lo: int, hi: int, whole: bool) -> None:
        n = hi - lo
        if m == n:
            if not whole:
                out.append((lo, hi))
            return
        k = _split(n)
        if m <= k:
            sub(m, lo, lo + k, whole)
            out.append((lo + k, hi))
        else:
            sub(m - k, lo + k, hi, False)
            out.append((lo, lo + k))

    if size1 < size2:
        sub(size1, 0, size2, True)
    return out


def inclusion_proof(index: int, size: int, node: Callable[[Node], bytes]) -> list[bytes]:
    return [hash_range(a, b, node) for a, b in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, node: Callable[[Node], bytes]) -> list[bytes]:
    return [hash_range(a, b, node) for a, b in consistency_ranges(size1, size2)]


class CompactRange:
    """The right border of a tree of ``size`` leaves: its perfect nodes (``perfect_nodes(0, size)``).

    Appending leaves yields every perfect node (level >= 1) that becomes complete, which is all
    a sequencer has to store; ``root()`` folds the border into the tree head. O(log n) memory.
    """

    def __init__(self, size: int = 0, border: Mapping[Node, bytes] | None = None) -> None:
        self.size = size
        needed = perfect_nodes(0, size)
        if border is None:
            if needed:
                raise ValueError("a non-empty compact range needs its border hashes")
            border = {}
        self.stack: list[tuple[Node, bytes]] = [(n, border[n]) for n in needed]

    @staticmethod
    def border_nodes(size: int) -> list[Node]:
        return perfect_nodes(0, size)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        created: list[tuple[Node, bytes]] = []
        node, h = (0, self.size), leaf
        while self.stack and self.stack[-1][0][0] == node[0]:
            (lvl, idx), left = self.stack.pop()
            node, h = (lvl + 1, idx >> 1), node_hash(left, h)
            created.append((node, h))
        self.stack.append((node, h))
        self.size += 1
        return created

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


class MemoryTree:
    """In-memory tree keeping every perfect node (tests, the bench baseline, audit_verify)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaves:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    def node(self, n: Node) -> bytes:
        return self.levels[n[0]][n[1]]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ProofError("tree size %(size)s is beyond %(current)s", code="size_beyond", size=size, current=self.size)
        return hash_range(0, size, self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof(size1, self.size if size2 is None else size2, self.node)


# ---------------------------------------------------------------------- verification

def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def _match(calculated: bytes, expected: bytes, what: str) -> None:
    if calculated != expected:
        raise ProofError(f"{what}: calculated {calculated.hex()} != expected {bytes(expected).hex()}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf)} bytes, want {HASH_SIZE}")
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} hashes, want {inner + border}")
    res = _chain_inner(leaf, proof[:inner], index)
    return _chain_border_right(res, proof[inner:])


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows leaf ``index`` in the tree (size, root)."""
    _match(root_from_inclusion_proof(index, size, leaf, proof), root, "inclusion proof root mismatch")


def _valid_subtree(start: int, end: int) -> None:
    if not 0 <= start < end:
        raise ProofError(f"invalid subtree [{start}, {end}): start must be below end")
    if start == 0:
        return
    length = end - start
    ceil = 1 << (length - 1).bit_length()
    if start % ceil:
        raise ProofError(f"invalid subtree [{start}, {end}): start is not a multiple of {ceil}")


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    _valid_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"leaf index {index} is outside subtree [{start}, {end})")
    calc = root_from_inclusion_proof(index - start, end - start, leaf, proof)
    _match(calc, root, "subtree inclusion proof root mismatch")


def root_from_consistency_proof(size1: int, size2: int, proof: Sequence[bytes], root1: bytes) -> bytes:
    if size2 < size1:
        raise ProofError(f"first size {size1} is larger than second size {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        return root1
    if not proof:
        raise ProofError("empty consistency proof")
    return _root_from_subtree_consistency(0, size1, size2, proof, root1)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes] | None, root1: bytes, root2: bytes
) -> None:
    """Raise ProofError unless tree (size1, root1) is a prefix of tree (size2, root2)."""
    calc = root_from_consistency_proof(size1, size2, list(proof or ()), root1)
    _match(calc, root2, "consistency proof root mismatch")


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes] | None, root1: bytes, root2: bytes
) -> None:
    """Subtree ``[start, end)`` with hash root1 is part of the tree (size, root2)."""
    proof = list(proof or ())
    if start == end:  # the empty subtree is in every tree, provided its hash is right
        if end > size:
            raise ProofError(f"empty subtree at {start} is beyond tree size {size}")
        if proof:
            raise ProofError("empty subtree but the proof is not empty")
        _match(root1, EMPTY_ROOT, "empty subtree hash")
        return
    _valid_subtree(start, end)
    if size < end:
        raise ProofError(f"tree size {size} is smaller than subtree end {end}")
    if start == 0 and end == size:
        if proof:
            raise ProofError("subtree is the whole tree but the proof is not empty")
        calc = root1
    else:
        if not proof:
            raise ProofError("empty consistency proof")
        calc = _root_from_subtree_consistency(start, end, size, proof, root1)
    _match(calc, root2, "subtree consistency proof root mismatch")


def _root_from_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], sub_root: bytes
) -> bytes:
    height = ((end - 1) ^ start).bit_length()  # height of the subtree's root
    if end == size:
        want = bin(start >> height).count("1")
        if len(proof) != want:
            raise ProofError(f"consistency proof has {len(proof)} hashes, want {want}")
        return _chain_border_right(sub_root, proof)
    fork = ((end - 1) ^ (size - 1)).bit_length()
    shift = ((end - start) & -(end - start)).bit_length() - 1  # trailing zeros
    if end - start == 1 << shift:
        seed, rest = sub_root, list(proof)
        first = 0
    else:
        seed, rest = proof[0], list(proof[1:])
        first = 1
    want = first + (fork - shift) + bin((end - 1) >> fork).count("1")
    if len(proof) != want:
        raise ProofError(f"consistency proof has {len(proof)} hashes, want {want}")
    old, grown, i = seed, seed, 0
    for level in range(shift, height):
        if ((end - 1) >> level) & 1:
            old = node_hash(rest[i], old)
            grown = node_hash(rest[i], grown)
            i += 1
        elif level < fork:
            grown = node_hash(grown, rest[i])
            i += 1
    _match(old, sub_root, "consistency proof does not match the first root")
    s_index = start >> height
    s_size = ((size - 1) >> height) + 1
    return root_from_inclusion_proof(s_index, s_size, grown, rest[i:])
