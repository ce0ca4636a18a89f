"""File names from a .torrent, made safe to create below a download folder.

A .torrent's path elements are *untrusted bytes* (BEP 3 ``path``, BEP 52 ``file tree``
keys, BEP 47 ``symlink path``). BEP 3 only says they are path elements; it does not say
what a client must do with ``..``, an element holding ``/``, control characters or
invalid UTF-8. Real clients sanitize; btref follows libtorrent's
``sanitize_append_path_element`` (the public test cases are in ``tests/vectors/``), so
a torrent lands on disk under the same names in both clients.

The policy, element by element (:func:`sanitize_component`):

1. The element ends at its first NUL byte (no file system can store a NUL; C code never
   sees past it).
2. ``/`` and ``\\`` are removed: a separator *inside* an element is not a directory
   separator, so ``"../../etc"`` becomes the harmless literal ``"....etc"``. This alone
   makes absolute paths and drive-rooted paths relative.
3. Bytes that do not form valid, shortest-form UTF-8 (truncated, overlong, surrogates,
   > U+10FFFF, 5- and 6-byte forms) become one ``_`` per bad sequence.
4. Control characters (C0, DEL, C1) become ``_``; invisible format characters (Unicode
   category ``Cf``: bidi overrides, zero-width joiners, BOM) are dropped, because they
   can make ``txt.exe`` look like ``exe.txt``.
5. With ``windows=True`` also: ``<>:"|?*`` become ``_``; trailing spaces and dots are
   stripped; reserved device names (``CON``, ``NUL``, ``COM1`` ...) get a ``_`` suffix.
6. An element longer than :data:`MAX_COMPONENT_BYTES` UTF-8 bytes is truncated, keeping
   a short extension.

Then :func:`sanitize_path` joins elements: an element that was empty in the torrent
becomes ``_``; an element that *sanitizes* to nothing, ``.`` or ``..`` is dropped (or
becomes ``_`` with ``force=True``; ``keep_empty=True``, used for torrent paths, turns
only the one that sanitized to nothing into ``_``, as libtorrent does). The result never contains an empty, ``.`` or ``..``
component nor a separator, so ``base.joinpath(*parts)`` stays below ``base``: see
:func:`is_inside`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING

import attrs

from btref.errors import MetainfoError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.filetree import FileEntry

__all__ = [
    "MAX_COMPONENT_BYTES",
    "MAX_PATH_DEPTH",
    "sanitize_component",
    "sanitize_path",
    "is_inside",
    "unique_paths",
]

#: Longest element kept, in UTF-8 bytes (the NAME_MAX of ext4, NTFS, APFS).
MAX_COMPONENT_BYTES = 255
#: Most elements a path may have; deeper paths are a hostile torrent, not a real one.
MAX_PATH_DEPTH = 64
#: A kept extension (after the last ".") is at most this many bytes when truncating.
_MAX_EXTENSION_BYTES = 16

#: Printable ASCII without separators, short enough: sanitizing would change nothing.
_PLAIN = re.compile(rb"[\x20-\x2e\x30-\x5b\x5d-\x7e]{1,%d}\Z" % MAX_COMPONENT_BYTES)
_WINDOWS_RESERVED_CHARS = frozenset('<>:"|?*')
_WINDOWS_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)


def _utf8_sequences(raw: bytes) -> Iterable[str | None]:
    """Yield each character of ``raw``, or ``None`` for one invalid UTF-8 sequence.

    The lead byte says how long a sequence claims to be (the old 5- and 6-byte forms
    included, so ``f8 9f 9f 9f 9f`` is *one* bad sequence); it stops early at the first
    byte that is not a continuation byte.
    """
    i, n = 0, len(raw)
    while i < n:
        lead = raw[i]
        if lead < 0x80:
            yield chr(lead)
            i += 1
            continue
        want = 2 if lead >= 0xC0 else 0
        for bound, size in ((0xE0, 3), (0xF0, 4), (0xF8, 5), (0xFC, 6), (0xFE, 0)):
            if lead >= bound:
                want = size
        if want == 0:  # a stray continuation byte, or 0xFE / 0xFF
            yield None
            i += 1
            continue
        j = i + 1
        while j < n and j < i + want and 0x80 <= raw[j] < 0xC0:
            j += 1
        chunk = raw[i:j]
        i = j
        if len(chunk) != want or want > 4:
            yield None
            continue
        try:  # Python's decoder refuses overlong forms, surrogates and > U+10FFFF
            yield chunk.decode("utf-8")
        except UnicodeDecodeError:
            yield None


def _truncate(name: str) -> str:
    """Cut ``name`` to :data:`MAX_COMPONENT_BYTES`, keeping a short extension."""
    if len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > _MAX_EXTENSION_BYTES:
        stem, ext = name, ""
    else:
        ext = "." + ext
    budget = MAX_COMPONENT_BYTES - len(ext.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut + ext


def sanitize_component(raw: bytes | str, *, windows: bool = False) -> str:
    """One path element made safe (steps 1-6 of the module docstring).

    Returns ``""`` when nothing usable is left; the caller decides what that means.
    ``windows=True`` adds the rules Windows file systems need.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    raw = raw.split(b"\0", 1)[0]
    if not windows and _PLAIN.match(raw):  # the common case: nothing to change
        return raw.decode("ascii")
    out: list[str] = []
    # [docs: sanitize]
    for ch in _utf8_sequences(raw):
        if ch is None:
            out.append("_")
        elif ch in "/\\":
            continue
        elif ch < " " or "\x7f" <= ch <= "\x9f":
            out.append("_")
        elif unicodedata.category(ch) == "Cf":
            continue
        elif windows and ch in _WINDOWS_RESERVED_CHARS:
            out.append("_")
        else:
            out.append(ch)
    # [/docs: sanitize]
    name = _truncate("".join(out))
    if windows:
        name = name.rstrip(" .")
        if name.split(".", 1)[0].upper() in _WINDOWS_DEVICE_NAMES:
            name += "_"
    return name


def sanitize_path(
    elements: Iterable[bytes | str],
    *,
    windows: bool | None = None,
    force: bool = False,
    keep_empty: bool = False,
) -> tuple[str, ...]:
    """Sanitize a list of path elements into safe components (see the module docstring).

    ``windows`` defaults to the running platform. ``force=True`` keeps one component per
    element (``_`` in place of a dropped one), as libtorrent's ``force_separator`` does.
    ``keep_empty=True`` turns an element that sanitizes to nothing (``"/"``) into ``_``
    but still drops ``.`` and ``..``: what libtorrent does to the paths in a torrent.
    """
    if windows is None:
        windows = sys.platform == "win32"
    parts: list[str] = []
    for raw in elements:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if not raw.split(b"\0", 1)[0]:  # empty in the torrent (up to a NUL): a real element
            parts.append("_")
            continue
        name = sanitize_component(raw, windows=windows)
        if name in (".", "..") or (name == "" and not keep_empty):
            if force:
                parts.append("_")
            continue
        parts.append(name or "_")
    return tuple(parts)


def is_inside(base: str | PurePath, parts: Iterable[str]) -> bool:
    """True when ``base / parts...`` names something strictly below ``base``.

    A purely lexical check (no file system access, symlinks on disk are not followed):
    it is the invariant :func:`sanitize_path` promises, stated so tests can check it.
    """
    parts = tuple(parts)
    if not parts:
        return False
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\\" in part or "\0" in part:
            return False
        if PurePath(part).is_absolute() or PurePath(part).drive:  # pragma: no cover - Windows
            return False
    joined = PurePath(base).joinpath(*parts)
    return PurePath(base) in joined.parents


def unique_paths(files: list[FileEntry], *, max_renames: int) -> list[FileEntry]:
    """Give every non-pad file its own path: a duplicate ``a/b.txt`` becomes ``a/b.1.txt``.

    Takes and returns :class:`~btref.metainfo.FileEntry` lists. Two files must never
    share a path (one would overwrite the other), and a file may not also be a directory.

    :raises MetainfoError: after ``max_renames`` renames, or when a file lies below
        another file.
    """
    taken: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    counters: dict[tuple[str, ...], int] = {}
    renames = 0
    out: list[FileEntry] = []
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
                if renames > max_renames:
                    raise MetainfoError(f"'files': more than {max_renames} duplicate file names")
                path = f.path[:-1] + (f"{stem}.{n}{ext}",)
            counters[f.path] = n
            f = attrs.evolve(f, path=path)
        taken.add(path)
        dirs.update(path[:k] for k in range(1, len(path)))
        out.append(f)
    return out
