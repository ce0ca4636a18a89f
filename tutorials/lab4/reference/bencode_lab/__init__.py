"""Lab 4, the reference solution: btref's own decoder and info hash behind the lab's
interface (BEP 3 "bencoding" and "metainfo files"; BEP 52 "info hash").

``make test`` grades this folder and expects full marks (``tests/test_labs.py``). It is
for instructors: a student who reads it has skipped the lab.
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
