"""The lab's bencoding interface over :mod:`btref.bencode` (BEP 3, "bencoding").

btref's decoder starts at the first byte of its buffer; :func:`decode_prefix` here
starts anywhere, so it decodes from a view of the tail and moves the offsets back into
the caller's frame.
"""

from __future__ import annotations

from btref import bencode
from btref.bencode import INT_MAX, INT_MIN, MAX_DEPTH, MAX_LENGTH, Value, decode, encode
from btref.errors import BencodeError

__all__ = ["BencodeError", "Value", "MAX_DEPTH", "MAX_LENGTH", "INT_MIN", "INT_MAX",
           "decode", "decode_prefix", "encode"]


def decode_prefix(data: bytes, start: int = 0, *, strict: bool = True) -> tuple[Value, int]:
    """Decode the one value that begins at ``data[start]``; return it and where it ends."""
    if not 0 <= start <= len(data):
        raise BencodeError(f"start {start} is outside the data (0..{len(data)})", start)
    try:
        value, used = bencode.decode_prefix(memoryview(data)[start:], strict=strict)
    except BencodeError as exc:
        if exc.offset is None or start == 0:
            raise
        # The message ends with "(at byte N)" in the tail's frame: say it in the caller's.
        message = str(exc).removesuffix(f" (at byte {exc.offset})")
        raise BencodeError(message, exc.offset + start) from None
    return value, start + used
