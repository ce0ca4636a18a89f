"""SHA-256 merkle trees per file, the hash scheme of BitTorrent v2 (BEP 52, "piece layers").

Every non-empty file of a v2 (or hybrid) torrent starts on a piece boundary, so a piece
belongs to exactly one file. The check depends on the file's size (:mod:`btref.hashing`):

* a file longer than one piece: the piece's subtree root (its 16 KiB leaves, padded with
  zero leaves to a full piece) must equal entry ``k`` of the file's piece layer, ``k``
  being the piece's position inside the file;
* a file of at most one piece has no piece layer: the tree over its own leaves (padded to
  a power of two, not to a piece) must equal its ``pieces root``.

In a hybrid torrent the last piece of a file is followed by pad-file zeros (BEP 47) that
are not part of the file's tree; they are cut off before hashing. This scheme answers
``None`` for v1-only torrents, and for a file whose piece layer is absent (a torrent from a
magnet link before the layers arrived): it has nothing to check against.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from btref import hashing
from btref.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import FileEntry, Torrent

__all__ = ["MerkleSHA256", "MerkleHasher"]


class MerkleSHA256:
    """SHA-256 merkle tree of 16 KiB blocks per file, checked against piece layers (BEP 52)."""

    family = "hashes"
    name = "merkle-sha256"

    def __init__(self) -> None:
        # The engine verifies piece after piece of one torrent: remember where its files
        # start (by identity, a Torrent is immutable) so finding a piece's file is a bisect.
        self._torrent: Torrent | None = None
        self._files: list[FileEntry] = []
        self._starts: list[int] = []
        self._end = 0

    def _file_of(self, torrent: Torrent, start: int) -> FileEntry | None:
        if torrent is not self._torrent:
            self._files = [f for f in torrent.files if f.length and not f.pad]
            self._starts = [f.offset for f in self._files]
            self._end = torrent.end
            self._torrent = torrent
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0 and start < self._files[i].offset + self._files[i].length:
            return self._files[i]
        return None

    @hookimpl
    def btref_verify_piece(self, torrent: Torrent, index: int, data: memoryview) -> bool | None:
        if torrent.info_hash_v2 is None:
            return None  # v1-only: not ours
        # [docs: verify]
        length = torrent.piece_length
        start = index * length
        entry = self._file_of(torrent, start)
        if entry is None:
            return False  # no file covers this piece: it cannot match anything
        if entry.pieces_root is None:
            return None
        view = memoryview(data).cast("B")
        own = min(length, entry.offset + entry.length - start)
        # In a hybrid torrent pad-file zeros may follow the file's end inside the piece:
        # they are not in the file's tree, but they must be there, and be zeros.
        size = own if torrent.info_hash_v1 is None else min(length, self._end - start)
        if len(view) != size or view[own:] != bytes(size - own):
            return False
        view = view[:own]
        if entry.length <= length:
            return hashing.merkle_root(hashing.leaf_hashes(view)) == entry.pieces_root
        layer = torrent.piece_layers.get(entry.pieces_root)
        k = (start - entry.offset) // length
        if layer is None or len(layer) < 32 * (k + 1):
            return None  # no piece layer for this file (yet)
        return hashing.piece_root(view, length) == layer[32 * k : 32 * k + 32]
        # [/docs: verify]

    @hookimpl
    def btref_piece_hasher(self, version: str, piece_length: int) -> MerkleHasher | None:
        return None if version == "v1" else MerkleHasher(piece_length)


class MerkleHasher:
    """Builds each file's ``pieces root`` and the torrent's ``piece layers`` while the
    creator streams the files through it once. Pad files are not part of any tree."""

    def __init__(self, piece_length: int) -> None:
        self.piece_length = piece_length
        self._file: hashing.FileMerkle | None = None
        self._layers: dict[bytes, bytes] = {}

    def start_file(self, entry: FileEntry) -> None:
        self._file = None if entry.pad else hashing.FileMerkle(self.piece_length)

    def update(self, chunk: memoryview) -> None:
        if self._file is not None:
            self._file.update(chunk)

    def end_file(self) -> dict[str, object]:
        if self._file is None:
            return {}
        root, layer = self._file.finish()
        self._file = None
        if root is None:
            return {}  # an empty file has no pieces root
        if layer:
            self._layers[root] = b"".join(layer)
        return {"pieces root": root}

    def finish(self) -> tuple[dict[str, object], dict[str, object]]:
        # BEP 52 wants the key even when no file is longer than a piece.
        return {}, {"piece layers": dict(self._layers)}
