"""Bencoding: the one serialization every BitTorrent structure uses (BEP 3, "bencoding").

Four kinds of value, each with a one-letter shape::

    i42e            integer     (no leading zeros, no "-0")
    4:spam          byte string (length prefix, then that many bytes)
    l...e           list
    d...e           dictionary  (byte-string keys, sorted as raw bytes, no duplicates)

Invariants this module keeps:

* The decoder is *strict* by default: a value has exactly one valid encoding, so
  ``encode(decode(b)) == b`` for every ``b`` it accepts. ``strict=False`` accepts the
  non-canonical forms real-world files get wrong but whose meaning is still clear
  (unsorted keys; duplicate keys, the last one winning; leading zeros in integers and
  string lengths; ``-0``) and nothing else. libtorrent calls these "soft errors".
* Peers are untrusted: nesting depth, digit counts and every declared length are checked
  against hard limits *before* anything is allocated, and every failure is a
  :class:`~btref.errors.BencodeError` carrying the byte offset where decoding failed.
* Integers are limited to the signed 64-bit range. BEP 3 sets no limit, but every real
  client stores them in 64 bits, so a bigger one is either an attack or a bug.
* The info hash is computed over the *original* bytes of the ``info`` dictionary, never a
  re-encoding: :func:`decode_with_spans` returns where each top-level value lies.
"""

from __future__ import annotations

import re
from typing import Union

from btref.errors import BencodeError

__all__ = [
    "Value", "decode", "decode_prefix", "decode_with_spans", "encode",
    "MAX_DEPTH", "MAX_LENGTH", "INT_MIN", "INT_MAX",
]

#: What a bencoded value decodes to. Byte strings stay ``bytes``: names become text later,
#: where the field's meaning (and its encoding) is known.
Value = Union[int, bytes, list["Value"], dict[bytes, "Value"]]

#: Most lists and dictionaries nested inside one another (libtorrent's default is also
#: 100). A v2 file tree nests one level per path component; a peer sending ``llll...``
#: must not exhaust the Python stack.
MAX_DEPTH = 100
#: Longest byte string accepted. No single field of a sane message is larger (a
#: ``pieces`` string of 64 MiB describes over three million pieces); the check runs
#: before any slice is taken.
MAX_LENGTH = 64 * 1024 * 1024
#: The signed 64-bit range every integer must fit in.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Digit counts scanned before giving up: generous enough for leading zeros in lenient
# mode, small enough that "999...9" (a megabyte of digits) is refused after a few bytes.
_MAX_INT_DIGITS = 32
_MAX_LENGTH_DIGITS = 20

# Bounded scanners: each match stops after one digit more than the limit allows, so an
# over-long run is detected without reading it all.
_INTEGER = re.compile(rb"(-?)([0-9]{0,%d})" % (_MAX_INT_DIGITS + 1))
_LENGTH = re.compile(rb"[0-9]{1,%d}" % (_MAX_LENGTH_DIGITS + 1))
_I, _L, _D, _E, _COLON, _ZERO = b"ilde:0"  # iterating bytes gives the byte values
_DIGITS = frozenset(b"0123456789")


class _Decoder:
    """A recursive-descent parser over one ``bytes`` buffer; ``pos`` is the next byte."""

    def __init__(self, data: bytes | bytearray | memoryview, strict: bool) -> None:
        # One copy of a bytearray/memoryview buffer buys bytes' fast regex and slicing.
        self.data = data if isinstance(data, bytes) else bytes(data)
        self.strict = strict
        self.pos = 0

    def fail(self, message: str, offset: int | None = None) -> BencodeError:
        return BencodeError(message, self.pos if offset is None else offset)

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of data")
        return self.data[self.pos]

    # [docs: value]
    def value(self, depth: int) -> Value:
        """Decode the value at ``pos``; ``depth`` counts the containers around it."""
        lead = self.peek()
        if lead in _DIGITS:
            return self.string()
        if lead == _I:
            return self.integer()
        if lead == _L or lead == _D:
            if depth >= MAX_DEPTH:
                raise self.fail(f"lists and dictionaries nested more than {MAX_DEPTH} deep")
            if lead == _D:
                return self.dictionary(depth + 1)
            self.pos += 1
            items: list[Value] = []
            while self.peek() != _E:
                items.append(self.value(depth + 1))
            self.pos += 1
            return items
        raise self.fail(f"unexpected byte {bytes([lead])!r}; expected i, l, d or a digit")
    # [/docs: value]

    # [docs: integer]
    def integer(self) -> int:
        start = self.pos  # at the 'i'
        match = _INTEGER.match(self.data, start + 1)
        assert match is not None  # the pattern also matches the empty string
        sign, digits = match.groups()
        end = match.end()
        if len(digits) > _MAX_INT_DIGITS:
            raise self.fail(f"integer has more than {_MAX_INT_DIGITS} digits", end - 1)
        if end >= len(self.data):
            raise self.fail("unexpected end of data in integer", end)
        if self.data[end] != _E or not digits:
            found = bytes([self.data[end]])
            raise self.fail(f"expected a digit{' or e' if digits else ''} in integer, found {found!r}", end)
        if self.strict and digits[0] == _ZERO and (len(digits) > 1 or sign):
            raise self.fail(f"non-canonical integer {self.data[start:end + 1]!r} (leading zero or -0)", start)
        value = -int(digits) if sign else int(digits)
        if not INT_MIN <= value <= INT_MAX:
            raise self.fail("integer does not fit in 64 bits", end)
        self.pos = end + 1
        return value
    # [/docs: integer]

    # [docs: string]
    def string(self) -> bytes:
        start = self.pos  # at the first digit (the caller checked)
        match = _LENGTH.match(self.data, start)
        assert match is not None
        colon = match.end()
        if colon - start > _MAX_LENGTH_DIGITS:
            raise self.fail(f"string length has more than {_MAX_LENGTH_DIGITS} digits", colon - 1)
        if colon >= len(self.data):
            raise self.fail("unexpected end of data in string length", colon)
        if self.data[colon] != _COLON:
            raise self.fail(f"expected ':' after string length, found {self.data[colon:colon + 1]!r}", colon)
        if self.strict and self.data[start] == _ZERO and colon - start > 1:
            raise self.fail(f"non-canonical string length {self.data[start:colon]!r} (leading zero)", start)
        length = int(self.data[start:colon])
        # Both checks come before the slice: a claimed length allocates nothing.
        if length > MAX_LENGTH:
            raise self.fail(f"string of {length} bytes exceeds the limit of {MAX_LENGTH}", colon)
        end = colon + 1 + length
        if end > len(self.data):
            left = len(self.data) - colon - 1
            raise self.fail(f"string of {length} bytes runs past the end of data ({left} left)", colon)
        self.pos = end
        return self.data[colon + 1 : end]
    # [/docs: string]

    def dictionary(
        self, depth: int, spans: dict[bytes, tuple[int, int]] | None = None
    ) -> dict[bytes, Value]:
        """Decode ``d...e``; if ``spans`` is given, record each value's byte range in it."""
        self.pos += 1  # the 'd'
        result: dict[bytes, Value] = {}
        previous: bytes | None = None
        # [docs: keys]
        while self.peek() != _E:
            key_at = self.pos
            if self.data[key_at] not in _DIGITS:
                raise self.fail("dictionary key is not a byte string")
            key = self.string()
            if self.strict and previous is not None and key <= previous:
                problem = "duplicate" if key == previous else "out-of-order"
                raise self.fail(f"{problem} dictionary key {key!r} (keys must be sorted)", key_at)
            previous = key
            start = self.pos
            result[key] = self.value(depth)
            if spans is not None:
                spans[key] = (start, self.pos)
        # [/docs: keys]
        self.pos += 1
        return result

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} bytes of trailing data after the value")


def decode(data: bytes | bytearray | memoryview, *, strict: bool = True) -> Value:
    """Decode one complete bencoded value; trailing bytes are an error.

    :param strict: reject every non-canonical encoding (the default); ``False`` accepts
        the "soft errors" listed in the module docstring.
    :raises BencodeError: on any malformed input, with the byte offset of the problem.

    >>> decode(b"d3:cow3:moo4:spaml1:a1:bee")
    {b'cow': b'moo', b'spam': [b'a', b'b']}
    """
    decoder = _Decoder(data, strict)
    value = decoder.value(0)
    decoder.end()
    return value


def decode_prefix(data: bytes | bytearray | memoryview, *, strict: bool = True) -> tuple[Value, int]:
    """Decode one value at the start of ``data``; return it and how many bytes it used.

    BEP 9 ``ut_metadata`` messages put raw bytes after a bencoded dictionary; this is how
    a caller finds where the dictionary ends.

    >>> decode_prefix(b"d5:piecei0ee<raw block>")
    ({b'piece': 0}, 12)
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
    With ``strict=False`` and a duplicated key, the span is that of the value kept (the last).

    >>> decode_with_spans(b"d4:infod1:xi1eee")
    ({b'info': {b'x': 1}}, {b'info': (7, 15)})
    """
    decoder = _Decoder(data, strict)
    if decoder.peek() != _D:
        raise decoder.fail("expected a dictionary")
    spans: dict[bytes, tuple[int, int]] = {}
    result = decoder.dictionary(1, spans)
    decoder.end()
    return result, spans


def encode(value: object) -> bytes:
    """Encode ``value`` canonically: dictionary keys sorted as raw bytes.

    Accepts ``int``, ``bytes``/``bytearray``/``memoryview``, ``str`` (as UTF-8),
    ``list``/``tuple`` and ``dict`` with ``bytes`` or ``str`` keys. ``bool`` is refused:
    BEP 3 has no booleans, and ``True`` silently becoming ``i1e`` hides bugs. The limits
    of the decoder hold here too, so whatever ``encode`` writes, :func:`decode` reads.

    :raises BencodeError: for a value of any other type, duplicate keys after UTF-8, an
        integer outside 64 bits, nesting deeper than :data:`MAX_DEPTH` (or a cycle).

    >>> encode({"spam": [b"a", 1], "cow": "moo"})
    b'd3:cow3:moo4:spaml1:ai1eee'
    """
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _encode(value: object, out: list[bytes], depth: int) -> None:
    if isinstance(value, bool):
        raise BencodeError("cannot bencode a bool; use 0 or 1 explicitly")
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise BencodeError(f"integer {value} does not fit in 64 bits")
        out.append(b"i%de" % value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > MAX_LENGTH:
            raise BencodeError(f"string of {len(raw)} bytes exceeds the limit of {MAX_LENGTH}")
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, str):
        _encode(value.encode("utf-8"), out, depth)
    elif isinstance(value, (list, tuple, dict)):
        if depth >= MAX_DEPTH:
            raise BencodeError(f"lists and dictionaries nested more than {MAX_DEPTH} deep (or a cycle)")
        if isinstance(value, dict):
            _encode_dict(value, out, depth + 1)
            return
        out.append(b"l")
        for item in value:
            _encode(item, out, depth + 1)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode a value of type {type(value).__name__}")


def _encode_dict(value: dict[object, object], out: list[bytes], depth: int) -> None:
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
        _encode(raw_key, out, depth)
        _encode(items[raw_key], out, depth)
    out.append(b"e")
