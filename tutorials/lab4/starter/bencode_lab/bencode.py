"""Bencoding (BEP 3, "bencoding"): decode and encode, with hard limits.

Four kinds of value, each with a one-letter shape::

    i42e        integer       base ten, no leading zeros, no "-0"
    4:spam      byte string   the length in base ten, a colon, then that many bytes
    l...e       list          values one after another
    d...e       dictionary    byte-string keys, each followed by its value; keys sorted
                              as raw bytes, no key twice

A value has exactly one valid encoding, so a strict decoder and an encoder meet:
``encode(decode(data)) == data`` for every ``data`` that :func:`decode` accepts.

Every byte comes from a stranger (a peer, a .torrent file from the web), so the decoder
never trusts what it reads:

* it raises :class:`BencodeError` for *every* bad input, and nothing else: no
  ``IndexError`` at the end of the data, no ``RecursionError`` on deep nesting, no
  ``ValueError`` from ``int()``;
* it checks a length *before* it uses it: ``99999999999:`` must not allocate anything;
* lists and dictionaries nest at most :data:`MAX_DEPTH` deep, integers fit in 64 bits.
"""

from __future__ import annotations

from typing import Union

#: What a bencoded value decodes to. Byte strings stay ``bytes`` (a name becomes text
#: later, where its encoding is known); dictionary keys are ``bytes`` too.
Value = Union[int, bytes, list["Value"], dict[bytes, "Value"]]

#: Most lists and dictionaries nested inside one another: 100 nested lists decode, 101 do not.
MAX_DEPTH = 100
#: Longest byte string accepted (64 MiB). Refuse a longer one *before* slicing.
MAX_LENGTH = 64 * 1024 * 1024
#: Integers must fit in a signed 64-bit integer, as in every real client.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class BencodeError(ValueError):
    """Bytes that are not valid bencoding, or that break a limit.

    ``offset`` is the position in the data where decoding failed (``None`` when
    encoding), so a message can say *where*: ``BencodeError("expected 'e'", 7)``.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


def decode_prefix(data: bytes, start: int = 0, *, strict: bool = True) -> tuple[Value, int]:
    """Decode the one value that begins at ``data[start]``; return it and where it ends.

    ``end`` is the offset just past the value, so ``data[start:end]`` is exactly its
    bytes. Bytes after ``end`` are not looked at: this is how a caller finds where a
    value inside a bigger one lies (the info dictionary inside a .torrent file).

    >>> decode_prefix(b"xxi42eyy", 2)
    (42, 6)

    :param strict: ``True`` (the default) rejects every non-canonical encoding.
        ``False`` accepts what real files get wrong but whose meaning is clear, and
        nothing else: dictionary keys out of order, a key twice (the last one wins),
        leading zeros in an integer or a string length, and ``i-0e``.
    :raises BencodeError: with the offset where the value went wrong.
    """
    raise NotImplementedError("lab 4, steps 2 and 3: integers and strings, then lists and dictionaries")


def decode(data: bytes, *, strict: bool = True) -> Value:
    """Decode ``data``, which must hold exactly one value and nothing after it.

    >>> decode(b"d3:cow3:moo4:spaml1:a1:bee")
    {b'cow': b'moo', b'spam': [b'a', b'b']}

    :raises BencodeError: on any bad input, also for bytes left after the value.
    """
    raise NotImplementedError("lab 4, step 3: decode_prefix, then check that nothing is left over")


def encode(value: object) -> bytes:
    """Encode ``value``: ``int``, ``bytes``, ``str`` (as UTF-8), ``list`` or ``tuple``, and
    ``dict`` with ``bytes`` or ``str`` keys (sorted as raw bytes in the output).

    >>> encode({"spam": [b"a", 1], "cow": "moo"})
    b'd3:cow3:moo4:spaml1:ai1eee'

    :raises BencodeError: for any other type (``bool`` and ``float`` too: BEP 3 has
        neither), an integer outside 64 bits, or a key that appears twice once
        ``str`` keys are encoded.
    """
    raise NotImplementedError("lab 4, step 4: encode, keys sorted as raw bytes")
