"""Reading a .torrent file from disk (BEP 3 "metainfo files"): the file half of :mod:`btref.metainfo`.

:func:`btref.metainfo.parse` turns bytes into a :class:`~btref.metainfo.Torrent` and reads
no file; this module reads the bytes, refusing a file larger than
:data:`~btref.metainfo.MAX_TORRENT_SIZE` before it is read whole.
"""

from __future__ import annotations

import os

from btref.errors import MetainfoError
from btref import metainfo
from btref.metainfo import Torrent

__all__ = ["load"]


def load(path: str | os.PathLike[str], *, strict: bool = False) -> Torrent:
    """Read and :func:`~btref.metainfo.parse` the .torrent file at ``path``.

    :raises MetainfoError: when the file cannot be read, is larger than
        :data:`~btref.metainfo.MAX_TORRENT_SIZE`, or is not a valid torrent.
    :raises BencodeError: when it is not bencoding at all.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(metainfo.MAX_TORRENT_SIZE + 1)
    except OSError as exc:
        raise MetainfoError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
    if len(data) > metainfo.MAX_TORRENT_SIZE:
        raise MetainfoError(f"{os.fspath(path)!r} is larger than {metainfo.MAX_TORRENT_SIZE} bytes")
    return metainfo.parse(data, strict=strict)
