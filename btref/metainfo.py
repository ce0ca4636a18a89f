"""Metainfo: what a .torrent file says (BEP 3 "metainfo files"; BEP 12, 19, 27, 47, 52).

:func:`parse` turns the bytes of a .torrent into a frozen :class:`Torrent`; :func:`load`
reads one from disk; :func:`from_info` builds one from bare info-dict bytes (what BEP 9
metadata exchange delivers). By BEP section:

* BEP 3, "metainfo files": ``announce``; ``info`` with ``name``, ``piece length``,
  ``pieces`` and ``length`` or ``files``. The v1 info hash is SHA-1 of the *original*
  info bytes, never of a re-encoding (files in the wild are not always canonical).
* BEP 12 ``announce-list`` tiers; BEP 19 ``url-list``; BEP 27 ``private``.
* BEP 47 pad files, attributes and symlinks, BEP 52 ``file tree``, ``piece layers`` and
  hybrid torrents: see :mod:`btref.filetree` (which also defines :class:`FileEntry`,
  re-exported here). The v2 info hash is SHA-256 of the same original info bytes.

The *piece space*: every file has an ``offset`` into one long virtual byte stream that
pieces cut into ``piece_length`` slices.

* v1 and hybrid torrents: files (pad files included, BEP 47) lie back to back.
* v2-only torrents (BEP 52): each non-empty file starts on a piece boundary; the gap after
  a file's last byte is not data, and that file's last piece is shorter.

So piece ``i`` is the part of ``[i * piece_length, (i + 1) * piece_length)`` covered by
files, and :meth:`Torrent.piece_size` is the length of that part.

Invariants: every rejection is a :class:`~btref.errors.MetainfoError` naming the field
(or a :class:`~btref.errors.BencodeError` for bytes that are not bencoding); the hard
limits below are checked before anything is built from a size the file merely claims;
every :attr:`FileEntry.path` is sanitized by :mod:`btref.paths` and unique.
"""

from __future__ import annotations

import hashlib
import sys
from bisect import bisect_right
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import attrs

from btref.bencode import Value, decode, decode_prefix, decode_with_spans
from btref.errors import BencodeError, MetainfoError
from btref.filetree import (
    MAX_FILE_LENGTH,
    FileEntry,
    V2File,
    check_hybrid,
    check_piece_layers,
    layers_view,
    resolve_symlinks,
    v1_entries,
    v2_entries,
    walk_file_tree,
)
from btref.paths import sanitize_component, unique_paths

__all__ = [
    "FileEntry", "Torrent", "parse", "load", "from_info",
    "MAX_FILES", "MAX_PIECES", "MAX_PIECE_LENGTH", "MAX_FILE_LENGTH", "MAX_TORRENT_SIZE",
    "MAX_DUPLICATE_RENAMES", "MIN_V2_PIECE_LENGTH",
]

#: Most files (pad files included) one torrent may list.
MAX_FILES = 1 << 20
#: Most pieces one torrent may have: 2 Mi pieces is 32 TiB at 16 MiB pieces.
MAX_PIECES = 1 << 21
#: Largest piece length accepted (libtorrent's limit is about the same, 512 MiB).
MAX_PIECE_LENGTH = 1 << 29
#: Largest .torrent file :func:`load` reads.
MAX_TORRENT_SIZE = 64 * 1024 * 1024
#: How many files may be renamed to resolve duplicate paths before we give up.
MAX_DUPLICATE_RENAMES = 100
#: BEP 52: v2 piece length is a power of two, at least one 16 KiB block.
MIN_V2_PIECE_LENGTH = 16 * 1024


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

    #: The BEP 52 file tree had files whose ``piece layers`` are missing (lenient parse only):
    #: their pieces cannot be checked until a peer sends the hashes.
    missing_piece_layers: bool = False

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

    @cached_property
    def _spans(self) -> tuple[list[int], list[int], int, int]:
        """(starts, ends) of the non-empty files in offset order, the end, the total."""
        spans = sorted((f.offset, f.offset + f.length) for f in self.files if f.length)
        return [a for a, _ in spans], [b for _, b in spans], max((b for _, b in spans), default=0), sum(
            f.length for f in self.files
        )

    @property
    def total_length(self) -> int:
        """Bytes of all files, pad files included (what v1 pieces cover)."""
        return self._spans[3]

    @property
    def end(self) -> int:
        """Where the last file ends in the piece space."""
        return self._spans[2]

    @property
    def num_pieces(self) -> int:
        return -(-self.end // self.piece_length)

    def piece_size(self, index: int) -> int:
        """Bytes in piece ``index``: ``piece_length`` except at the end of the torrent (v1)
        or at the end of each file (v2-only, where the gap after a file is not data).

        O(log files): a bisect finds the first file reaching into the piece.
        """
        if not 0 <= index < self.num_pieces:
            raise IndexError(f"piece {index} out of range 0..{self.num_pieces - 1}")
        # [docs: piece-size]
        starts, ends, _, _ = self._spans
        start = index * self.piece_length
        stop = start + self.piece_length
        covered = 0
        i = bisect_right(ends, start)
        while i < len(starts) and starts[i] < stop:
            covered += min(stop, ends[i]) - max(start, starts[i])
            i += 1
        return covered
        # [/docs: piece-size]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``btref info --json`` prints, less the magnet)."""
        return {
            "name": self.name,
            "info_hash_v1": self.info_hash_v1.hex() if self.info_hash_v1 else None,
            "info_hash_v2": self.info_hash_v2.hex() if self.info_hash_v2 else None,
            "version": self.version,
            "piece_length": self.piece_length,
            "num_pieces": self.num_pieces,
            "total_length": self.total_length,
            "private": self.private,
            "trackers": [list(tier) for tier in self.trackers],
            "web_seeds": list(self.web_seeds),
            "files": [{"path": "/".join(f.path), "length": f.length, "pad": f.pad} for f in self.files],
            "comment": self.comment,
            "created_by": self.created_by,
            "creation_date": self.creation_date,
        }


# -- parsing ------------------------------------------------------------------------------


def parse(data: bytes | bytearray | memoryview, *, strict: bool = False) -> Torrent:
    """Parse the bytes of a .torrent file.

    ``strict=False`` (the default) accepts what real-world files get wrong and libtorrent
    loads: unsorted or duplicate keys outside a v2 info dict, bytes after the top-level
    dictionary, missing ``piece layers``. ``strict=True`` rejects all of these.

    :raises MetainfoError: for a malformed or unsafe torrent; the message names the field.
    :raises BencodeError: for bytes that are not bencoding.
    """
    data = bytes(data)
    if data[:1] != b"d":
        raise MetainfoError("a .torrent file must hold a bencoded dictionary")
    # [docs: parse]
    try:
        top, spans = decode_with_spans(data, strict=strict)
    except BencodeError:
        if strict:
            raise
        # libtorrent ignores bytes after the top-level dictionary, and so do we: find where
        # it ends (this re-raises if the dictionary itself is broken) and decode just that.
        _, used = decode_prefix(data, strict=False)
        top, spans = decode_with_spans(data[:used], strict=False)
    info = top.get(b"info")
    if not isinstance(info, dict):
        raise MetainfoError("'info' is missing or not a dictionary")
    return from_info(data[slice(*spans[b"info"])], top, strict=strict, _info=info)
    # [/docs: parse]


def from_info(
    info_bytes: bytes, outer: Mapping[bytes, object] | None = None, *, strict: bool = False,
    _info: dict[bytes, Value] | None = None,
) -> Torrent:
    """Build a :class:`Torrent` from raw info-dict bytes (e.g. received by BEP 9) and the
    optional top-level dict around it (trackers, ``piece layers``)."""
    info = decode(info_bytes, strict=strict) if _info is None else _info
    if not isinstance(info, dict):
        raise MetainfoError("'info' is not a dictionary")
    outer = outer or {}
    meta = info.get(b"meta version")
    if isinstance(meta, int) and meta > 2:
        raise MetainfoError(f"'meta version' {meta} is not supported (1 and 2 are)")
    has_v2, has_v1 = meta == 2, b"pieces" in info
    if not has_v1 and not has_v2:
        raise MetainfoError("'pieces' is missing (and 'meta version' is not 2)")
    if has_v2 and not strict:
        decode(info_bytes, strict=True)  # a v2 info dict must be canonical (as libtorrent checks)
    # [docs: info-hash]
    hash_v1 = hashlib.sha1(info_bytes).digest() if has_v1 else None
    hash_v2 = hashlib.sha256(info_bytes).digest() if has_v2 else None
    # [/docs: info-hash]
    piece_length = _piece_length(info, has_v2)
    name = _name(info, (hash_v1 or hash_v2 or b"")[:20])
    v2files: list[V2File] = []
    if has_v2:
        v2files = walk_file_tree(info.get(b"file tree"), max_files=MAX_FILES)
        # v2 has no single-file form of its own: one file at the top of the tree is one. A
        # folder holding one file looks the same; libtorrent loads it as the bare file, and
        # so do we. A hybrid's v1 half (``length`` or ``files``) says which it is.
        single = b"files" not in info if has_v1 else (
            len(v2files) == 1 and len(v2files[0].raw_path) == 1 and v2files[0].symlink is None)
        files = v2_entries(v2files, name, piece_length, single=single)
    if has_v1:
        v1 = v1_entries(info, name, max_files=MAX_FILES)
        files = check_hybrid(v1, files, piece_length) if has_v2 else v1
    files = resolve_symlinks(unique_paths(files, max_renames=MAX_DUPLICATE_RENAMES))
    if not any(f.length for f in files):
        raise MetainfoError("'length': the torrent holds no data (every file is empty)")
    end = max(f.offset + f.length for f in files)
    num_pieces = -(-end // piece_length)
    if num_pieces > MAX_PIECES:
        raise MetainfoError(
            f"'length' and 'piece length' make {num_pieces} pieces, over the limit of {MAX_PIECES}"
        )
    layers: dict[bytes, bytes] = {}
    if has_v2:
        layers = check_piece_layers(outer.get(b"piece layers"), v2files, piece_length, require_all=strict)
    return Torrent(
        name=name,
        piece_length=piece_length,
        files=tuple(files),
        piece_hashes=_piece_hashes(info, num_pieces) if has_v1 else (),
        piece_layers=layers_view(layers),
        info_hash_v1=hash_v1,
        info_hash_v2=hash_v2,
        info_bytes=bytes(info_bytes),
        trackers=_trackers(outer),
        web_seeds=_web_seeds(outer),
        private=info.get(b"private") == 1,
        comment=_text(outer.get(b"comment.utf-8", outer.get(b"comment"))),
        created_by=_text(outer.get(b"created by")),
        creation_date=_int_or_none(outer.get(b"creation date")),
        missing_piece_layers=any(
            f.length > piece_length and f.pieces_root not in layers for f in v2files if f.pieces_root
        ),
    )


def _text(value: object) -> str | None:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _piece_length(info: dict[bytes, Value], has_v2: bool) -> int:
    pl = info.get(b"piece length")
    if not isinstance(pl, int) or pl <= 0:
        raise MetainfoError("'piece length' is missing or not a positive integer")
    if pl > MAX_PIECE_LENGTH:
        raise MetainfoError(f"'piece length' {pl} exceeds the limit of {MAX_PIECE_LENGTH}")
    if has_v2 and (pl < MIN_V2_PIECE_LENGTH or pl & (pl - 1)):
        raise MetainfoError(f"'piece length' {pl} must be a power of two >= 16 KiB in a v2 torrent")
    return pl


def _name(info: dict[bytes, Value], info_hash: bytes) -> str:
    raw = info.get(b"name.utf-8")  # written by old clients beside a legacy-encoded 'name'
    if not isinstance(raw, bytes) or not raw:
        raw = info.get(b"name")
    if not isinstance(raw, bytes):
        raise MetainfoError("'name' is missing or not a string")
    raw = raw.split(b"\0", 1)[0]
    if not raw:  # empty (up to a NUL) in the torrent itself: there is no name at all
        raise MetainfoError("'name' is empty")
    name = sanitize_component(raw, windows=sys.platform == "win32")
    # A name that sanitizes to nothing (e.g. "..") falls back to the info hash, as libtorrent does.
    return info_hash.hex() if name in ("", ".", "..") else name


def _piece_hashes(info: dict[bytes, Value], num_pieces: int) -> tuple[bytes, ...]:
    pieces = info.get(b"pieces")
    if not isinstance(pieces, bytes) or len(pieces) % 20:
        raise MetainfoError("'pieces' must be a string of 20-byte SHA-1 hashes")
    if len(pieces) // 20 != num_pieces:
        raise MetainfoError(f"'pieces' holds {len(pieces) // 20} hashes, but the files need {num_pieces}")
    return tuple(pieces[i : i + 20] for i in range(0, len(pieces), 20))


def _trackers(outer: Mapping[bytes, object]) -> tuple[tuple[str, ...], ...]:
    """BEP 12: ``announce-list`` tiers win; else ``announce`` is one tier of one URL."""
    tiers: list[tuple[str, ...]] = []
    raw = outer.get(b"announce-list")
    for tier in raw if isinstance(raw, list) else ():
        urls: list[str] = []
        for url in tier if isinstance(tier, list) else [tier]:
            text = (_text(url) or "").strip()
            if text and text not in urls:
                urls.append(text)
        if urls:
            tiers.append(tuple(urls))
    if not tiers:
        text = (_text(outer.get(b"announce")) or "").strip()
        if text:
            tiers.append((text,))
    return tuple(tiers)


def _web_seeds(outer: Mapping[bytes, object]) -> tuple[str, ...]:
    """BEP 19 ``url-list``: a string or a list; wrong types and empty URLs are ignored."""
    raw = outer.get(b"url-list")
    seeds: list[str] = []
    for url in [raw] if isinstance(raw, bytes) else raw if isinstance(raw, list) else ():
        text = (_text(url) or "").strip()
        if text and text not in seeds:
            seeds.append(text)
    return tuple(seeds)
