"""Merkle trees of BitTorrent v2: SHA-256 over 16 KiB blocks (BEP 52, "File tree", "piece layers").

BEP 52 hashes every file on its own. The file is cut into 16 KiB *blocks*; each block's
SHA-256 is a *leaf* (the last block may be short and is hashed as it is, never
zero-filled). The leaves are padded up to a power of two with leaves of 32 zero bytes, and
each parent is ``SHA-256(left || right)``. The top of that tree is the file's
``pieces root``.

A piece of ``piece_length`` bytes covers ``piece_length / 16 KiB`` leaves, so the tree's
layer at that height has one hash per piece: the *piece layer*, which a torrent stores
for every file longer than one piece. The hash of a file's last piece is the root of a
full piece-sized subtree, its missing leaves being zero leaves.

Invariants this module keeps:

* Only SHA-256 and zero padding, nothing else: every function is a pure function of bytes.
* Padding is never materialised leaf by leaf. A subtree made only of padding has a known
  root (:func:`zero_root`), so a 4 GiB file's last piece costs no more than its data.
* Data is hashed through ``memoryview`` slices: no block is copied before hashing
  (``hashlib`` releases the GIL on large buffers, so several pieces hash in parallel).

:class:`PieceHasher` names what a hash scheme's ``btref_piece_hasher`` hook returns to the
torrent creator: v1 SHA-1 and v2 merkle trees are both built by one pass over the data.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, Union

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.filetree import FileEntry

from btref.wire import BLOCK_SIZE  # BEP 52: every leaf hashes one 16 KiB block of a file

__all__ = [
    "ZERO_LEAF",
    "zero_root",
    "leaf_hashes",
    "merkle_root",
    "piece_root",
    "file_root",
    "piece_layer",
    "root_from_piece_layer",
    "FileMerkle",
    "PieceHasher",
    "HasherFields",
]

#: The leaf that pads a tree to a power of two: 32 zero bytes (not the hash of anything).
ZERO_LEAF = bytes(32)

_sha256 = hashlib.sha256


def _next_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 1 else 1


def _check_piece_length(piece_length: int) -> int:
    """Leaves per piece; BEP 52 wants a power of two of at least one block."""
    if piece_length < BLOCK_SIZE or piece_length & (piece_length - 1):
        raise ValueError(f"piece length {piece_length} is not a power of two >= {BLOCK_SIZE}")
    return piece_length // BLOCK_SIZE


@functools.lru_cache(maxsize=64)
def zero_root(height: int) -> bytes:
    """Root of a subtree of ``2**height`` zero leaves (height 0 is :data:`ZERO_LEAF`)."""
    if height == 0:
        return ZERO_LEAF
    child = zero_root(height - 1)
    return _sha256(child + child).digest()


def leaf_hashes(data: bytes | bytearray | memoryview) -> list[bytes]:
    """SHA-256 of each 16 KiB block of ``data``; the last block may be short."""
    view = memoryview(data).cast("B")
    return [_sha256(view[i : i + BLOCK_SIZE]).digest() for i in range(0, len(view), BLOCK_SIZE)]


# [docs: merkle_root]
def merkle_root(hashes: Sequence[bytes], width: int | None = None, pad: bytes = ZERO_LEAF) -> bytes:
    """Root of the tree whose bottom layer is ``hashes`` padded to ``width`` entries.

    ``width`` is a power of two (default: the next power of two >= ``len(hashes)``);
    ``pad`` is what a missing bottom entry stands for: :data:`ZERO_LEAF` for leaves,
    ``zero_root(h)`` when the bottom layer is ``h`` levels up (e.g. a piece layer).
    """
    count = len(hashes)
    width = _next_pow2(count) if width is None else width
    if width & (width - 1) or width < count or width < 1:
        raise ValueError(f"cannot fit {count} hashes in a layer {width} wide")
    layer = list(hashes)
    while width > 1:
        if len(layer) % 2:
            layer.append(pad)  # the odd one out pairs with a padding subtree
        layer = [_sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
        pad = _sha256(pad + pad).digest()
        width //= 2
    return layer[0] if layer else pad
# [/docs: merkle_root]


def piece_root(data: bytes | bytearray | memoryview, piece_length: int) -> bytes:
    """Hash of one piece of a file longer than a piece: the root of its full subtree.

    ``data`` is the piece's bytes (shorter for a file's last piece); missing leaves are
    zero leaves. This is one entry of the file's piece layer.
    """
    return merkle_root(leaf_hashes(data), _check_piece_length(piece_length))


def file_root(data: bytes | bytearray | memoryview) -> bytes:
    """The ``pieces root`` of a whole (non-empty) file held in memory."""
    if not len(data):
        raise ValueError("an empty file has no pieces root (BEP 52)")
    return merkle_root(leaf_hashes(data))


def piece_layer(leaves: Sequence[bytes], piece_length: int) -> list[bytes]:
    """The piece layer over a file's leaves: one hash per piece, none for pure padding."""
    per_piece = _check_piece_length(piece_length)
    return [
        merkle_root(leaves[i : i + per_piece], per_piece) for i in range(0, len(leaves), per_piece)
    ]


# [docs: root_from_piece_layer]
def root_from_piece_layer(layer: Sequence[bytes], piece_length: int) -> bytes:
    """Rebuild a ``pieces root`` from a piece layer (how a client checks ``piece layers``).

    The layer is padded with roots of all-zero piece subtrees, not with zero leaves.
    """
    height = _check_piece_length(piece_length).bit_length() - 1
    return merkle_root(layer, pad=zero_root(height))
# [/docs: root_from_piece_layer]


class FileMerkle:
    """Incremental tree of one file: feed its bytes in order, in chunks of any size.

    Whole blocks inside a chunk are hashed straight from the caller's buffer; only a block
    split across two chunks is gathered in a small carry buffer. Leaves are folded into
    their piece's hash as soon as the piece is complete, so memory stays at one hash per
    piece (a 100 GiB file with 4 MiB pieces: 800 KiB, not 200 MiB of leaves).
    """

    def __init__(self, piece_length: int) -> None:
        self.piece_length = piece_length
        self._per_piece = _check_piece_length(piece_length)
        self.length = 0
        self._leaves: list[bytes] = []  # leaves of the piece being hashed
        self._layer: list[bytes] = []  # hashes of the pieces done
        self._carry = bytearray()

    def _add(self, leaves: Iterable[bytes]) -> None:
        self._leaves.extend(leaves)
        per_piece = self._per_piece
        while len(self._leaves) >= per_piece:
            self._layer.append(merkle_root(self._leaves[:per_piece], per_piece))
            del self._leaves[:per_piece]

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        view = memoryview(chunk).cast("B")
        self.length += len(view)
        pos = 0
        if self._carry:
            pos = min(BLOCK_SIZE - len(self._carry), len(view))
            self._carry += view[:pos]
            if len(self._carry) < BLOCK_SIZE:
                return
            self._add([_sha256(self._carry).digest()])
            self._carry.clear()
        whole = pos + (len(view) - pos) // BLOCK_SIZE * BLOCK_SIZE
        self._add(_sha256(view[i : i + BLOCK_SIZE]).digest() for i in range(pos, whole, BLOCK_SIZE))
        self._carry += view[whole:]

    def finish(self) -> tuple[bytes | None, list[bytes]]:
        """``(pieces root, piece layer)``: ``(None, [])`` for an empty file; the layer is
        empty for a file of at most one piece (BEP 52 stores none for it)."""
        if self._carry:
            self._leaves.append(_sha256(self._carry).digest())
            self._carry.clear()
        if self.length <= self.piece_length:
            # One piece at most: the tree spans the file's own leaves, padded to a power of
            # two of their count, not to a whole piece (a full piece is the same thing).
            if self._layer:
                return self._layer[0], []
            return (merkle_root(self._leaves) if self._leaves else None), []
        if self._leaves:  # the short last piece, padded with zero leaves to a whole piece
            self._layer.append(merkle_root(self._leaves, self._per_piece))
            self._leaves = []
        return root_from_piece_layer(self._layer, self.piece_length), list(self._layer)


#: Fields a piece hasher adds to a torrent, named by ``str`` or ``bytes``; values are bencodable.
HasherFields = Union[Mapping[str, object], Mapping[bytes, object]]


class PieceHasher(Protocol):
    """What a hash scheme's ``btref_piece_hasher`` hook returns: an incremental hasher the
    torrent creator (:mod:`btref.io.create`) streams every file through, once."""

    def start_file(self, entry: FileEntry) -> None:
        """A new file begins (pad files too, with ``entry.pad`` set)."""

    def update(self, chunk: memoryview) -> None:
        """The next bytes of that file, in order (zeros for a pad file); the view is valid
        only during the call."""

    def end_file(self) -> HasherFields:
        """Fields for that file's entry (``{"pieces root": ...}`` for v2)."""

    def finish(self) -> tuple[HasherFields, HasherFields]:
        """``(info_fields, outer_fields)``: keys for the info dict (``pieces``) and for the
        top-level dict (``piece layers``)."""
