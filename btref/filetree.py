"""BEP 52 file trees and piece layers: the v2 half of a .torrent.

BEP 52, "info dictionary", ``file tree``: a tree of dictionaries whose keys are path
elements; a file is a dictionary holding the single key ``""`` (the empty string), whose
value says ``length``, ``pieces root`` (SHA-256 merkle root of the file's 16 KiB
blocks, absent for empty files) and BEP 47 ``attr`` / ``symlink path``.

BEP 52, "piece layers" (outside the info dict): for every file larger than one piece,
its pieces root maps to the concatenated hashes of the merkle layer whose nodes each
cover one piece. :func:`layer_root` folds such a layer back up to the root, padding it
to a power of two with the hash of an all-zero piece, so a parser can check that a
layer belongs to its file before trusting it.

Invariants: every failure is a :class:`~btref.errors.MetainfoError` naming the field;
walking uses an explicit stack and is bounded (:data:`btref.paths.MAX_PATH_DEPTH` levels, a
caller-given number of files), so a hostile tree cannot exhaust the stack or memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from btref.errors import MetainfoError
from btref.paths import MAX_PATH_DEPTH

__all__ = ["BLOCK_SIZE", "V2File", "walk_file_tree", "layer_root", "pad_hash", "check_piece_layers", "layers_view"]

#: BEP 52: merkle leaves hash 16 KiB blocks.
BLOCK_SIZE = 16 * 1024
_ZERO = bytes(32)


@attrs.frozen
class V2File:
    """One leaf of a v2 file tree, path still raw (sanitizing is the caller's job)."""

    raw_path: tuple[bytes, ...]
    length: int
    pieces_root: bytes | None
    attr: bytes = b""
    symlink: tuple[bytes, ...] | None = None
    mtime: int | None = None


def _leaf(node: object, raw_path: tuple[bytes, ...]) -> V2File:
    where = "/".join(p.decode("utf-8", "replace") for p in raw_path)
    if not isinstance(node, dict):
        raise MetainfoError(f"'file tree' entry {where!r} is not a dictionary")
    length = node.get(b"length", 0)
    if not isinstance(length, int) or length < 0:
        raise MetainfoError(f"'file tree' entry {where!r}: 'length' must be a non-negative integer")
    attr = node.get(b"attr", b"")
    attr = attr if isinstance(attr, bytes) else b""
    if b"p" in attr:
        raise MetainfoError(f"'file tree' entry {where!r}: pad files ('attr' p) are not allowed in v2")
    symlink = None
    if b"l" in attr:
        target = node.get(b"symlink path")
        if not isinstance(target, list) or not all(isinstance(t, bytes) for t in target):
            raise MetainfoError(f"'file tree' entry {where!r}: 'symlink path' must be a list of strings")
        symlink, length = tuple(target), 0
    root = node.get(b"pieces root")
    if length > 0 and symlink is None:
        if not isinstance(root, bytes) or len(root) != 32:
            raise MetainfoError(f"'file tree' entry {where!r}: 'pieces root' must be 32 bytes")
        if root == _ZERO:
            raise MetainfoError(f"'file tree' entry {where!r}: 'pieces root' is all zeros")
    else:
        root = None
    mtime = node.get(b"mtime")
    return V2File(raw_path, length, root, attr, symlink, mtime if isinstance(mtime, int) else None)


def walk_file_tree(tree: object, *, max_files: int) -> list[V2File]:
    """Flatten a ``file tree`` into its files, in key order (which is file order).

    :raises MetainfoError: for a malformed tree, an empty name, a tree deeper than
        :data:`~btref.paths.MAX_PATH_DEPTH` or holding more than ``max_files`` files.
    """
    if not isinstance(tree, dict) or not tree:
        raise MetainfoError("'file tree' must be a non-empty dictionary")
    files: list[V2File] = []
    # An explicit stack (last in, first out), pushed in reverse so files come out sorted.
    stack: list[tuple[tuple[bytes, ...], dict[bytes, object]]] = [((), tree)]
    while stack:
        prefix, node = stack.pop()
        if len(prefix) > MAX_PATH_DEPTH:
            raise MetainfoError(f"'file tree' deeper than {MAX_PATH_DEPTH} levels")
        children = []
        for key in sorted(node):
            value = node[key]
            path = prefix + (key,)
            if key == b"":
                raise MetainfoError(f"'file tree' has an empty file name below {prefix!r}")
            if not isinstance(value, dict) or not value:
                raise MetainfoError(f"'file tree' entry {path!r} is not a non-empty dictionary")
            if b"" in value:
                if len(value) != 1:
                    raise MetainfoError(f"'file tree' entry {path!r} is both a file and a directory")
                files.append(_leaf(value[b""], path))
                if len(files) > max_files:
                    raise MetainfoError(f"'file tree' holds more than {max_files} files")
            else:
                children.append((path, value))
        stack.extend(reversed(children))
    # Depth-first in key order is exactly sorting by path (tuples compare element-wise);
    # files met at one level came out before that level's subdirectories, so sort once.
    files.sort(key=lambda f: f.raw_path)
    return files


def pad_hash(piece_length: int) -> bytes:
    """Root of a subtree of all-zero leaves covering one piece (BEP 52 padding)."""
    digest = _ZERO
    width = BLOCK_SIZE
    while width < piece_length:
        digest = hashlib.sha256(digest + digest).digest()
        width *= 2
    return digest


def layer_root(layer: bytes, piece_length: int) -> bytes:
    """Fold a piece layer (32-byte hashes) up to the file's pieces root."""
    nodes = [layer[i : i + 32] for i in range(0, len(layer), 32)]
    filler = pad_hash(piece_length)
    while len(nodes) > 1:
        if len(nodes) % 2:
            nodes.append(filler)
        nodes = [hashlib.sha256(nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes), 2)]
        filler = hashlib.sha256(filler + filler).digest()
    return nodes[0] if nodes else filler


def check_piece_layers(
    layers: object, files: list[V2File], piece_length: int, *, require_all: bool
) -> dict[bytes, bytes]:
    """Validate ``piece layers`` against the files; return it as a plain dict.

    Each key must be the pieces root of a file larger than one piece, each value exactly
    one 32-byte hash per piece of that file, folding up to that root. With
    ``require_all`` every such file must have its layer (otherwise a missing layer is
    allowed: peers can send it later, BEP 52 ``hash request``).
    """
    if layers is None:
        layers = {}
    if not isinstance(layers, dict):
        raise MetainfoError("'piece layers' must be a dictionary")
    lengths = {f.pieces_root: f.length for f in files if f.pieces_root is not None}
    result: dict[bytes, bytes] = {}
    for root, layer in layers.items():
        if root not in lengths:
            raise MetainfoError(f"'piece layers' has an entry for unknown root {root.hex()}")
        if not isinstance(layer, bytes) or len(layer) % 32:
            raise MetainfoError(f"'piece layers' entry {root.hex()} is not a string of 32-byte hashes")
        pieces = -(-lengths[root] // piece_length)
        if pieces <= 1 or len(layer) != 32 * pieces:
            raise MetainfoError(
                f"'piece layers' entry {root.hex()} has {len(layer) // 32} hashes, expected {pieces}"
            )
        if layer_root(layer, piece_length) != root:
            raise MetainfoError(f"'piece layers' entry {root.hex()} does not hash to its pieces root")
        result[root] = layer
    if require_all:
        for root, length in lengths.items():
            if length > piece_length and root not in result:
                raise MetainfoError(f"'piece layers' lacks the layer of pieces root {root.hex()}")
    return result


def layers_view(layers: Mapping[bytes, bytes]) -> Mapping[bytes, bytes]:
    """A read-only view, so a frozen Torrent cannot be changed through its layers."""
    return MappingProxyType(dict(layers))
