from __future__ import annotations

import hashlib
import os
from bisect import bisect_right
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import attrs

from btref.bencode import decode, decode_prefix, decode_with_spans
from btref.errors import MetainfoError
from btref.filetree import V2File, check_piece_layers, layers_view, walk_file_tree
from btref.paths import MAX_PATH_DEPTH, sanitize_component, sanitize_path

__all__ = [
    "FileEntry", "Torrent", "parse", "load",
    "MAX_FILES", "MAX_PIECES", "MAX_PIECE_LENGTH", "MAX_FILE_LENGTH", "MAX_TORRENT_SIZE",
]

#: Most files (pad files included) one torrent may list.
MAX_FILES = 1 << 20
#: Most pieces one torrent may have: 2 Mi pieces is 32 TiB at 16 MiB pieces.
MAX_PIECES = 1 << 21
#: Largest piece length accepted (libtorrent's limit is about the same, 512 MiB).
MAX_PIECE_LENGTH = 1 << 29
#: Largest single file (16 TiB); a "length" beyond it is a hostile or broken torrent.
MAX_FILE_LENGTH = 1 << 44
#: Largest .torrent file :func:`load` reads.
MAX_TORRENT_SIZE = 64 * 1024 * 1024
#: How many files may be renamed to resolve duplicate paths before we give up.
MAX_DUPLICATE_RENAMES = 100
#: BEP 52: v2 piece length is a power of two, at least one 16 KiB block.
MIN_V2_PIECE_LENGTH = 16 * 1024
#: A BEP 47-era convention (BitComet): pad files named like this, without an ``attr``.
_LEGACY_PAD_PREFIX = "_____padding_file_"


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
        starts, ends, _, _ = self._spans
        start = index * self.piece_length
        stop = start + self.piece_length
        covered = 0
        i = bisect_right(ends, start)
        while i < len(starts) and starts[i] < stop:
            covered += min(stop, ends[i]) - max(start, starts[i])
            i += 1
        return covered

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


def load(path: str | os.PathLike[str], *, strict: bool = False) -> Torrent:
    """Read and :func:`parse` the .torrent file at ``path``.

    :raises MetainfoError: when the file cannot be read, is larger than
        :data:`MAX_TORRENT_SIZE`, or is not a valid torrent.
    :raises BencodeError: when it is not bencoding at all.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TORRENT_SIZE + 1)
    except OSError as exc:
        raise MetainfoError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    if len(data) > MAX_TORRENT_SIZE:
        raise MetainfoError(f"{os.fspath(path)!r} is larger than {MAX_TORRENT_SIZE} bytes")
    return parse(data, strict=strict)


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
    if strict:
        top, spans = decode_with_spans(data, strict=True)
    else:  # libtorrent ignores bytes after the top-level dictionary, and so do we
        _, used = decode_prefix(data, strict=False)
        top, spans = decode_with_spans(data[:used], strict=False)
    info = top.get(b"info")
    if not isinstance(info, dict):
        raise MetainfoError("'info' is missing or not a dictionary")
    return from_info(data[slice(*spans[b"info"])], top, strict=strict, _info=info)


def from_info(
    info_bytes: bytes, outer: Mapping[bytes, Any] | None = None, *, strict: bool = False, _info: Any = None
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
    hash_v1 = hashlib.sha1(info_bytes).digest() if has_v1 else None
    hash_v2 = hashlib.sha256(info_bytes).digest() if has_v2 else None
    piece_length = _piece_length(info, has_v2)
    name = _name(info, (hash_v1 or hash_v2 or b"")[:20])
    v2files: list[V2File] = []
    if has_v2:
        v2files = walk_file_tree(info.get(b"file tree"), max_files=MAX_FILES)
        files = _v2_entries(v2files, name, piece_length)
    if has_v1:
        v1 = _v1_entries(info, name)
        files = _hybrid(v1, files, piece_length) if has_v2 else v1
    files = _unique(files)
    if not any(f.length for f in files):
        raise MetainfoError("'length': the torrent holds no data (every file is empty)")
    end = max(f.offset + f.length for f in files)
    num_pieces = -(-end // piece_length)
    if num_pieces > MAX_PIECES:
        raise MetainfoError(f"'piece length': {num_pieces} pieces exceed the limit of {MAX_PIECES}")
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


def _piece_length(info: dict[bytes, Any], has_v2: bool) -> int:
    pl = info.get(b"piece length")
    if not isinstance(pl, int) or pl <= 0:
        raise MetainfoError("'piece length' is missing or not a positive integer")
    if pl > MAX_PIECE_LENGTH:
        raise MetainfoError(f"'piece length' {pl} exceeds the limit of {MAX_PIECE_LENGTH}")
    if has_v2 and (pl < MIN_V2_PIECE_LENGTH or pl & (pl - 1)):
        raise MetainfoError(f"'piece length' {pl} must be a power of two >= 16 KiB in a v2 torrent")
    return pl


def _name(info: dict[bytes, Any], info_hash: bytes) -> str:
    raw = info.get(b"name.utf-8")
    if not isinstance(raw, bytes):
        raw = info.get(b"name")
    if not isinstance(raw, bytes):
        raise MetainfoError("'name' is missing or not a string")
    raw = raw.split(b"\0", 1)[0]
    if not raw:  # empty (up to a NUL) in the torrent itself: there is no name at all
        raise MetainfoError("'name' is empty")
    name = sanitize_component(raw, windows=os.name == "nt")
    # A name that sanitizes to nothing (e.g. "..") falls back to the info hash, as libtorrent does.
    return info_hash.hex() if name in ("", ".", "..") else name


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
    return prefix + (sanitize_path(raw) or ("_",))


def _v1_entries(info: dict[bytes, Any], name: str) -> list[FileEntry]:
    """BEP 3 ``length`` or ``files`` (with BEP 47 attributes), back to back from offset 0."""
    if b"files" not in info:
        if b"length" not in info:
            raise MetainfoError("'info' has neither 'length' nor 'files'")
        attr = info.get(b"attr") if isinstance(info.get(b"attr"), bytes) else b""
        return [FileEntry((name,), _length(info[b"length"], "'length'"), 0,
                          executable=b"x" in attr, hidden=b"h" in attr)]
    raw_files = info[b"files"]
    if not isinstance(raw_files, list) or not raw_files:
        raise MetainfoError("'files' must be a non-empty list")
    if len(raw_files) > MAX_FILES:
        raise MetainfoError(f"'files' lists more than {MAX_FILES} files")
    entries, offset = [], 0
    for i, fd in enumerate(raw_files):
        where = f"'files'[{i}]"
        if not isinstance(fd, dict):
            raise MetainfoError(f"{where} is not a dictionary")
        attr = fd.get(b"attr") if isinstance(fd.get(b"attr"), bytes) else b""
        symlink = None
        if b"l" in attr:  # BEP 47: a symlink holds no data, whatever 'length' says
            symlink = _symlink(_path_list(fd.get(b"symlink path"), f"{where} 'symlink path'"), (name,))
            length = 0
        else:
            length = _length(fd.get(b"length"), f"{where} 'length'")
        pad = b"p" in attr
        raw_path = fd.get(b"path.utf-8") if isinstance(fd.get(b"path.utf-8"), list) else fd.get(b"path")
        if pad and raw_path is None:
            parts: tuple[str, ...] = (".pad", str(length))
        else:
            parts = sanitize_path(_path_list(raw_path, f"{where} 'path'")) or ("_",)
            pad = pad or parts[-1].startswith(_LEGACY_PAD_PREFIX)
        entries.append(FileEntry((name, *parts), length, offset, pad=pad, executable=b"x" in attr,
                                 hidden=b"h" in attr, symlink=symlink, mtime=_int_or_none(fd.get(b"mtime"))))
        offset += length
    return entries


def _v2_entries(v2files: list[V2File], name: str, piece_length: int) -> list[FileEntry]:
    """BEP 52 files: each non-empty file starts on a piece boundary."""
    single = len(v2files) == 1 and len(v2files[0].raw_path) == 1 and v2files[0].symlink is None
    entries, offset = [], 0
    for f in v2files:
        parts = sanitize_path(f.raw_path) or ("_",)
        prefix = () if single else (name,)
        symlink = None if f.symlink is None else _symlink(list(f.symlink), (name,))
        entries.append(FileEntry(prefix + parts, f.length, offset, executable=b"x" in f.attr,
                                 hidden=b"h" in f.attr, symlink=symlink, pieces_root=f.pieces_root,
                                 mtime=f.mtime))
        offset += -(-f.length // piece_length) * piece_length
    return entries


def _hybrid(v1: list[FileEntry], v2: list[FileEntry], piece_length: int) -> list[FileEntry]:
    """A hybrid's v1 list (with pads) must describe exactly the v2 files, each aligned."""
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


def _unique(files: list[FileEntry]) -> list[FileEntry]:
    """Give every non-pad file its own path: a duplicate ``a/b.txt`` becomes ``a/b.1.txt``."""
    taken: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    counters: dict[tuple[str, ...], int] = {}
    renames = 0
    out = []
    for f in files:
        if f.pad:  # pad files are never written, so their names may repeat
            out.append(f)
            continue
        path = f.path
        if any(path[:k] in taken for k in range(1, len(path))):
            raise MetainfoError(f"'files': {'/'.join(path)!r} lies below a file of the same name")
        if path in taken or path in dirs:
            stem, dot, ext = path[-1].rpartition(".")
            stem, ext = (stem, dot + ext) if stem else (path[-1], "")
            n = counters.get(path, 0)
            while path in taken or path in dirs:
                n, renames = n + 1, renames + 1
                if renames > MAX_DUPLICATE_RENAMES:
                    raise MetainfoError(f"'files': more than {MAX_DUPLICATE_RENAMES} duplicate file names")
                path = f.path[:-1] + (f"{stem}.{n}{ext}",)
            counters[f.path] = n
            f = attrs.evolve(f, path=path)
        taken.add(path)
        dirs.update(path[:k] for k in range(1, len(path)))
        out.append(f)
    return out


def _piece_hashes(info: dict[bytes, Any], num_pieces: int) -> tuple[bytes, ...]:
    pieces = info.get(b"pieces")
    if not isinstance(pieces, bytes) or len(pieces) % 20:
        raise MetainfoError("'pieces' must be a string of 20-byte SHA-1 hashes")
    if len(pieces) // 20 != num_pieces:
        raise MetainfoError(f"'pieces' holds {len(pieces) // 20} hashes, but the files need {num_pieces}")
    return tuple(pieces[i : i + 20] for i in range(0, len(pieces), 20))


def _trackers(outer: Mapping[bytes, Any]) -> tuple[tuple[str, ...], ...]:
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


def _web_seeds(outer: Mapping[bytes, Any]) -> tuple[str, ...]:
    """BEP 19 ``url-list``: a string or a list; wrong types and empty URLs are ignored."""
    raw = outer.get(b"url-list")
    seeds: list[str] = []
    for url in [raw] if isinstance(raw, bytes) else raw if isinstance(raw, list) else ():
        text = (_text(url) or "").strip()
        if text and text not in seeds:
            seeds.append(text)
    return tuple(seeds)
