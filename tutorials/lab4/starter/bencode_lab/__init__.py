"""Lab 4: bencoding and the info hash, from scratch (BEP 3 "bencoding" and "metainfo
files"; BEP 52 "info hash").

Fill in the two modules of this package:

* ``bencode_lab/bencode.py``: :func:`decode`, :func:`decode_prefix` and :func:`encode`,
  with hard limits, raising :class:`BencodeError` on every bad input;
* ``bencode_lab/torrent.py``: :func:`info_span`, :func:`info_hash` and
  :func:`info_hash_v2`, built on your decoder.

The grader imports the names below from ``bencode_lab``: keep them.
"""

from bencode_lab.bencode import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    MAX_LENGTH,
    BencodeError,
    Value,
    decode,
    decode_prefix,
    encode,
)
from bencode_lab.torrent import info_hash, info_hash_v2, info_span

__all__ = [
    "BencodeError", "Value", "MAX_DEPTH", "MAX_LENGTH", "INT_MIN", "INT_MAX",
    "decode", "decode_prefix", "encode", "info_span", "info_hash", "info_hash_v2",
]
