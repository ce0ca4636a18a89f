"""The lab's info hash over btref's own code (BEP 3 "metainfo files", BEP 52).

:func:`btref.bencode.decode_with_spans` says where each top-level value lies; as
:func:`btref.metainfo.parse` does, bytes after the top-level dictionary are ignored.
"""

from __future__ import annotations

import hashlib

from btref import bencode
from btref.errors import BencodeError


def info_span(torrent: bytes) -> tuple[int, int]:
    """Where the info dictionary lies in ``torrent``: ``(start, end)``."""
    _, used = bencode.decode_prefix(torrent, strict=False)
    top, spans = bencode.decode_with_spans(torrent[:used], strict=False)
    if not isinstance(top.get(b"info"), dict):
        raise BencodeError("the torrent has no 'info' dictionary")
    return spans[b"info"]


def info_hash(torrent: bytes) -> bytes:
    """The v1 info hash: SHA-1 of the info dictionary's bytes."""
    return hashlib.sha1(torrent[slice(*info_span(torrent))]).digest()


def info_hash_v2(torrent: bytes) -> bytes:
    """The v2 info hash (BEP 52): SHA-256 of the same bytes."""
    return hashlib.sha256(torrent[slice(*info_span(torrent))]).digest()
