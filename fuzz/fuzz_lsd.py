"""Fuzz the local service discovery datagram parser (BEP 14 ``BT-SEARCH``): :mod:`btref_discovery.lsd`.

The input is one datagram as it arrives from anyone on the network. Only
:class:`~btref.errors.LSDError` may refuse it. One that parses must re-encode to a
datagram that parses to the same :class:`~btref_discovery.lsd.Search` (the Host header
aside, which btref always writes as the group), and
:meth:`~btref_discovery.lsd.Announcer.receive` must accept at most one peer per info hash
it carries, never one of a torrent we do not have.

Seeds: libtorrent's datagram as heard on loopback, btref's own, and a few malformed ones.
"""

from __future__ import annotations

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    import attrs

    from btref.errors import LSDError
    from btref_discovery.lsd import Announcer, Search, decode_search, encode_search

OURS = bytes(range(20))


def TestOneInput(data: bytes) -> None:
    try:
        search = decode_search(data)
    except LSDError:
        return
    again = decode_search(encode_search(search))
    if attrs.evolve(again, host=search.host) != search:
        raise AssertionError(f"{data!r} does not round-trip: {again!r}")
    announcer = Announcer("fuzz")
    announcer.torrents[OURS] = 6881
    found = announcer.receive(data, "10.0.0.2", 0.0)
    if len(found) > 1 or any(ih != OURS for ih, _ in found):
        raise AssertionError(f"{data!r}: accepted {found!r}")


def seeds() -> list[bytes]:
    libtorrent = (b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 47019\r\n"
                  b"Infohash: 000102030405060708090a0b0c0d0e0f10111213\r\ncookie: 1ddfb7a8\r\n\r\n\r\n")
    return [
        libtorrent,
        encode_search(Search(6881, (OURS, b"\xab" * 20), "c0ffee")),
        b"BT-SEARCH * HTTP/1.1\nPORT: 1\ninfohash: " + OURS.hex().upper().encode() + b"\n\n",
        b"BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: 00\r\n\r\n",
        b"M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n",
    ]


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
