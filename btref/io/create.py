"""Making a .torrent from a file or a folder (BEP 3 "metainfo files"; BEP 12, 19, 27, 47, 52).

:func:`create_torrent` walks the path, lays the files out in the piece space and streams
every file *once* through each hash scheme's incremental hasher (hook
``btref_piece_hasher``, :mod:`btref.hookspecs`): the ``sha1`` plugin builds v1 ``pieces``,
``merkle-sha256`` builds v2 ``pieces root`` per file and the ``piece layers``. A hybrid
torrent therefore costs one read of the data, not two.

Invariants this module keeps:

* Deterministic output: files in sorted order (the order of the BEP 52 ``file tree``,
  whose dictionary keys are sorted; v1 ``files`` of a hybrid torrent use the same order),
  no creation date unless one is given. The same tree gives the same bytes.
* Hybrid torrents: a BEP 47 pad file (``attr`` ``p``, path ``.pad/<length>``) follows every
  file but the last that does not end on a piece boundary, so the v1 and v2 views agree
  on which bytes every piece holds (BEP 52, "hybrid torrents").
* Nothing outside the tree is read: a symlink whose target leaves the folder is refused,
  and so is a symlinked folder (which could loop). A symlink to a file inside the folder
  is read as that file.
* Every failure is a :class:`~btref.errors.CreateError` naming the path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from btref import bencode, plugins
from btref.errors import CreateError
from btref.hashing import HasherFields, PieceHasher
from btref.metainfo import FileEntry

__all__ = ["create_torrent", "default_piece_length", "MIN_PIECE_LENGTH", "MAX_PIECE_LENGTH"]

#: BEP 52 needs whole 16 KiB blocks in a piece; smaller pieces only bloat ``pieces``.
MIN_PIECE_LENGTH = 16 * 1024
#: Upper end of the automatic choice (an explicit ``piece_length`` may go to 256 MiB).
MAX_PIECE_LENGTH = 16 * 1024 * 1024
_LIMIT_PIECE_LENGTH = 256 * 1024 * 1024
#: Aim for at most this many pieces: 1,000 to 2,000 keeps ``pieces`` small and pieces short.
_TARGET_PIECES = 2000
#: Bytes read per system call; a multiple of 16 KiB so merkle leaves hash in place.
_CHUNK = 1024 * 1024
VERSIONS = ("v1", "v2", "hybrid")


def default_piece_length(total_size: int) -> int:
    """The smallest power of two in 16 KiB .. 16 MiB giving at most ~2,000 pieces.

    >>> default_piece_length(0), default_piece_length(100 * 2**20), default_piece_length(2**40)
    (16384, 65536, 16777216)
    """
    length = MIN_PIECE_LENGTH
    while length < MAX_PIECE_LENGTH and total_size > length * _TARGET_PIECES:
        length *= 2
    return length


@attrs.frozen
class _Source:
    """One regular file to share: where to read it, and its path inside the torrent."""

    disk: Path
    parts: tuple[str, ...]
    length: int


def _component(name: str, where: Path) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise CreateError(f"{where}: file name is not valid UTF-8") from None
    return name


def _walk(real_root: Path, folder: Path, parts: tuple[str, ...], out: list[_Source]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise CreateError(f"{folder}: cannot list folder: {exc.strerror}") from exc
    for entry in entries:
        path = Path(entry.path)
        here = (*parts, _component(entry.name, path))
        if entry.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(real_root):
                raise CreateError(f"{path}: symlink points out of the tree (to {target})")
            if target.is_dir():
                raise CreateError(f"{path}: symlinked folders are not followed")
            if not target.exists():
                raise CreateError(f"{path}: broken symlink")
        if entry.is_dir():
            _walk(real_root, path, here, out)
            continue
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise CreateError(f"{path}: not a regular file")
        out.append(_Source(path, here, info.st_size))


def _collect(path: Path) -> tuple[str, list[_Source], bool]:
    """``(name, files in torrent order, is_single_file)``."""
    root = Path(os.path.abspath(path))
    name = _component(root.name, root)
    if not name:
        raise CreateError(f"{path}: cannot name a torrent after the file system root")
    if not root.exists():
        raise CreateError(f"{path}: no such file or folder")
    if root.is_file():
        return name, [_Source(root, (), root.stat().st_size)], True
    if not root.is_dir():
        raise CreateError(f"{path}: not a regular file or folder")
    found: list[_Source] = []
    _walk(root.resolve(), root, (), found)
    if not found:
        raise CreateError(f"{path}: the folder holds no files")
    # The v2 file tree's keys are sorted as raw bytes at every level: comparing paths as
    # tuples of UTF-8 components gives exactly that depth-first order.
    found.sort(key=lambda s: tuple(p.encode("utf-8") for p in s.parts))
    return name, found, False


def _layout(name: str, sources: Sequence[_Source], single: bool, version: str, piece_length: int) -> list[tuple[FileEntry, _Source | None]]:
    """FileEntry per file (and pad file), with its offset in the piece space."""
    # [docs: layout]
    laid: list[tuple[FileEntry, _Source | None]] = []
    offset = 0
    for i, src in enumerate(sources):
        if version == "v2" and src.length:
            offset = -(-offset // piece_length) * piece_length  # v2: files start on a piece
        path = (name,) if single else (name, *src.parts)
        laid.append((FileEntry(path=path, length=src.length, offset=offset), src))
        offset += src.length
        gap = -offset % piece_length
        if version == "hybrid" and gap and i < len(sources) - 1:
            pad = FileEntry(path=(name, ".pad", str(gap)), length=gap, offset=offset, pad=True)
            laid.append((pad, None))
            offset += gap
    # [/docs: layout]
    return laid


def _merge(target: dict[bytes, object], fields: HasherFields) -> None:
    for key, value in fields.items():
        target[key.encode("utf-8") if isinstance(key, str) else key] = value


def _stream(entry: FileEntry, src: _Source | None, hashers: Sequence[PieceHasher], buffer: bytearray) -> dict[bytes, object]:
    """Feed one file (or pad file) to every hasher; its per-file fields, merged."""
    for hasher in hashers:
        hasher.start_file(entry)
    if src is None:  # a pad file: zeros that are never on disk
        zeros = memoryview(bytes(entry.length))
        for hasher in hashers:
            hasher.update(zeros)
    else:
        view, done = memoryview(buffer), 0
        try:
            with open(src.disk, "rb") as fh:
                # Read no more than the size we laid out: a file that grows (a log being
                # written) must not keep us reading, nor shift every later piece.
                while done < src.length and (n := fh.readinto(view[: src.length - done])):
                    for hasher in hashers:
                        hasher.update(view[:n])
                    done += n
                grew = done == src.length and fh.read(1)
        except OSError as exc:
            raise CreateError(f"{src.disk}: cannot read: {exc.strerror}") from exc
        if done != src.length or grew:
            raise CreateError(f"{src.disk}: changed size while being read (was {src.length} bytes)")
    fields: dict[bytes, object] = {}
    for hasher in hashers:
        _merge(fields, hasher.end_file())
    return fields


def _tiers(trackers: Iterable[str | Iterable[object]]) -> list[list[str]]:
    tiers: list[list[str]] = []
    for tier in trackers:
        urls = [tier] if isinstance(tier, str) else [str(u) for u in tier]
        if urls:
            tiers.append(urls)
    return tiers


def create_torrent(
    path: str | os.PathLike[str],
    *,
    version: str = "hybrid",
    piece_length: int | None = None,
    trackers: Iterable[str | Iterable[object]] = (),
    private: bool = False,
    comment: str | None = None,
    web_seeds: Iterable[str] = (),
    creation_date: int | None = None,
    created_by: str | None = "btref 0.1.0",
    hashes: Iterable[object] = ("sha1", "merkle-sha256"),
) -> bytes:
    """Build the .torrent file (bencoded bytes) for the file or folder at ``path``.

    ``version`` is ``"v1"``, ``"v2"`` or ``"hybrid"``; ``piece_length`` a power of two of at
    least 16 KiB (default: :func:`default_piece_length`); ``trackers`` a list of tiers, each
    a list of URLs (BEP 12; a bare string is a tier of one); ``web_seeds`` BEP 19 URLs;
    ``creation_date`` seconds since the epoch, left out when ``None`` so the output is
    reproducible. ``hashes`` names the hash-scheme plugins asked for hashers (or gives
    instances); when two set the same field, the later one wins.

    :raises CreateError: for a missing or unreadable path, a folder with no files, only
        empty files, a symlink leading out of the tree, or a bad option.
    """
    if version not in VERSIONS:
        raise CreateError(f"unknown torrent version {version!r}; choose one of {', '.join(VERSIONS)}")
    name, sources, single = _collect(Path(path))
    total = sum(s.length for s in sources)
    if total == 0:
        raise CreateError(f"{path}: every file is empty; a torrent needs at least one byte")
    if piece_length is None:
        piece_length = default_piece_length(total)
    elif (
        not isinstance(piece_length, int)
        or not MIN_PIECE_LENGTH <= piece_length <= _LIMIT_PIECE_LENGTH
        or piece_length & (piece_length - 1)
    ):
        raise CreateError(f"piece length {piece_length!r} is not a power of two in 16 KiB .. 256 MiB")

    # [docs: hashers]
    pm = plugins.plugin_manager({"hashes": list(hashes)})
    # pluggy calls implementations last-registered first; reverse to the order given.
    hashers: list[PieceHasher] = [
        h for h in reversed(pm.hook.btref_piece_hasher(version=version, piece_length=piece_length)) if h
    ]
    laid = _layout(name, sources, single, version, piece_length)
    buffer = bytearray(_CHUNK)
    per_file = [_stream(entry, src, hashers, buffer) for entry, src in laid]
    info_extra: dict[bytes, object] = {}
    outer_extra: dict[bytes, object] = {}
    for hasher in hashers:
        more_info, more_outer = hasher.finish()
        _merge(info_extra, more_info)
        _merge(outer_extra, more_outer)
    # [/docs: hashers]

    info: dict[bytes, object] = {b"name": name, b"piece length": piece_length}
    if version != "v2":
        if single:
            info[b"length"] = total
        else:
            info[b"files"] = [
                {b"length": e.length, b"path": list(e.path[1:]), **({b"attr": b"p"} if e.pad else {})}
                for e, _ in laid
            ]
    if version != "v1":
        info[b"meta version"] = 2
        info[b"file tree"] = _file_tree(laid, per_file, single)
    if private:
        info[b"private"] = 1
    info.update(info_extra)

    torrent: dict[bytes, object] = {b"info": info}
    tiers = _tiers(trackers)
    if tiers:
        torrent[b"announce"] = tiers[0][0]
        if sum(len(t) for t in tiers) > 1:
            torrent[b"announce-list"] = tiers
    if comment is not None:
        torrent[b"comment"] = comment
    if created_by is not None:
        torrent[b"created by"] = created_by
    if creation_date is not None:
        torrent[b"creation date"] = int(creation_date)
    seeds = list(web_seeds)
    if seeds:
        torrent[b"url-list"] = seeds
    torrent.update(outer_extra)
    return bencode.encode(torrent)


def _file_tree(laid: Sequence[tuple[FileEntry, _Source | None]], per_file: Sequence[dict[bytes, object]], single: bool) -> dict[str, Any]:
    """BEP 52 ``file tree``: nested dicts of path components; a file is ``{"": {...}}``."""
    tree: dict[str, Any] = {}
    for (entry, _), fields in zip(laid, per_file):
        if entry.pad:
            continue
        node = tree
        for part in entry.path[0 if single else 1 :]:
            node = node.setdefault(part, {})
        node[""] = {b"length": entry.length, **fields}
    return tree
