"""Layout: where each byte of a piece lives on disk (BEP 3 "info dictionary"; BEP 47; BEP 52).

A torrent's files are laid out in one long *piece space* (see :mod:`btref.metainfo`):
file ``f`` occupies ``[f.offset, f.offset + f.length)``, and piece ``i`` is the part of
``[i * piece_length, (i + 1) * piece_length)`` that files cover. This module turns a piece,
or a block of one, into a list of :class:`Span`: "``length`` bytes at ``file_offset`` of
file ``file_index``". It does no I/O; :mod:`btref.io.storage` does.

* v1 and hybrid torrents (BEP 3, BEP 52 "hybrid"): files lie back to back, so a piece can
  span several files, and a short file can sit wholly inside one piece.
* v2-only torrents (BEP 52 "piece layers"): every non-empty file starts on a piece
  boundary, so a piece never spans files; the last piece of each file is short.
* BEP 47 pad files: spans flagged ``pad``; storage never writes them and reads them back
  as zeros.

Invariants kept (defense in depth, even though :mod:`btref.metainfo` checks too):

* every path component is a plain name: not empty, not ``.`` or ``..``, no separator, no NUL;
* two entries never share a path, and no file's path is another file's directory;
* files do not overlap in the piece space, and a BEP 47 symlink entry carries no data.

A violation raises :class:`~btref.errors.StorageError`, which names the file.

File selection (``btref download --only/--skip``, BEP 53 ``so=``): :func:`choose_files`
turns patterns or file indices into the files to fetch, and :meth:`Layout.pieces_of`
into the pieces that cover them. A piece that covers a chosen file and a skipped one (a
*boundary piece*) is wanted: its bytes for the skipped file go to the parts file
(:mod:`btref.io.storage`), never into that file. Patterns are only compared with the
torrent's paths, never joined to a folder, so no pattern can reach outside it.

File priorities (``btref download --priority PATTERN=high|normal|low``, Transmission's
three levels; libtorrent's 0 is ``--skip``): :func:`file_priorities` turns ``PATTERN=LEVEL``
rules into a level per file, and :meth:`Layout.tiers` into *tiers*, the pieces of each
level, highest first. A piece takes the highest level of the files it holds bytes of, as
in libtorrent. The downloader asks the picker for one tier at a time
(:class:`btref.download.Downloader`).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Mapping
from fnmatch import fnmatchcase

import attrs

from btref.errors import SelectionError, StorageError
from btref.metainfo import FileEntry, Torrent
from btref.pieceset import PieceSet
from btref.wire import BLOCK_SIZE

__all__ = ["Span", "Layout", "check_component", "choose_files", "file_names", "file_priorities", "PRIORITIES"]

#: How many file names a "matches no file" message lists before it says "and N more".
LISTED_FILES = 10
#: The file priority levels, by name: libtorrent's numbers for Transmission's three words.
PRIORITIES = {"low": 1, "normal": 4, "high": 7}


@attrs.frozen(slots=True)
class Span:
    """``length`` bytes at ``file_offset`` of file number ``file_index`` of the torrent."""

    file_index: int
    file_offset: int
    length: int
    #: A BEP 47 pad file: zeros by definition, never on disk.
    pad: bool = False


def check_component(name: str, where: str) -> None:
    """Refuse a path component that could leave the download folder (or is no name at all).

    :raises StorageError: naming ``where`` (the file's path as the torrent gives it).
    """
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise StorageError(f"unsafe path component {name!r} in file {where}")


class Layout:
    """The map from pieces and blocks to file spans for one torrent."""

    def __init__(self, torrent: Torrent) -> None:
        self.torrent = torrent
        self.piece_length = torrent.piece_length
        self.num_pieces = torrent.num_pieces
        _check_files(torrent.files)
        # Data-bearing files sorted by where they start: bisect finds a piece's first file.
        data = sorted((f.offset, i) for i, f in enumerate(torrent.files) if f.length > 0)
        self._starts = [offset for offset, _ in data]
        self._order = [i for _, i in data]

    # -- pieces ---------------------------------------------------------------------

    def piece_spans(self, index: int) -> list[Span]:
        """The spans of piece ``index``, in piece order (their lengths add up to its size).

        :raises StorageError: if ``index`` is not a piece of the torrent.
        """
        if not 0 <= index < self.num_pieces:
            raise StorageError(f"piece {index} out of range (the torrent has {self.num_pieces} pieces)")
        start = index * self.piece_length
        stop = start + self.piece_length
        files = self.torrent.files
        spans = []
        k = max(bisect.bisect_right(self._starts, start) - 1, 0)
        while k < len(self._order) and self._starts[k] < stop:
            i = self._order[k]
            f = files[i]
            lo, hi = max(start, f.offset), min(stop, f.offset + f.length)
            if hi > lo:
                spans.append(Span(i, lo - f.offset, hi - lo, f.pad))
            k += 1
        return spans

    def piece_size(self, index: int) -> int:
        """Bytes in piece ``index`` (same answer as :meth:`Torrent.piece_size`)."""
        return sum(s.length for s in self.piece_spans(index))

    # [docs: pieces-of]
    def pieces_of(self, files: Collection[int]) -> PieceSet:
        """The pieces that hold a byte of one of ``files`` (file indices): the pieces a
        download of just those files must fetch, boundary pieces included."""
        wanted = PieceSet(self.num_pieces)
        for i in files:
            f = self.torrent.files[i]
            if f.length and not f.pad:
                for index in range(f.offset // self.piece_length, (f.offset + f.length - 1) // self.piece_length + 1):
                    wanted.set(index)
        return wanted
    # [/docs: pieces-of]

    # [docs: tiers]
    def tiers(self, priorities: Mapping[int, int]) -> tuple[PieceSet, ...]:
        """Every piece in one tier by the file priorities (file index to level; a file not
        named is :data:`PRIORITIES` ``["normal"]``): a piece takes the highest level of
        the files it holds bytes of. The tiers come highest level first, empty ones left out."""
        normal = PRIORITIES["normal"]
        level = [0] * self.num_pieces  # 0: no file seen yet (a piece of padding only)
        for i, f in enumerate(self.torrent.files):
            if f.length and not f.pad:
                file_level = priorities.get(i, normal)
                for index in range(f.offset // self.piece_length, (f.offset + f.length - 1) // self.piece_length + 1):
                    level[index] = max(level[index], file_level)
        tiers = {value: PieceSet(self.num_pieces) for value in set(level)}
        for index, value in enumerate(level):
            tiers[value].set(index)
        return tuple(tiers[value] for value in sorted(tiers, reverse=True))
    # [/docs: tiers]

    # -- blocks ---------------------------------------------------------------------

    def block_spans(self, index: int, begin: int, length: int, *, max_length: int | None = None) -> list[Span]:
        """The spans of ``length`` bytes at ``begin`` inside piece ``index``.

        The numbers usually come from a peer's ``request`` (BEP 3), so every one is checked.

        :raises StorageError: for a piece out of range, a negative ``begin``, an empty block,
            a block longer than ``max_length``, or one that runs past the end of the piece.
        """
        if max_length is not None and length > max_length:
            raise StorageError(f"block of {length} bytes in piece {index} is over the {max_length}-byte limit")
        if begin < 0 or length <= 0:
            raise StorageError(f"bad block in piece {index}: begin {begin}, length {length}")
        spans = self.piece_spans(index)
        size = sum(s.length for s in spans)
        if begin + length > size:
            raise StorageError(
                f"block at {begin} of {length} bytes runs past the end of piece {index} ({size} bytes)"
            )
        return clip(spans, begin, length)


def file_names(torrent: Torrent) -> list[tuple[int, str]]:
    """``(index, path)`` of every real file (no BEP 47 pad file), the path as ``btref
    info`` shows it: components joined by ``/``, the torrent's folder first."""
    return [(i, "/".join(f.path)) for i, f in enumerate(torrent.files) if not f.pad]


# [docs: choose-files]
def choose_files(torrent: Torrent, *, only: Iterable[str] = (), skip: Iterable[str] = (),
                 indices: Iterable[int] | None = None) -> frozenset[int]:
    """The indices of the files to download.

    Start from ``indices`` (BEP 53 ``so=``: positions in the torrent's file list, pad
    files counted), or every file; ``only`` patterns replace that start with the files they
    match, then ``skip`` patterns take files away. A pattern is a shell glob
    (:func:`fnmatch.fnmatchcase`: ``*``, ``?``, ``[...]``) and matches a file when it
    matches its path, its path below the torrent's folder, or a folder it lies in: for a
    torrent ``album`` with ``album/cd1/01.flac``, ``'*.flac'``, ``cd1``, ``'album/cd1/*'``
    all choose it.

    :raises SelectionError: for a pattern that matches no file (the message lists the
        files), an index past the last file, or a selection left empty.
    """
    names = file_names(torrent)
    if indices is None:
        chosen = {i for i, _ in names}
    else:
        chosen = set()
        for i in indices:
            if not 0 <= i < len(torrent.files):
                raise SelectionError(f"so= names file {i}, but the torrent has {len(torrent.files)} files "
                                     f"(0 to {len(torrent.files) - 1})")
            if not torrent.files[i].pad:
                chosen.add(i)
    multi = len(names) > 0 and all(len(torrent.files[i].path) > 1 for i, _ in names)
    only = list(only)
    if only:
        chosen = set().union(*(_matching(torrent, names, pattern, multi, "--only") for pattern in only))
    for pattern in skip:
        chosen -= _matching(torrent, names, pattern, multi, "--skip")
    if not chosen:
        raise SelectionError("the selection leaves no file to download")
    return frozenset(chosen)
# [/docs: choose-files]


def file_priorities(torrent: Torrent, rules: Iterable[str]) -> dict[int, int]:
    """The level of each file named by ``rules``, each ``PATTERN=LEVEL`` with a level of
    :data:`PRIORITIES` (``high``, ``normal``, ``low``) and a pattern as :func:`choose_files`
    reads it; a later rule overrides an earlier one for the files both match.

    :raises SelectionError: for a rule without ``=``, an unknown level, or a pattern that
        matches no file.
    """
    names = file_names(torrent)
    multi = len(names) > 0 and all(len(torrent.files[i].path) > 1 for i, _ in names)
    levels: dict[int, int] = {}
    for rule in rules:
        pattern, sep, word = rule.rpartition("=")
        if not sep or not pattern:
            raise SelectionError(f"--priority {rule!r}: expected PATTERN=LEVEL, e.g. '*.flac=high'")
        if word.lower() not in PRIORITIES:
            raise SelectionError(f"--priority {rule!r}: the level must be one of {', '.join(PRIORITIES)}, "
                                 f"not {word!r} (0, skip a file, is --skip)")
        for i in _matching(torrent, names, pattern, multi, "--priority"):
            levels[i] = PRIORITIES[word.lower()]
    return levels


def _matching(torrent: Torrent, names: list[tuple[int, str]], pattern: str, multi: bool, option: str) -> set[int]:
    found = set()
    for i, _ in names:
        parts = torrent.files[i].path
        starts = (0, 1) if multi else (0,)  # with and without the torrent's folder
        if any(fnmatchcase("/".join(parts[a:b]), pattern) for a in starts for b in range(a + 1, len(parts) + 1)):
            found.add(i)
    if not found:
        listed = ", ".join(name for _, name in names[:LISTED_FILES])
        more = f" and {len(names) - LISTED_FILES} more" if len(names) > LISTED_FILES else ""
        raise SelectionError(f"{option} {pattern!r} matches no file; the torrent's files are: {listed}{more}")
    return found


# [docs: clip]
def clip(spans: list[Span], begin: int, length: int) -> list[Span]:
    """The part ``[begin, begin + length)`` of a piece made of ``spans``."""
    out = []
    pos = 0  # where the current span starts inside the piece
    stop = begin + length
    for s in spans:
        lo, hi = max(begin, pos), min(stop, pos + s.length)
        if hi > lo:
            out.append(Span(s.file_index, s.file_offset + lo - pos, hi - lo, s.pad))
        pos += s.length
        if pos >= stop:
            break
    return out
# [/docs: clip]


def _check_files(files: tuple[FileEntry, ...]) -> None:
    """The invariants of the module docstring; cheap, one pass plus a sort."""
    paths: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    for f in files:
        where = "/".join(f.path) or "(no path)"
        if not f.path:
            raise StorageError("a file entry has an empty path")
        for name in f.path:
            check_component(name, where)
        if f.length < 0 or f.offset < 0:
            raise StorageError(f"file {where} has a negative length or offset")
        if f.symlink is not None and f.length:
            raise StorageError(f"symlink entry {where} claims {f.length} bytes of data")
        if f.pad:
            continue  # pad files are never on disk, so their names cannot clash
        if f.path in paths:
            raise StorageError(f"file {where} appears twice in the torrent")
        paths.add(f.path)
        for n in range(1, len(f.path)):
            dirs.add(f.path[:n])
    if paths & dirs:
        clash = "/".join(min(paths & dirs))
        raise StorageError(f"file {clash} is also the directory of another file")
    end = 0
    for f in sorted((f for f in files if f.length), key=lambda f: f.offset):
        if f.offset < end:
            raise StorageError(f"file {'/'.join(f.path)} overlaps the file before it in the piece space")
        end = f.offset + f.length
