"""Metainfo: what a .torrent file says (BEP 3; BEP 12, 19, 27, 47, 52).

SKELETON written by the lead: the attrs classes below are the agreed interface that
storage, hashing, creation and the engine build on. The metainfo helper fills in the
parsing and may add fields, but must not rename or remove these without telling the lead.

The *piece space*: every file has an ``offset`` into one long virtual byte stream that
pieces cut into ``piece_length`` slices.

* v1 and hybrid torrents: files (pad files included, BEP 47) lie back to back.
* v2-only torrents (BEP 52): each non-empty file starts on a piece boundary; the gap after
  a file's last byte is not data, and that file's last piece is shorter.

So piece ``i`` is the part of ``[i * piece_length, (i + 1) * piece_length)`` covered by
files, and :meth:`Torrent.piece_size` is the length of that part.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen
class FileEntry:
    """One file of a torrent, as it lands on disk below the download folder."""

    #: Path components relative to DATA_DIR, the torrent's ``name`` first for a multi-file
    #: torrent (``("album", "cd1", "01.flac")``), just ``(name,)`` for a single file.
    #: Every component is already sanitized: none is empty, ``.``, ``..`` or holds a separator.
    path: tuple[str, ...]
    length: int
    #: Where the file starts in the piece space (see the module docstring).
    offset: int
    #: A BEP 47 pad file: zeros that exist only for piece alignment; never written.
    pad: bool = False
    executable: bool = False
    hidden: bool = False
    #: BEP 47 symlink target (components), or ``None``.
    symlink: tuple[str, ...] | None = None
    #: BEP 52: SHA-256 merkle root of the file's 16 KiB blocks (``None`` in v1-only torrents
    #: and for empty files).
    pieces_root: bytes | None = None
    mtime: int | None = None


@attrs.frozen
class Torrent:
    """A parsed .torrent: the info dict's meaning plus the trackers around it."""

    name: str
    piece_length: int
    files: tuple[FileEntry, ...]
    #: v1 SHA-1 piece hashes, 20 bytes each (empty for a v2-only torrent).
    piece_hashes: tuple[bytes, ...]
    #: BEP 52 ``piece layers``: pieces root -> concatenated SHA-256 hashes of that file's pieces.
    piece_layers: Mapping[bytes, bytes]
    #: SHA-1 of the raw info bytes when the torrent has a v1 part, else ``None``.
    info_hash_v1: bytes | None
    #: SHA-256 of the raw info bytes when the torrent has a v2 part (``meta version`` 2), else ``None``.
    info_hash_v2: bytes | None
    #: The info dict exactly as it was in the file (what BEP 9 metadata exchange sends).
    info_bytes: bytes
    #: BEP 12 tiers; a lone ``announce`` becomes one tier of one URL.
    trackers: tuple[tuple[str, ...], ...] = ()
    #: BEP 19 ``url-list``.
    web_seeds: tuple[str, ...] = ()
    #: BEP 27: only the trackers may hand out peers (no DHT, no PEX).
    private: bool = False
    comment: str | None = None
    created_by: str | None = None
    creation_date: int | None = None

    # -- piece geometry (see the module docstring) -----------------------------------

    @property
    def version(self) -> str:
        """``"v1"``, ``"v2"`` or ``"hybrid"``: which hash schemes the torrent carries."""
        if self.info_hash_v1 is not None and self.info_hash_v2 is not None:
            return "hybrid"
        return "v2" if self.info_hash_v2 is not None else "v1"

    @property
    def info_hash(self) -> bytes:
        """The 20-byte id used on the wire and at trackers: the v1 hash, else the v2 hash
        truncated to 20 bytes (BEP 52, "info hash")."""
        if self.info_hash_v1 is not None:
            return self.info_hash_v1
        assert self.info_hash_v2 is not None
        return self.info_hash_v2[:20]

    @property
    def total_length(self) -> int:
        """Bytes of all files, pad files included (what v1 pieces cover)."""
        return sum(f.length for f in self.files)

    @property
    def end(self) -> int:
        """Where the last file ends in the piece space."""
        return max((f.offset + f.length for f in self.files), default=0)

    @property
    def num_pieces(self) -> int:
        return -(-self.end // self.piece_length)

    def piece_size(self, index: int) -> int:
        """Bytes in piece ``index``: ``piece_length`` except at the end of the torrent (v1)
        or at the end of each file (v2-only, where the gap after a file is not data)."""
        if not 0 <= index < self.num_pieces:
            raise IndexError(f"piece {index} out of range 0..{self.num_pieces - 1}")
        start = index * self.piece_length
        stop = start + self.piece_length
        covered = 0
        for f in self.files:
            lo, hi = max(start, f.offset), min(stop, f.offset + f.length)
            if hi > lo:
                covered += hi - lo
        return covered
