"""The canonical allowed fast set (BEP 6 "allowed fast").

A seeder under load chokes most peers, and a new peer, which has nothing to trade, may
wait minutes for an optimistic unchoke. BEP 6 lets the uploader name a few pieces the
peer may request *while choked*: its *allowed fast set*. The set is derived from the
peer's IP address and the info hash, so every uploader gives a peer the same pieces (it
gets each one from many sources and finishes it fast), and a peer cannot widen its set by
reconnecting from another port or another host of the same /24 network.

The algorithm, from BEP 6: mask the IPv4 address to its /24, append the info hash, and
hash with SHA-1 again and again; each 20-byte digest gives five 32-bit big-endian numbers,
each one ``mod num_pieces`` a piece index, until ``k`` distinct indices are found.

Invariants: the result has ``min(k, num_pieces)`` distinct indices, each in
``0..num_pieces - 1``, in the order the algorithm finds them; it depends only on the /24
of the address, the info hash, ``num_pieces`` and ``k``.
"""

from __future__ import annotations

import hashlib
import ipaddress

__all__ = ["allowed_fast_set"]


def allowed_fast_set(address: str, info_hash: bytes, num_pieces: int, k: int) -> list[int]:
    """The first ``k`` pieces of the allowed fast set of the peer at IPv4 ``address``.

    :raises ValueError: if ``address`` is not an IPv4 address (BEP 6 defines no set for IPv6).
    """
    ip = ipaddress.IPv4Address(address)  # raises ValueError (AddressValueError) otherwise
    k = min(k, num_pieces)  # a torrent with fewer pieces cannot give more
    found: list[int] = []
    x = (int(ip) & 0xFFFFFF00).to_bytes(4, "big") + info_hash
    while len(found) < k:
        x = hashlib.sha1(x).digest()
        for start in range(0, 20, 4):
            index = int.from_bytes(x[start:start + 4], "big") % num_pieces
            if index not in found:
                found.append(index)
                if len(found) == k:
                    break
    return found
