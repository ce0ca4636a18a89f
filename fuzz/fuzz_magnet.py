"""Fuzz the magnet link parser (BEP 9 "magnet URI format"; BEP 52 ``btmh``; BEP 53 ``so``): :mod:`btref.magnet`.

The input bytes become the URI text by UTF-8 with ``surrogateescape``, so bytes that are
not UTF-8 arrive as lone surrogates, which a pasted or command-line string can carry.
Only :class:`~btref.errors.MagnetError` may refuse a URI. One that parses must keep the
module's invariant ``parse_magnet(m.to_uri()) == m``.

Seeds: the valid and invalid magnets of the vectors, plus generated ones covering every
parameter the parser reads.
"""

from __future__ import annotations

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref.errors import MagnetError
    from btref.magnet import parse_magnet


def TestOneInput(data: bytes) -> None:
    uri = data.decode("utf-8", "surrogateescape")
    try:
        magnet = parse_magnet(uri)
    except MagnetError:
        return
    if parse_magnet(magnet.to_uri()) != magnet:
        raise AssertionError(f"{uri!r} does not round-trip: {magnet.to_uri()!r}")


def seeds() -> list[bytes]:
    v1 = "c0fda1edafdbdbb96443424e0b3899af7159d10e"
    v2 = "1220" + "caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"
    uris = [
        f"magnet:?xt=urn:btih:{v1}",
        "magnet:?xt=urn:btih:YD62D3NP3PN3SZCDIJHAWOEZV5YVTUIO&dn=temp",
        f"magnet:?xt=urn:btmh:{v2}&dn=a+b%20c",
        f"magnet:?xt=urn:btih:{v1}&xt=urn:btmh:{v2}&tr=http%3A%2F%2Ft%2Fannounce&tr.1=udp://u:1&ws=http://w/",
        f"magnet:?xt=urn:btih:{v1}&x.pe=1.2.3.4:6881&x.pe=[::1]:1&x.pe=host.example:65535",
        f"magnet:?xt=urn:btih:{v1}&so=0,2,4-6&&dn=&dn=x&xt=urn:sha1:abc",
        f"MAGNET:?XT=urn:BTIH:{v1.upper()}&so=1-0",
    ]
    out = [u.encode() for u in uris]
    vectors = harness.vector_json("magnet_uris.json") or {}
    out += [case["uri"].encode() for case in vectors.get("valid", []) + vectors.get("invalid", [])]
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
