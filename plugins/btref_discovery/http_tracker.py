"""Discovery through HTTP(S) trackers (BEP 3 "Trackers", BEP 23 compact peers, BEP 12 tiers).

For every ``http://`` and ``https://`` announce URL of the torrent, in BEP 12 order (tiers
in order, URLs in a tier in order, a URL that answered moves to the front of its tier),
this plugin sends ``GET <announce>?info_hash=...&peer_id=...&port=...`` and reads the
bencoded answer with :func:`btref.tracker.parse_announce_response`. The first URL that
answers wins; if none does, the awaitable raises :class:`~btref.errors.TrackerError`
naming each failure.

Hard limits, because a tracker is a peer too: at most ``max_response`` bytes are read,
and the whole exchange must finish within ``timeout`` seconds. A ``tracker id`` the
tracker sends is echoed (``trackerid``) on the next announce to the same URL (BEP 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from btref.discovery import AnnounceRequest, AnnounceResult, ScrapeStats, TierOrder
from btref.errors import TrackerError
from btref.hookspecs import hookimpl
from btref.tracker import (
    MAX_RESPONSE, announce_url, http_get, parse_announce_response, parse_http_response, parse_scrape_response,
    scrape_url,
)


class HTTPTracker:
    """Announce to HTTP(S) trackers: BEP 3 GET, BEP 23 compact peers, BEP 12 tiers."""

    family = "discovery"
    name = "http-tracker"
    #: Trackers are how a private torrent finds peers (BEP 27), so private torrents are served.
    public_only = False

    def __init__(self, timeout: float = 15.0, max_response: int = MAX_RESPONSE) -> None:
        self.timeout = timeout
        self.max_response = max_response
        self.tiers = TierOrder()
        self._tracker_ids: dict[tuple[bytes, str], bytes] = {}

    # [docs: announce]
    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """An awaitable AnnounceResult, or ``None`` when the torrent has no HTTP tracker."""
        tiers = request.urls("http", "https")
        if not tiers:
            return None
        return self.tiers.announce(request.info_hash, tiers, lambda url: self.announce(url, request))

    async def announce(self, url: str, request: AnnounceRequest) -> AnnounceResult:
        """Announce to one tracker ``url`` (no tiers)."""
        key = (request.info_hash, url)
        body = await self.fetch(announce_url(url, request, tracker_id=self._tracker_ids.get(key)))
        result = parse_announce_response(body, url=url)
        if result.tracker_id is not None:
            self._tracker_ids[key] = result.tracker_id
        return result
    # [/docs: announce]

    async def scrape(self, url: str, info_hashes: list[bytes]) -> dict[bytes, ScrapeStats]:
        """BEP 48 scrape of the tracker whose *announce* URL is ``url``."""
        target = scrape_url(url, info_hashes)
        if target is None:
            raise TrackerError(f"{url}: no scrape URL (the path does not end in /announce...)")
        return parse_scrape_response(await self.fetch(target))

    async def fetch(self, url: str) -> bytes:
        """GET ``url`` and return the body of a 200 answer; every failure is a TrackerError."""
        host, port, request = http_get(url)
        where = url.split("?", 1)[0]  # error messages name the tracker, not our query
        # [docs: fetch]
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=url.lower().startswith("https:") or None)
                try:
                    writer.write(request)
                    await writer.drain()
                    size = 0
                    while chunk := await reader.read(65536):
                        size += len(chunk)
                        if size > self.max_response + 16384:  # the body, plus room for the headers
                            raise TrackerError(f"{where}: answer larger than {self.max_response} bytes")
                        chunks.append(chunk)
                finally:
                    writer.close()
        except TimeoutError:
            raise TrackerError(f"{where}: no complete answer within {self.timeout} s") from None
        except OSError as exc:
            raise TrackerError(f"{where}: {exc}") from exc
        return parse_http_response(b"".join(chunks))
        # [/docs: fetch]
