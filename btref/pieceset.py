"""Sets of pieces, kept as the bytes of a BEP 3 "bitfield" message (which pieces a peer has).

Piece 0 is the high bit of the first byte. A bitfield for ``n`` pieces is ``ceil(n / 8)``
bytes, and the spare bits at the end of the last byte must be zero: a peer that sets them
is broken (or probing), and :meth:`PieceSet.from_bytes` says so with a
:class:`~btref.errors.ProtocolError`.

The count of set bits is kept up to date on every change, because pickers and the engine
ask "is this peer a seed?" far more often than bits change.
"""

from __future__ import annotations

from collections.abc import Iterator

from btref.errors import ProtocolError

__all__ = ["PieceSet"]

# Set bits in every byte value, so counting a whole bitfield is one pass over its bytes.
_POPCOUNT = bytes(bin(i).count("1") for i in range(256))


class PieceSet:
    """A fixed-length set of piece indices, stored as the BEP 3 wire bytes."""

    __slots__ = ("length", "_bits", "_count")

    def __init__(self, length: int) -> None:
        if length < 0:
            raise ValueError("a bitfield cannot have a negative length")
        self.length = length
        self._bits = bytearray((length + 7) // 8)
        self._count = 0

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, length: int) -> PieceSet:
        """Parse a peer's ``bitfield`` payload for a torrent of ``length`` pieces.

        :raises ProtocolError: when the payload has the wrong size or spare bits set.
        """
        field = cls(length)
        if len(data) != len(field._bits):
            raise ProtocolError(
                f"bitfield of {len(data)} bytes for {length} pieces (expected {len(field._bits)})"
            )
        field._bits[:] = data
        spare = len(field._bits) * 8 - length
        if spare and field._bits[-1] & ((1 << spare) - 1):
            raise ProtocolError(f"bitfield has spare bits set after piece {length - 1}")
        field._count = sum(_POPCOUNT[b] for b in field._bits)
        return field

    @classmethod
    def full(cls, length: int) -> PieceSet:
        """A bitfield with every piece set (a seed's, or BEP 6 ``have all``)."""
        field = cls(length)
        # Whole bytes at once, then clear the spare bits: a peer's BEP 6 ``have all`` for a
        # torrent of a million pieces must not cost a million Python calls.
        field._bits[:] = b"\xff" * len(field._bits)
        if length % 8:
            field._bits[-1] = (0xFF << (8 - length % 8)) & 0xFF
        field._count = length
        return field

    def __getitem__(self, index: int) -> bool:
        if not 0 <= index < self.length:
            raise IndexError(f"piece {index} out of range 0..{self.length - 1}")
        return self._bits[index >> 3] & (0x80 >> (index & 7)) != 0  # (no bool() call: hot)

    def set(self, index: int) -> bool:
        """Mark piece ``index``; return ``True`` if it was not set before."""
        # Written out rather than calling self[index]: a simulated swarm sets bits tens
        # of millions of times (every ``have`` received).
        if not 0 <= index < self.length:
            raise IndexError(f"piece {index} out of range 0..{self.length - 1}")
        bits, byte, mask = self._bits, index >> 3, 0x80 >> (index & 7)
        if bits[byte] & mask:
            return False
        bits[byte] |= mask
        self._count += 1
        return True

    def clear(self, index: int) -> bool:
        """Unmark piece ``index``; return ``True`` if it was set before."""
        if not self[index]:
            return False
        self._bits[index >> 3] &= ~(0x80 >> (index & 7)) & 0xFF
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
        for byte_index, byte in enumerate(self._bits):
            if byte:
                base = byte_index * 8
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        yield base + bit

    def to_bytes(self) -> bytes:
        """The wire form (spare bits zero)."""
        return bytes(self._bits)

    def copy(self) -> PieceSet:
        other = PieceSet(self.length)
        other._bits[:] = self._bits
        other._count = self._count
        return other

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PieceSet) and other.length == self.length and other._bits == self._bits

    # Mutable, so unhashable; typeshed declares object.__hash__ a method, not an optional one.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PieceSet({self._count}/{self.length})"
