"""Fuzz the UDP tracker codecs (BEP 15, "UDP Tracker Protocol"): :mod:`btref.tracker`.

An input is one datagram, read as a tracker's answer over IPv4 and over IPv6
(:func:`~btref.tracker.parse_udp_response`, what the ``udp-tracker`` plugin calls on every
packet that echoes its transaction id) and as a client's request to the reference
tracker (:func:`~btref.tracker.parse_udp_request`). Only
:class:`~btref.errors.TrackerError` may refuse it.

Seeds: the BEP 15 packets of the vectors, plus packets built with the module's own builders.
"""

from __future__ import annotations

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref.discovery import AnnounceRequest, ScrapeStats
    from btref.errors import TrackerError
    from btref.tracker import (
        parse_udp_request, parse_udp_response, udp_announce_request, udp_announce_response,
        udp_connect_request, udp_connect_response, udp_error, udp_scrape_request, udp_scrape_response,
    )


def TestOneInput(data: bytes) -> None:
    for ipv6 in (False, True):
        try:
            parse_udp_response(data, ipv6=ipv6)
        except TrackerError:
            pass
    try:
        parse_udp_request(data)
    except TrackerError:
        pass


def seeds() -> list[bytes]:
    request = AnnounceRequest(info_hash=bytes(range(20)), peer_id=b"-BT0001-abcdefghijkl", port=6881,
                              uploaded=1, downloaded=2, left=3, event="started", numwant=50, key=7)
    out = [
        udp_connect_request(1),
        udp_connect_response(1, 0x0123456789ABCDEF),
        udp_announce_request(5, 2, request),
        udp_announce_response(2, 1800, 1, 2, b"\x0a\x00\x00\x01\x1a\xe1" + bytes(15) + b"\x01\x1a\xe1"),
        udp_scrape_request(5, 3, [bytes(20), b"\xff" * 20]),
        udp_scrape_response(3, [ScrapeStats(1, 2, 3), ScrapeStats(0, 0, 0)]),
        udp_error(4, "unknown info_hash"),
    ]
    for case in (harness.vector_json("bep15_udp_tracker.json") or {}).get("constructed_examples", []):
        out.append(bytes.fromhex(case["hex"]))
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
