"""Lab 7, part 1: announce to an HTTP tracker (BEP 3 "Trackers", BEP 23 compact peers).

An announce is an HTTP ``GET`` of the tracker's announce URL with a query string that says
who we are and how far along; the answer is a bencoded dictionary with the peers. Read
``docs/core/trackers.md`` ("The announce", "HTTP: a GET and a bencoded dictionary").

The values you take and give are btref's (``btref.discovery``): an ``AnnounceRequest``
comes in, an ``AnnounceResult`` of ``PeerAddress`` values goes out, and every failure is a
``btref.errors.TrackerError``. So your class is a real btref discovery plugin: btref's
driver can announce with it, and ``conformance/discovery`` grades it.

You may use ``btref.bencode`` to decode the answer (Lab 4 is where you write your own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import TrackerError
from btref.hookspecs import hookimpl

#: The largest answer we read, headers included (2 MiB holds some 350,000 compact peers):
#: a tracker is a stranger on the network, and may stream forever.
MAX_RESPONSE = 2 * 1024 * 1024

def announce_url(url: str, request: AnnounceRequest) -> str:
    """The URL to ``GET`` for ``request`` at the tracker whose announce URL is ``url``.

    Append ``?`` (or ``&`` when ``url`` already has a query) and these parameters, joined by
    ``&``: ``info_hash``, ``peer_id``, ``port``, ``uploaded``, ``downloaded``, ``left``,
    ``compact=1`` (BEP 23: please answer with compact peers), and ``event`` only when
    ``request.event`` is not empty. ``info_hash`` and ``peer_id`` are raw 20-byte strings,
    not text: write every byte as ``%XX`` (two hex digits) unless it is a letter, a digit,
    or one of ``- . _ ~`` (RFC 3986 "unreserved"). ``urllib.parse.quote_from_bytes`` with
    ``safe=""`` does exactly that.
    """
    raise NotImplementedError


def parse_compact_peers(data: bytes) -> list[PeerAddress]:
    """The peers of a BEP 23 compact string: 6 bytes each, an IPv4 address (4 bytes) then a
    port (2 bytes, big-endian); ``b"\\x7f\\x00\\x00\\x01\\x1a\\xe1"`` is 127.0.0.1:6881.

    Raise :class:`TrackerError` when ``len(data)`` is not a multiple of 6: a truncated list
    must not become a wrong peer.
    """
    raise NotImplementedError


def parse_announce_response(body: bytes) -> AnnounceResult:
    """The bencoded answer of an HTTP tracker as an ``AnnounceResult``.

    A dictionary with ``failure reason`` is the tracker saying no: raise
    :class:`TrackerError` with its text. Otherwise take ``interval`` (seconds until the next
    announce; 1800 if absent), ``peers`` (a compact string, or the original BEP 3 list of
    dictionaries with ``ip`` and ``port``), and ``complete``/``incomplete`` (seeders and
    leechers) when present. Anything that is not such a dictionary (not bencoded, not a
    dictionary, peers of another type) is a :class:`TrackerError` too.
    """
    raise NotImplementedError


class HTTPTracker:
    """Announce to HTTP trackers (lab 7): BEP 3 GET, BEP 23 compact peers."""

    family = "discovery"
    #: Trackers are how a private torrent (BEP 27) finds peers: announce those too.
    public_only = False

    def __init__(self, timeout: float = 15.0, max_response: int = MAX_RESPONSE) -> None:
        self.timeout = timeout
        self.max_response = max_response

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """``None`` when the torrent has no ``http://`` tracker (``request.urls("http")``), else
        an awaitable of the first tracker's answer, without doing any I/O yet.

        ``request.urls("http")`` gives the torrent's tiers (BEP 12), each a tuple of URLs:
        try the URLs in order, tier after tier, and the first that answers wins. When none
        does, raise :class:`TrackerError` naming each failure. (Return a coroutine: call an
        ``async def`` of yours without awaiting it. ``btref.discovery.TierOrder`` does the
        tiers for you, if you prefer.)
        """
        raise NotImplementedError

    async def announce(self, url: str, request: AnnounceRequest) -> AnnounceResult:
        """Announce to the one tracker ``url``; the result carries ``url=url``
        (``attrs.evolve(result, url=url)`` makes that copy of a frozen result).

        Open a TCP connection to the URL's host and port (``urllib.parse.urlsplit``; port 80
        when none is given), send ``GET <path and query> HTTP/1.0`` with a ``Host`` header and
        a blank line, and read until the tracker closes the connection. Then split the
        headers from the body at the first blank line (``\\r\\n\\r\\n``); the status must be
        200; the body goes to :func:`parse_announce_response`.

        Every failure is a :class:`TrackerError`: the connection refused or reset, no
        complete answer within ``self.timeout`` seconds, more than ``self.max_response``
        bytes (stop reading at once), another status than 200, a bad body.
        """
        raise NotImplementedError
