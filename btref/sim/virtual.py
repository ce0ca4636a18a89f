"""Virtual payloads: torrents whose data is never materialised (BEP 3 "info dictionary").

A simulated swarm moves *pieces*, not bytes: what matters is which piece went where, when.
So the simulator builds a real :class:`~btref.metainfo.Torrent` (through
:func:`btref.metainfo.from_info`, the same parser as everywhere) whose ``pieces`` field is
all zeros, and every simulated peer registers :class:`VirtualHash`, the hash-scheme plugin
of a file made of zero bytes. Blocks on the wire are slices of one shared zero buffer, so a
swarm of thousands of peers costs no memory for data.

The engine is untouched: it still asks the ``btref_verify_piece`` hook. A session that
keeps no payload (``keep_data=False``, the usual case) hands the hook an empty buffer and
gets ``True``; one that keeps it (a swarm with a lying peer, whose blocks are slices of
:data:`JUNK`) gets ``True`` only for a piece of zeros, so the lie fails the check exactly
as a wrong SHA-1 would. :class:`VirtualHash` is *not* published as an entry point (a scheme
that accepts any piece of zeros must never be selectable for real downloads, and it would
rightly fail the hash-scheme conformance suite); the simulator registers the instance directly.
"""

from __future__ import annotations

import hashlib

from btref.bencode import encode
from btref.hookspecs import hookimpl
from btref.metainfo import Torrent, from_info
from btref.wire import BLOCK_SIZE as BLOCK

__all__ = ["VirtualHash", "virtual_torrent", "ZEROS", "JUNK"]

#: The bytes every simulated block is a slice of (one block's worth, shared read-only).
ZEROS = memoryview(bytes(BLOCK)).toreadonly()
#: What a lying peer sends instead (:attr:`btref.sim.swarm.PeerSpec.lies`).
JUNK = memoryview(b"\xff" * BLOCK).toreadonly()


class VirtualHash:
    """The hash scheme of simulated payloads: a piece is good when its bytes are all zeros
    (an empty buffer, from a session that keeps no payload, passes)."""

    family = "hashes"
    name = "sim-virtual"

    @hookimpl
    def btref_verify_piece(self, torrent: Torrent, index: int, data: memoryview) -> bool | None:
        return data == bytes(len(data))


def virtual_torrent(num_pieces: int, piece_length: int = BLOCK, name: str = "sim", *,
                    hashed: bool = False) -> Torrent:
    """A v1 torrent of ``num_pieces`` pieces of ``piece_length`` bytes, hashes all zero.

    ``hashed=True`` gives each piece the real SHA-1 of what the simulator sends for it
    (zero bytes), so the ``sha1`` scheme can check every arrival for real (the
    walkthrough does); all pieces then share one digest.
    """
    if num_pieces < 1 or piece_length < 1:
        raise ValueError("a simulated torrent needs at least one piece of at least one byte")
    digest = hashlib.sha1(bytes(piece_length)).digest() if hashed else bytes(20)
    info = {
        b"name": name.encode(),
        b"piece length": piece_length,
        b"length": num_pieces * piece_length,
        b"pieces": digest * num_pieces,
    }
    return from_info(encode(info))
