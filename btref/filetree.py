"""The files of a torrent: v1 ``files``, the v2 ``file tree``, hybrids, piece layers.

* BEP 3: a single-file torrent has ``length``; a multi-file one has ``files``, each with
  ``length`` and ``path`` (a list of elements), laid back to back (:func:`v1_entries`).
* BEP 47: ``attr`` flags ``p`` (pad file: zeros for alignment, never written), ``x``
  (executable), ``h`` (hidden), ``l`` (symlink, with ``symlink path``). Files named
  ``_____padding_file_...`` without ``attr`` are pad files too (an older convention).
* BEP 52, "info dictionary", ``file tree``: a tree of dictionaries keyed by path
  elements; a file is a dictionary holding the single key ``""``, whose value says
  ``length``, ``pieces root`` (SHA-256 merkle root of its 16 KiB blocks; absent for
  empty files) and ``attr``. Each non-empty file starts on a piece boundary
  (:func:`walk_file_tree`, :func:`v2_entries`).
* BEP 52, "piece layers" (outside the info dict): for every file larger than one piece,
  its pieces root maps to the hashes of the merkle layer whose nodes each cover one
  piece. :func:`layer_root` folds a layer back up to the root (padding with the root of
  an all-zero piece), so a parser checks a layer before trusting it.
* BEP 52, "hybrid torrents": the v1 list, pads included, must describe the same files
  as the tree, each aligned (:func:`check_hybrid`).

Invariants: every failure is a :class:`~btref.errors.MetainfoError` naming the field;
walks are bounded (:data:`btref.paths.MAX_PATH_DEPTH` levels, a caller-given number of
files), iterative (no recursion a hostile tree could exhaust), and every path is passed
through :func:`btref.paths.sanitize_path`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from btref.bencode import Value
from btref.errors import MetainfoError
from btref.paths import MAX_PATH_DEPTH, sanitize_path
from btref.wire import BLOCK_SIZE  # BEP 52: merkle leaves hash 16 KiB blocks

__all__ = [
    "BLOCK_SIZE",
    "MAX_FILE_LENGTH",
    "FileEntry",
    "V2File",
    "v1_entries",
    "v2_entries",
    "walk_file_tree",
    "check_hybrid",
    "check_piece_layers",
    "layer_root",
    "pad_hash",
    "layers_view",
    "resolve_symlinks",
]

#: Largest single file (16 TiB); a "length" beyond it is a hostile or broken torrent.
MAX_FILE_LENGTH = 1 << 44
#: A BEP 47-era convention (BitComet): pad files named like this, without an ``attr``.
_LEGACY_PAD_PREFIX = "_____padding_file_"
_ZERO = bytes(32)


@attrs.frozen
class FileEntry:
    """One file of a torrent, as it lands on disk below the download folder."""

    #: Path components relative to DATA_DIR, the torrent's ``name`` first for a multi-file
    #: torrent (``("album", "cd1", "01.flac")``), just ``(name,)`` for a single file.
    #: Every component is already sanitized: none is empty, ``.``, ``..`` or holds a separator.
    path: tuple[str, ...]
    length: int
    #: Where the file starts in the piece space (see :mod:`btref.metainfo`).
    offset: int
    #: A BEP 47 pad file: zeros that exist only for piece alignment; never written.
    pad: bool = False
    executable: bool = False
    hidden: bool = False
    #: BEP 47 symlink target, components relative to DATA_DIR like ``path``, or ``None``.
    symlink: tuple[str, ...] | None = None
    #: BEP 52: SHA-256 merkle root of the file's 16 KiB blocks (``None`` in v1-only torrents
    #: and for empty files).
    pieces_root: bytes | None = None
    mtime: int | None = None


@attrs.frozen
class V2File:
    """One leaf of a v2 file tree, path still raw (sanitizing is the caller's job)."""

    raw_path: tuple[bytes, ...]
    length: int
    pieces_root: bytes | None
    attr: bytes = b""
    symlink: tuple[bytes, ...] | None = None
    mtime: int | None = None


def _where(raw_path: tuple[bytes, ...]) -> str:
    return "/".join(p.decode("utf-8", "replace") for p in raw_path)


def _leaf(node: object, raw_path: tuple[bytes, ...]) -> V2File:
    where = _where(raw_path)
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
                raise MetainfoError(f"'file tree' has an empty file name in {_where(prefix) or 'its root'!r}")
            if not isinstance(value, dict) or not value:
                raise MetainfoError(f"'file tree' entry {_where(path)!r} is not a non-empty dictionary")
            if b"" in value:
                if len(value) != 1:
                    raise MetainfoError(f"'file tree' entry {_where(path)!r} is both a file and a directory")
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
    # [docs: layer-root]
    nodes = [layer[i : i + 32] for i in range(0, len(layer), 32)]
    filler = pad_hash(piece_length)
    while len(nodes) > 1:
        if len(nodes) % 2:
            nodes.append(filler)
        nodes = [hashlib.sha256(nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes), 2)]
        filler = hashlib.sha256(filler + filler).digest()
    return nodes[0] if nodes else filler
    # [/docs: layer-root]


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


def check_hybrid(v1: list[FileEntry], v2: list[FileEntry], piece_length: int) -> list[FileEntry]:
    """BEP 52, "hybrid torrents": the v1 ``files`` (with pads) must list exactly the v2
    files, in the same order, each non-empty one starting on a piece boundary.

    Takes and returns :class:`~btref.metainfo.FileEntry` lists (v1 entries gain their
    ``pieces_root``).
    """
    real = [i for i, f in enumerate(v1) if not f.pad]
    if len(real) != len(v2):
        raise MetainfoError(f"'files' lists {len(real)} files but 'file tree' has {len(v2)}")
    merged = list(v1)
    for i, f2 in zip(real, v2):
        f1 = v1[i]
        if f1.path != f2.path or f1.length != f2.length or (f1.symlink is None) != (f2.symlink is None):
            raise MetainfoError(
                f"'files' and 'file tree' disagree on file {i}: "
                f"{'/'.join(f1.path)!r} ({f1.length} bytes) vs {'/'.join(f2.path)!r} ({f2.length} bytes)"
            )
        if f1.length and f1.offset % piece_length:
            raise MetainfoError(f"'files'[{i}] {'/'.join(f1.path)!r} does not start on a piece boundary")
        merged[i] = attrs.evolve(f1, pieces_root=f2.pieces_root)
    return merged


def _length(value: object, field: str) -> int:
    if not isinstance(value, int) or value < 0:
        raise MetainfoError(f"{field} is missing or not a non-negative integer")
    if value > MAX_FILE_LENGTH:
        raise MetainfoError(f"{field} {value} exceeds the limit of {MAX_FILE_LENGTH}")
    return value


def _path_list(value: object, field: str) -> list[bytes]:
    if not isinstance(value, list) or not all(isinstance(p, bytes) for p in value):
        raise MetainfoError(f"{field} is missing or not a list of strings")
    if len(value) > MAX_PATH_DEPTH:
        raise MetainfoError(f"{field} has more than {MAX_PATH_DEPTH} elements")
    return value


def _symlink(raw: list[bytes], prefix: tuple[str, ...]) -> tuple[str, ...]:
    return prefix + (sanitize_path(raw, keep_empty=True) or ("_",))


def _attr(fields: dict[bytes, Value]) -> bytes:
    """BEP 47 ``attr``: one letter per attribute; anything but a string counts as none."""
    attr = fields.get(b"attr")
    return attr if isinstance(attr, bytes) else b""


def v1_entries(info: dict[bytes, Value], name: str, *, max_files: int) -> list[FileEntry]:
    """BEP 3 ``length`` or ``files`` (with BEP 47 attributes), back to back from offset 0."""
    if b"files" not in info:
        if b"length" not in info:
            raise MetainfoError("'info' has neither 'length' nor 'files'")
        attr = _attr(info)
        return [FileEntry((name,), _length(info[b"length"], "'length'"), 0,
                          executable=b"x" in attr, hidden=b"h" in attr)]
    raw_files = info[b"files"]
    if not isinstance(raw_files, list) or not raw_files:
        raise MetainfoError("'files' must be a non-empty list")
    if len(raw_files) > max_files:
        raise MetainfoError(f"'files' lists more than {max_files} files")
    entries: list[FileEntry] = []
    offset = 0
    for i, fd in enumerate(raw_files):
        where = f"'files'[{i}]"
        if not isinstance(fd, dict):
            raise MetainfoError(f"{where} is not a dictionary")
        attr = _attr(fd)
        symlink = None
        if b"l" in attr:  # BEP 47: a symlink holds no data, whatever 'length' says
            symlink = _symlink(_path_list(fd.get(b"symlink path"), f"{where} 'symlink path'"), (name,))
            length = 0
        else:
            length = _length(fd.get(b"length"), f"{where} 'length'")
        pad = b"p" in attr
        raw_path = fd.get(b"path.utf-8")  # written by old clients beside a legacy-encoded 'path'
        if not isinstance(raw_path, list) or not all(isinstance(p, bytes) for p in raw_path):
            raw_path = fd.get(b"path")
        if pad and raw_path is None:
            parts: tuple[str, ...] = (".pad", str(length))
        else:
            parts = sanitize_path(_path_list(raw_path, f"{where} 'path'"), keep_empty=True) or ("_",)
            pad = pad or parts[-1].startswith(_LEGACY_PAD_PREFIX)
        mtime = fd.get(b"mtime")
        entries.append(FileEntry((name, *parts), length, offset, pad=pad, executable=b"x" in attr,
                                 hidden=b"h" in attr, symlink=symlink, mtime=mtime if isinstance(mtime, int) else None))
        offset += length
    return entries


def v2_entries(v2files: list[V2File], name: str, piece_length: int, *, single: bool) -> list[FileEntry]:
    """BEP 52 files: each non-empty file starts on a piece boundary.

    ``single``: the torrent is one file, whose path is its tree key (else every path
    starts with the torrent's ``name``, the top folder).
    """
    # [docs: v2-offsets]
    entries, offset = [], 0
    for f in v2files:
        parts = sanitize_path(f.raw_path, keep_empty=True) or ("_",)
        prefix = () if single else (name,)
        symlink = None if f.symlink is None else _symlink(list(f.symlink), (name,))
        entries.append(FileEntry(prefix + parts, f.length, offset, executable=b"x" in f.attr,
                                 hidden=b"h" in f.attr, symlink=symlink, pieces_root=f.pieces_root,
                                 mtime=f.mtime))
        offset += -(-f.length // piece_length) * piece_length
    # [/docs: v2-offsets]
    return entries


def resolve_symlinks(files: list[FileEntry]) -> list[FileEntry]:
    """BEP 47: a ``symlink path`` is relative to the torrent root. Some creators wrote it
    relative to the link's own folder instead (macOS frameworks: ``Versions/Current`` ->
    ``A``). When the root-relative target names nothing in the torrent but the
    link-relative one does, take that one, as libtorrent does."""
    known: set[tuple[str, ...]] = set()
    for f in files:
        known.update(f.path[:k] for k in range(1, len(f.path) + 1))
    out = []
    for f in files:
        if f.symlink is not None and f.symlink not in known:
            beside = f.path[:-1] + f.symlink[1:]
            if beside in known:
                f = attrs.evolve(f, symlink=beside)
        out.append(f)
    return out
