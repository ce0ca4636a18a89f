"""Sets of pieces: which pieces a peer has (BEP 3 "bitfield").

On the wire a set is a BEP 3 ``bitfield``: piece 0 is the high bit of the first byte, a
bitfield for ``n`` pieces is ``ceil(n / 8)`` bytes, and the spare bits at the end of the
last byte must be zero: a peer that sets them is broken (or probing), and
:meth:`PieceSet.from_bytes` says so with a :class:`~btref.errors.ProtocolError`.

In memory a set keeps one byte per piece (1: set, 0: not), not one bit. That costs eight
times the memory of the wire form and buys C speed where a swarm spends its time: a
rarest-first picker asks "which of these pieces does the peer have?" of a whole bucket
of pieces at once (:meth:`PieceSet.having`, one C-level pass instead of a Python call per
piece; ``bench/sim.py``), and listing the set is one C-level pass too.

The count of set pieces is kept up to date on every change, because pickers and the
engine ask "is this peer a seed?" far more often than pieces change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import compress

from btref.errors import ProtocolError

__all__ = ["PieceSet"]

# One byte per piece <-> the digits of the bitfield written in base 2, so converting
# between the two forms is a handful of C-level passes (bytes.translate, int()).
_FLAGS_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_DIGITS_TO_FLAGS = bytes.maketrans(b"01", b"\x00\x01")


class PieceSet:
    """A fixed-length set of piece indices (BEP 3 ``bitfield``)."""

    __slots__ = ("length", "_flags", "_count")

    def __init__(self, length: int) -> None:
        if length < 0:
            raise ValueError("a bitfield cannot have a negative length")
        self.length = length
        self._flags = bytearray(length)  # _flags[i] == 1: piece i is in the set
        self._count = 0

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, length: int) -> PieceSet:
        """Parse a peer's ``bitfield`` payload for a torrent of ``length`` pieces.

        :raises ProtocolError: when the payload has the wrong size or spare bits set.
        """
        field = cls(length)
        size = (length + 7) // 8
        if len(data) != size:
            raise ProtocolError(f"bitfield of {len(data)} bytes for {length} pieces (expected {size})")
        digits = format(int.from_bytes(data, "big"), f"0{size * 8}b").encode("ascii")
        if b"1" in digits[length:]:
            raise ProtocolError(f"bitfield has spare bits set after piece {length - 1}")
        field._flags[:] = digits[:length].translate(_DIGITS_TO_FLAGS)
        field._count = field._flags.count(1)
        return field

    @classmethod
    def full(cls, length: int) -> PieceSet:
        """A set of every piece (a seed's, or BEP 6 ``have all``)."""
        field = cls(length)
        field._flags[:] = b"\x01" * length
        field._count = length
        return field

    def __getitem__(self, index: int) -> bool:
        if not 0 <= index < self.length:
            raise IndexError(f"piece {index} out of range 0..{self.length - 1}")
        return self._flags[index] == 1

    def having(self, indices: Iterable[int]) -> list[int]:
        """The pieces of ``indices`` that are in the set, in the order given.

        ``indices`` must be valid piece numbers, and iterate the same way twice (a list, a
        dict of pieces): ``[i for i in indices if self[i]]`` in one C-level pass.
        """
        return list(compress(indices, map(self._flags.__getitem__, indices)))

    def set(self, index: int) -> bool:
        """Mark piece ``index``; return ``True`` if it was not set before."""
        if not 0 <= index < self.length:
            raise IndexError(f"piece {index} out of range 0..{self.length - 1}")
        if self._flags[index]:
            return False
        self._flags[index] = 1
        self._count += 1
        return True

    def clear(self, index: int) -> bool:
        """Unmark piece ``index``; return ``True`` if it was set before."""
        if not self[index]:
            return False
        self._flags[index] = 0
        self._count -= 1
        return True

    @property
    def count(self) -> int:
        """How many pieces are set."""
        return self._count

    def complete(self) -> bool:
        """True when every piece is set."""
        return self._count == self.length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[int]:
        """The set piece indices, in increasing order."""
        return compress(range(self.length), self._flags)

    def to_bytes(self) -> bytes:
        """The wire form (spare bits zero)."""
        size = (self.length + 7) // 8
        if not size:
            return b""
        digits = self._flags.translate(_FLAGS_TO_DIGITS) + b"0" * (size * 8 - self.length)
        return int(digits, 2).to_bytes(size, "big")

    def copy(self) -> PieceSet:
        other = PieceSet(self.length)
        other._flags[:] = self._flags
        other._count = self._count
        return other

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PieceSet) and other.length == self.length and other._flags == self._flags

    # Mutable, so unhashable; typeshed declares object.__hash__ a method, not an optional one.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PieceSet({self._count}/{self.length})"
