"""The info hash: what names a torrent everywhere (BEP 3 "metainfo files", BEP 52).

A .torrent file is one bencoded dictionary. Its ``info`` value describes the content;
the v1 info hash is the SHA-1 of the info dictionary's bytes *exactly as they are in the
file*, never of a re-encoding (files in the wild are not always canonical, and a changed
byte is a different torrent). A v2 torrent (BEP 52, ``meta version`` 2) also has a v2
info hash: the SHA-256 of the same bytes.

Real files get things wrong that every client accepts, so these functions read the file
leniently (``strict=False`` in your decoder) and ignore bytes after the top-level
dictionary.
"""

from __future__ import annotations


def info_span(torrent: bytes) -> tuple[int, int]:
    """Where the info dictionary lies in ``torrent``: ``(start, end)`` with
    ``torrent[start:end]`` its exact bytes.

    >>> info_span(b"d4:infod1:xi1eee")
    (7, 15)

    :raises BencodeError: when ``torrent`` is not a bencoded dictionary, or has no
        ``info`` key whose value is a dictionary.
    """
    raise NotImplementedError("lab 4, step 6: walk the top-level dictionary with decode_prefix")


def info_hash(torrent: bytes) -> bytes:
    """The v1 info hash: SHA-1 of the info dictionary's bytes (20 bytes)."""
    raise NotImplementedError("lab 4, step 6: hashlib.sha1 of the info bytes")


def info_hash_v2(torrent: bytes) -> bytes:
    """The v2 info hash (BEP 52): SHA-256 of the same bytes (32 bytes)."""
    raise NotImplementedError("lab 4, step 7: hashlib.sha256 of the info bytes")
