"""Bencoding: the one serialization every BitTorrent structure uses (BEP 3, "bencoding").

Four kinds of value, each with a one-letter shape::

    i42e            integer     (no leading zeros, no "-0")
    4:spam          byte string (length prefix, then that many bytes)
    l...e           list
    d...e           dictionary  (byte-string keys, sorted as raw bytes, no duplicates)

Invariants this module keeps:

* The decoder is *strict* by default: a value has exactly one valid encoding, so
  ``encode(decode(b)) == b`` for every ``b`` it accepts. ``strict=False`` accepts what
  real-world torrents get wrong (unsorted or duplicate dictionary keys; the last
  duplicate wins) and nothing else.
* Peers are untrusted: nesting depth and every declared length are checked against hard
  limits *before* anything is allocated, and every failure is a :class:`BencodeError`
  carrying the byte offset.
* The info hash is computed over the *original* bytes of the ``info`` dictionary, never a
  re-encoding: :func:`decode_with_spans` returns where each top-level value lies.
"""

from __future__ import annotations

from typing import Union

from btref.errors import BencodeError

__all__ = ["Value", "decode", "decode_with_spans", "encode", "MAX_DEPTH", "MAX_LENGTH"]

#: What a bencoded value decodes to. Byte strings stay ``bytes``: names become text later,
#: where the field's meaning (and its encoding) is known.
Value = Union[int, bytes, list["Value"], dict[bytes, "Value"]]

#: Deepest nesting the decoder follows. Real torrents nest a few levels (v2 file trees a
#: few more); a peer sending ``llllll...`` must not exhaust the Python stack.
MAX_DEPTH = 256
#: Longest byte string or integer literal accepted. No single field of a sane message is
#: larger; the check runs before any slice is taken.
MAX_LENGTH = 64 * 1024 * 1024
_MAX_INT_DIGITS = 256

_DIGITS = frozenset(b"0123456789")


class _Decoder:
    """A recursive-descent parser over a ``memoryview`` (slicing it copies nothing)."""

    def __init__(self, data: bytes | bytearray | memoryview, strict: bool) -> None:
        self.data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self.strict = strict
        self.pos = 0

    def fail(self, message: str, offset: int | None = None) -> BencodeError:
        return BencodeError(message, self.pos if offset is None else offset)

    def value(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels")
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of data")
        lead = self.data[self.pos]
        if lead == 0x69:  # 'i'
            return self.integer()
        if lead in _DIGITS:
            return self.string()
        if lead == 0x6C:  # 'l'
            self.pos += 1
            items: list[Value] = []
            while self.peek() != 0x65:  # 'e'
                items.append(self.value(depth + 1))
            self.pos += 1
            return items
        if lead == 0x64:  # 'd'
            return self.dictionary(depth)
        raise self.fail(f"unexpected byte {bytes([lead])!r}; expected i, l, d or a digit")

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of data (missing 'e')")
        return self.data[self.pos]

    def integer(self) -> int:
        start = self.pos
        end = self.find(0x65, start + 1, _MAX_INT_DIGITS + 2, "integer")
        text = bytes(self.data[start + 1 : end])
        body = text[1:] if text[:1] == b"-" else text
        if not body or not all(c in _DIGITS for c in body):
            raise self.fail(f"invalid integer {text!r}", start)
        if body[:1] == b"0" and (len(body) > 1 or text[:1] == b"-"):
            raise self.fail(f"non-canonical integer {text!r} (leading zero or -0)", start)
        self.pos = end + 1
        return int(text)

    def string(self) -> bytes:
        start = self.pos
        colon = self.find(0x3A, start, 12, "string length")  # ':' within 11 digits
        digits = bytes(self.data[start:colon])
        if not all(c in _DIGITS for c in digits):
            raise self.fail(f"invalid string length {digits!r}", start)
        if len(digits) > 1 and digits[:1] == b"0":
            raise self.fail(f"non-canonical string length {digits!r} (leading zero)", start)
        length = int(digits)
        if length > MAX_LENGTH:
            raise self.fail(f"string of {length} bytes exceeds the limit of {MAX_LENGTH}", start)
        end = colon + 1 + length
        if end > len(self.data):
            raise self.fail(f"string of {length} bytes runs past the end of data", start)
        self.pos = end
        return bytes(self.data[colon + 1 : end])

    def dictionary(self, depth: int) -> dict[bytes, Value]:
        self.pos += 1
        result: dict[bytes, Value] = {}
        previous: bytes | None = None
        while self.peek() != 0x65:
            key_at = self.pos
            if self.data[key_at] not in _DIGITS:
                raise self.fail("dictionary key is not a byte string")
            key = self.string()
            if self.strict and previous is not None:
                if key == previous:
                    raise self.fail(f"duplicate dictionary key {key!r}", key_at)
                if key < previous:
                    raise self.fail(f"dictionary key {key!r} is out of order", key_at)
            previous = key
            result[key] = self.value(depth + 1)
        self.pos += 1
        return result

    def find(self, byte: int, start: int, limit: int, what: str) -> int:
        """Index of ``byte`` at or after ``start``, looking at most ``limit`` bytes ahead."""
        stop = min(len(self.data), start + limit)
        for i in range(start, stop):
            if self.data[i] == byte:
                return i
        if stop == len(self.data):
            raise self.fail(f"unexpected end of data in {what}", start)
        raise self.fail(f"{what} too long", start)


def decode(data: bytes | bytearray | memoryview, *, strict: bool = True) -> Value:
    """Decode one complete bencoded value; trailing bytes are an error.

    :raises BencodeError: on any malformed input, with the byte offset of the problem.
    """
    decoder = _Decoder(data, strict)
    value = decoder.value(0)
    if decoder.pos != len(decoder.data):
        raise BencodeError("trailing data after the value", decoder.pos)
    return value


def decode_prefix(data: bytes | bytearray | memoryview, *, strict: bool = True) -> tuple[Value, int]:
    """Decode one value at the start of ``data``; return it and how many bytes it used.

    BEP 9 ``ut_metadata`` messages put raw bytes after a bencoded dictionary; this is how
    a caller finds where the dictionary ends.
    """
    decoder = _Decoder(data, strict)
    return decoder.value(0), decoder.pos


def decode_with_spans(
    data: bytes | bytearray | memoryview, *, strict: bool = True
) -> tuple[dict[bytes, Value], dict[bytes, tuple[int, int]]]:
    """Decode a top-level dictionary and report where each of its values lies.

    Returns ``(dict, spans)`` where ``spans[key] == (start, end)`` is the byte range of
    that key's *value* in ``data``. ``data[slice(*spans[b"info"])]`` is exactly the bytes
    the info hash is computed over (BEP 3: "the SHA-1 hash of the bencoded form of the
    info value from the metainfo file"), even when the file is not canonically encoded.
    """
    decoder = _Decoder(data, strict)
    if not len(decoder.data) or decoder.data[0] != 0x64:
        raise BencodeError("expected a dictionary", 0)
    decoder.pos = 1
    result: dict[bytes, Value] = {}
    spans: dict[bytes, tuple[int, int]] = {}
    previous: bytes | None = None
    while decoder.peek() != 0x65:
        key_at = decoder.pos
        if decoder.data[key_at] not in _DIGITS:
            raise decoder.fail("dictionary key is not a byte string")
        key = decoder.string()
        if strict and previous is not None and key <= previous:
            problem = "duplicate dictionary key" if key == previous else "out-of-order dictionary key"
            raise BencodeError(f"{problem} {key!r}", key_at)
        previous = key
        start = decoder.pos
        result[key] = decoder.value(1)
        spans[key] = (start, decoder.pos)
    decoder.pos += 1
    if decoder.pos != len(decoder.data):
        raise BencodeError("trailing data after the value", decoder.pos)
    return result, spans


def encode(value: object) -> bytes:
    """Encode ``value`` canonically: dictionary keys sorted as raw bytes.

    Accepts ``int``, ``bytes``/``bytearray``/``memoryview``, ``str`` (as UTF-8),
    ``list``/``tuple`` and ``dict`` with ``bytes`` or ``str`` keys. ``bool`` is refused:
    BEP 3 has no booleans, and ``True`` silently becoming ``i1e`` hides bugs.

    :raises BencodeError: for a value of any other type, or duplicate keys after UTF-8.
    """
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: object, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise BencodeError("cannot bencode a bool; use 0 or 1 explicitly")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, str):
        _encode(value.encode("utf-8"), out)
    elif isinstance(value, (list, tuple)):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        items: dict[bytes, object] = {}
        for key, item in value.items():
            raw_key = key.encode("utf-8") if isinstance(key, str) else key
            if not isinstance(raw_key, bytes):
                raise BencodeError(f"dictionary key {key!r} is not bytes or str")
            if raw_key in items:
                raise BencodeError(f"duplicate dictionary key {raw_key!r}")
            items[raw_key] = item
        out.append(b"d")
        for raw_key in sorted(items):
            _encode(raw_key, out)
            _encode(items[raw_key], out)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode a value of type {type(value).__name__}")
