"""Lab 7 reference, part 1: the HTTP announce, by btref (BEP 3 "Trackers", BEP 23)."""

from __future__ import annotations

from btref.discovery import decode_compact_peers as parse_compact_peers
from btref.tracker import MAX_RESPONSE, announce_url, parse_announce_response
from btref_discovery.http_tracker import HTTPTracker

__all__ = ["MAX_RESPONSE", "announce_url", "parse_compact_peers", "parse_announce_response", "HTTPTracker"]
