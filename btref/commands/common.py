"""Helpers every ``btref`` command shares: loading inputs, strategies chosen by name, and
words and numbers for people.

Nothing here parses a file format itself: torrents are read by :mod:`btref.metainfo`
(BEP 3, BEP 52) and magnet links by :mod:`btref.magnet` (BEP 9). The commands import those
modules through :func:`require`, so a checkout where one of them is still missing says so
in one line instead of failing at import time. A strategy named on the command line,
``--picker rarest-first:random_first=0``, is read by :func:`btref.plugins.parse` through
:func:`strategy`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent
    from btref.plugins import Choice

    #: What each command's ``add_parser`` adds its sub-command to.
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["CommandError", "require", "parse_torrent", "load_torrent", "human_size", "ranges", "hexa",
           "parse_size", "size_argument", "STRATEGY_HELP", "strategy"]


class CommandError(Exception):
    """A command cannot do what was asked; the message is the whole explanation."""


def require(module: str, command: str) -> ModuleType:
    """Import ``module`` for ``btref command``, or explain that it is not there yet."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise CommandError(f"`btref {command}` needs {module}, which this installation lacks") from exc


def plots_module(command: str, written: Path) -> ModuleType:
    """:mod:`btref.sim.plots`, or one line saying how to get matplotlib (``written``: the
    JSON file the command has already saved, so the run is not lost)."""
    try:
        return importlib.import_module("btref.sim.plots")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "matplotlib":
            raise
        raise CommandError(f"`btref {command}` draws its plots with matplotlib, which is not installed; "
                           f"{written} is written. Install it with pip install 'btref[sim]', "
                           f"or run with --no-plots") from exc


#: How ``--picker`` and ``--choker`` help describes its value (after the family's word).
STRATEGY_HELP = "plugin, with parameters as NAME:KEY=VALUE,... (`btref plugins --verbose` lists them)"


def strategy(family: str, text: str) -> Choice:
    """The plugin of ``family`` that ``text`` chooses (``rarest-first``,
    ``tit-for-tat:regular_slots=4,optimistic_slots=1``), built once to be sure it can be.

    :raises CommandError: one line saying what is wrong and what the plugin takes.
    """
    from btref.errors import PluginError
    from btref.plugins import parse

    try:
        choice = parse(family, text)
        choice.create()  # a rule between two parameters is the plugin's own: ask it now, not mid-run
    except PluginError as exc:
        raise CommandError(str(exc)) from None
    return choice


def parse_torrent(data: bytes, command: str) -> Torrent:
    """Parse .torrent bytes with :func:`btref.metainfo.parse`.

    :raises MetainfoError, BencodeError: the bytes are not a valid torrent.
    """
    metainfo = require("btref.metainfo", command)
    if not hasattr(metainfo, "parse"):
        raise CommandError(f"`btref {command}` needs btref.metainfo.parse, which this installation lacks")
    torrent: Torrent = metainfo.parse(data)
    return torrent


def load_torrent(path: str | Path, command: str) -> Torrent:
    """Read and parse the .torrent file at ``path`` (a :class:`~btref.metainfo.Torrent`).

    :raises OSError: the file cannot be read.
    :raises MetainfoError, BencodeError: the bytes are not a valid torrent.
    """
    torrent_file = require("btref.io.torrent_file", command)
    if not hasattr(torrent_file, "load"):
        raise CommandError(f"`btref {command}` needs btref.io.torrent_file.load, which this installation lacks")
    Path(path).open("rb").close()  # an absent file is "cannot access", not "invalid torrent"
    torrent: Torrent = torrent_file.load(path)  # which also refuses files over metainfo.MAX_TORRENT_SIZE
    return torrent


def human_size(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``; exact bytes below 1 KiB."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def ranges(indices: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``: piece lists that fit on a line."""
    parts: list[str] = []
    start = prev = None
    for i in sorted(indices):
        if prev is not None and i == prev + 1:
            prev = i
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = i
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def hexa(value: bytes | None) -> str | None:
    """Hex digits of a hash, or ``None`` (JSON ``null``) when there is none."""
    return None if value is None else value.hex()


def parse_size(text: str) -> int:
    """``"16384"``, ``"16K"``, ``"16KiB"``, ``"4M"`` -> bytes (for ``--piece-length``)."""
    units = {"": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20}
    s = text.strip().upper()
    digits = s.rstrip("KMIB")
    if not digits.isdigit() or s[len(digits):] not in units:
        raise ValueError(f"not a size: {text!r} (try 16K, 256KiB or 1M)")
    return int(digits) * units[s[len(digits):]]


def size_argument(text: str) -> int:
    """An argparse ``type`` for a size above 0 (``--seed-rate 1M``, ``--upload-limit 256K``)."""
    try:
        value = parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value
