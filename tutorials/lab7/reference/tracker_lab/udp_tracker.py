"""Lab 7 reference, part 2: the UDP announce, by btref (BEP 15)."""

from __future__ import annotations

from btref.discovery import AnnounceResult
from btref.errors import TrackerError
from btref.tracker import ANNOUNCE, CONNECT, ERROR, PROTOCOL_ID, SCRAPE, UDPResponse, parse_udp_response
from btref.tracker import UDP_EVENTS as EVENTS
from btref.tracker import udp_announce_request as announce_request
from btref.tracker import udp_connect_request as connect_request
from btref_discovery.udp_tracker import UDPTracker

__all__ = ["PROTOCOL_ID", "CONNECT", "ANNOUNCE", "SCRAPE", "ERROR", "EVENTS", "connect_request",
           "announce_request", "parse_connect_response", "parse_announce_response", "UDPTracker"]


def _expect(data: bytes, action: int) -> UDPResponse:
    reply = parse_udp_response(data)
    if reply.action == ERROR:
        raise TrackerError(f"tracker error: {reply.message}")
    if reply.action != action:
        raise TrackerError(f"answer with action {reply.action}, expected {action}")
    return reply


def parse_connect_response(data: bytes) -> tuple[int, int]:
    reply = _expect(data, CONNECT)
    assert reply.connection_id is not None  # parse_udp_response gives a connect answer one
    return reply.transaction_id, reply.connection_id


def parse_announce_response(data: bytes) -> tuple[int, AnnounceResult]:
    reply = _expect(data, ANNOUNCE)
    assert reply.result is not None  # parse_udp_response gives an announce answer one
    return reply.transaction_id, reply.result
