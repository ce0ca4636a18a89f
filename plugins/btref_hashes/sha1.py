"""SHA-1 piece hashes, the hash scheme of BitTorrent v1 (BEP 3, "info dictionary": ``pieces``).

A v1 torrent cuts the concatenation of all its files (pad files included, BEP 47) into
pieces of ``piece length`` bytes (the last one shorter) and stores the 20-byte SHA-1 of each
piece, back to back, in ``pieces``. A piece is good when its SHA-1 is the stored one.

This scheme answers for every torrent with piece hashes (v1 and hybrid) and stays silent
(``None``) for v2-only torrents.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from btref.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import FileEntry, Torrent

__all__ = ["SHA1", "SHA1Hasher"]


class SHA1:
    """SHA-1 of each piece over the files laid end to end (BEP 3)."""

    family = "hashes"
    name = "sha1"

    @hookimpl
    def btref_verify_piece(self, torrent: Torrent, index: int, data: memoryview) -> bool | None:
        # [docs: verify]
        hashes = torrent.piece_hashes
        if not hashes:
            return None  # v2-only: nothing to check against
        if not 0 <= index < len(hashes):
            return False
        return hashlib.sha1(data).digest() == hashes[index]
        # [/docs: verify]

    @hookimpl
    def btref_piece_hasher(self, version: str, piece_length: int) -> SHA1Hasher | None:
        return None if version == "v2" else SHA1Hasher(piece_length)


class SHA1Hasher:
    """Builds ``pieces`` while the creator streams the files through it, once.

    Pieces run across file boundaries in v1, so the running SHA-1 object lives on from
    one file to the next; a chunk is split only where a piece ends.
    """

    def __init__(self, piece_length: int) -> None:
        self.piece_length = piece_length
        self._hash = hashlib.sha1()
        self._filled = 0  # bytes of the current piece hashed so far
        self._pieces = bytearray()

    def start_file(self, entry: FileEntry) -> None:
        """Nothing to do: a v1 piece does not care where a file starts."""

    # [docs: update]
    def update(self, chunk: memoryview) -> None:
        view = memoryview(chunk).cast("B")
        pos, size = 0, len(view)
        while pos < size:
            take = min(self.piece_length - self._filled, size - pos)
            self._hash.update(view[pos : pos + take])
            self._filled += take
            pos += take
            if self._filled == self.piece_length:
                self._pieces += self._hash.digest()
                self._hash = hashlib.sha1()
                self._filled = 0
    # [/docs: update]

    def end_file(self) -> dict[str, object]:
        return {}

    def finish(self) -> tuple[dict[str, object], dict[str, object]]:
        if self._filled:  # the short last piece
            self._pieces += self._hash.digest()
            self._filled = 0
        return {"pieces": bytes(self._pieces)}, {}
