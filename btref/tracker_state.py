"""The reference tracker's logic, with no sockets and no clock (BEP 3, 7, 15, 23, 48).

A :class:`TrackerState` keeps one *swarm* per info hash: the peers that announced it,
each with its address, how much it still lacks (``left == 0`` is a seed) and when it was
last heard from. The asyncio servers in :mod:`btref.net.tracker_server` hand it request
bytes and the current time; it hands back the answer bytes. A test or a simulator can
drive it the same way with a fake clock.

What it does, by BEP:

* BEP 3 "Trackers": ``announce`` adds or refreshes the peer and answers up to ``numwant``
  *other* peers of the swarm, chosen at random; ``stopped`` removes the peer, ``completed``
  counts a finished download. Peers silent for longer than two intervals expire. A peer is
  known by its address and port, not its peer id: a client that announces again under a new
  id (rtorrent does after fetching a magnet link's metadata) replaces its old record instead
  of being handed its own address. An empty ``left=`` is a leecher whose size is not known
  yet (WebTorrent announces so before it has the metadata).
* BEP 23 compact answers (the default), or a list of dictionaries when ``compact=0``;
  BEP 7 ``peers6`` for IPv6 peers.
* BEP 48 scrape: ``complete`` / ``downloaded`` / ``incomplete`` per info hash.
* BEP 15 UDP: connection ids are an HMAC of the client's IP address and the current minute,
  the tracker keeps no per-client state and accepts an id for at least two minutes.

Invariants: every request is validated before it touches a swarm, and every invalid one
gets an answer (a bencoded ``failure reason`` or a UDP error packet) rather than an
exception; the address used for a peer is the one the packet came from (an ``ip``
parameter is ignored, so nobody can register someone else); the number of swarms is
capped so a flood of made-up info hashes cannot exhaust memory; an announce costs the same
in a swarm of ten peers or of a hundred thousand (the answer is drawn by index from a list
of the swarm's addresses, and the seed count is kept, not counted).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

import attrs

from btref import bencode
from btref.discovery import AnnounceRequest, PeerAddress, ScrapeStats, encode_compact_peers
from btref.errors import TrackerError
from btref.tracker import (
    ANNOUNCE, CONNECT, MAX_QUERY, MAX_SCRAPE, PROTOCOL_ID, parse_udp_request, udp_announce_response,
    udp_connect_response, udp_error, udp_scrape_response,
)

__all__ = ["HTTPAnnounce", "parse_query", "parse_announce_query", "parse_scrape_query",
           "PeerRecord", "Swarm", "TrackerState", "UNKNOWN_LEFT"]

#: ``left`` recorded for an announce with an empty ``left=``: a client that has no metadata
#: yet (WebTorrent after a magnet link) cannot know what it lacks, but it surely lacks
#: something, so it is a leecher.
UNKNOWN_LEFT = 1

# ---------------------------------------------------------------------------------------------
# HTTP requests (the tracker reads what btref.tracker.announce_url writes)
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class HTTPAnnounce:
    """A validated HTTP announce: the request plus the answer format asked for."""

    request: AnnounceRequest
    compact: bool = True
    no_peer_id: bool = False


def parse_query(query: bytes | str) -> dict[str, list[bytes]]:
    """A query string -> ``{name: [raw values]}``; values stay bytes (info hashes are binary)."""
    raw = query.encode("latin-1") if isinstance(query, str) else query
    if len(raw) > MAX_QUERY:
        raise TrackerError(f"query of {len(raw)} bytes is longer than {MAX_QUERY}")
    params: dict[str, list[bytes]] = {}
    for item in raw.split(b"&"):
        if item:
            name, _, value = item.partition(b"=")
            key = unquote_to_bytes(name.replace(b"+", b" ")).decode("latin-1")
            params.setdefault(key, []).append(unquote_to_bytes(value.replace(b"+", b" ")))
    return params


def _one(params: dict[str, list[bytes]], name: str, default: bytes | None = None) -> bytes:
    values = params.get(name)
    if not values:
        if default is None:
            raise TrackerError(f"missing {name}")
        return default
    return values[0]


def _number(params: dict[str, list[bytes]], name: str, default: bytes | None = None) -> int:
    text = _one(params, name, default)
    if text.startswith(b"-") and text[1:].isdigit():
        raise TrackerError(f"{name} must not be negative")
    if not text.isdigit() or len(text) > 19:
        raise TrackerError(f"{name} is not a number: {text[:20]!r}")
    return int(text)


def parse_announce_query(query: bytes | str) -> HTTPAnnounce:
    """Validate an HTTP announce query (tracker side).

    :raises TrackerError: whose message is the ``failure reason`` to send back.
    """
    p = parse_query(query)
    info_hash, peer_id = _one(p, "info_hash"), _one(p, "peer_id")
    if len(info_hash) != 20:
        raise TrackerError(f"info_hash must be 20 bytes, got {len(info_hash)}")
    if len(peer_id) != 20:
        raise TrackerError(f"peer_id must be 20 bytes, got {len(peer_id)}")
    port = _number(p, "port")
    if not 0 < port < 65536:
        raise TrackerError(f"port {port} is not in 1..65535")
    event = _one(p, "event", b"").decode("latin-1")
    if event not in ("", "started", "completed", "stopped", "paused"):
        raise TrackerError(f"unknown event {event[:20]!r}")
    left = UNKNOWN_LEFT if p.get("left") == [b""] else _number(p, "left", b"0")
    request = AnnounceRequest(
        info_hash=info_hash, peer_id=peer_id, port=port, uploaded=_number(p, "uploaded", b"0"),
        downloaded=_number(p, "downloaded", b"0"), left=left,
        event="" if event == "paused" else event, numwant=_number(p, "numwant", b"50"),
    )
    return HTTPAnnounce(request, compact=_one(p, "compact", b"1") != b"0",
                        no_peer_id=_one(p, "no_peer_id", b"0") == b"1")


def parse_scrape_query(query: bytes | str) -> list[bytes]:
    """The info hashes of an HTTP scrape query (none means "all", which we refuse later)."""
    hashes = parse_query(query).get("info_hash", [])
    if len(hashes) > MAX_SCRAPE:
        raise TrackerError(f"scrape of {len(hashes)} info hashes; at most {MAX_SCRAPE}")
    for h in hashes:
        if len(h) != 20:
            raise TrackerError(f"info_hash must be 20 bytes, got {len(h)}")
    return hashes


# ---------------------------------------------------------------------------------------------
# Swarms
# ---------------------------------------------------------------------------------------------


@attrs.define
class PeerRecord:
    """One peer of a swarm, as the tracker remembers it."""

    peer_id: bytes
    host: str
    port: int
    left: int
    last_seen: float
    #: Its BEP 23 / BEP 7 compact form ``(v4, v6)``, made once here rather than for every
    #: answer that lists it.
    compact: tuple[bytes, bytes] = attrs.field(init=False, eq=False, repr=False)

    @compact.default
    def _compact(self) -> tuple[bytes, bytes]:
        return encode_compact_peers([PeerAddress(self.host, self.port)])

    @property
    def key(self) -> tuple[str, int]:
        """How the swarm knows this peer: its address and port (a peer id may change)."""
        return (self.host, self.port)

    def address(self) -> PeerAddress:
        return PeerAddress(self.host, self.port, self.peer_id)


class Swarm:
    """The peers of one info hash, by ``(host, port)``, and how many downloads completed.

    Besides the dictionary, the records are kept in a list (``_order``, with each key's
    position in ``_slot``), so a random peer is one index away and removing one is a swap
    with the last: no step here looks at every peer, except :meth:`expire`.
    """

    def __init__(self) -> None:
        self.peers: dict[tuple[str, int], PeerRecord] = {}
        self.downloaded = 0
        self.seeds = 0
        self._order: list[PeerRecord] = []
        self._slot: dict[tuple[str, int], int] = {}

    def put(self, record: PeerRecord) -> PeerRecord | None:
        """Add or refresh ``record``; returns the record it replaces, if any."""
        key = record.key
        old = self.peers.get(key)
        if old is None:
            self._slot[key] = len(self._order)
            self._order.append(record)
        else:
            self.seeds -= old.left == 0
            self._order[self._slot[key]] = record
        self.peers[key] = record
        self.seeds += record.left == 0
        return old

    def remove(self, key: tuple[str, int]) -> None:
        record = self.peers.pop(key, None)
        if record is None:
            return
        self.seeds -= record.left == 0
        slot, last = self._slot.pop(key), self._order.pop()
        if last is not record:  # the last record fills the hole
            self._order[slot] = last
            self._slot[last.key] = slot

    def sample(self, rng: random.Random, wanted: int, exclude: PeerRecord, fresh: float) -> list[PeerRecord]:
        """Up to ``wanted`` random peers other than ``exclude`` heard from since ``fresh``.

        Stale peers drawn are left out rather than replaced, so until the next sweep the
        answer may be a little short: the price of never scanning the swarm.
        """
        order = self._order
        picks = rng.sample(range(len(order)), min(len(order), wanted + 1))  # a spare, in case we draw ourselves
        chosen = [order[i] for i in picks]
        return [p for p in chosen if p is not exclude and p.last_seen >= fresh][:wanted]

    def expire(self, limit: float) -> None:
        """Forget the peers last heard from before ``limit``."""
        for key in [k for k, p in self.peers.items() if p.last_seen < limit]:
            self.remove(key)

    def stats(self) -> ScrapeStats:
        return ScrapeStats(complete=self.seeds, downloaded=self.downloaded, incomplete=len(self.peers) - self.seeds)


def _normal_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _compact(peers: list[PeerRecord]) -> tuple[bytes, bytes]:
    """The ``peers`` and ``peers6`` strings of an answer (BEP 23, BEP 7)."""
    return b"".join(p.compact[0] for p in peers), b"".join(p.compact[1] for p in peers)


class TrackerState:
    """Every swarm a tracker knows, and the handlers for HTTP and UDP requests.

    ``interval`` is what announces are told (seconds between announces); ``min_interval``
    is sent when given. ``secret`` keys the BEP 15 connection ids (random by default);
    ``rng`` chooses which peers to hand out (pass a seeded ``random.Random`` to repeat).
    """

    def __init__(self, *, interval: int = 120, min_interval: int | None = None, max_numwant: int = 200,
                 max_swarms: int = 100_000, secret: bytes | None = None, rng: random.Random | None = None):
        if interval < 1:
            raise ValueError("interval must be at least 1 second")
        self.interval = interval
        self.min_interval = min_interval
        self.max_numwant = max_numwant
        self.max_swarms = max_swarms
        self.rng = rng or random.Random()
        # The driver passes a secret from the OS's entropy (btref.net.tracker_server).
        self.secret = secret if secret is not None else self.rng.randbytes(16)
        self.swarms: dict[bytes, Swarm] = {}
        self._last_sweep = float("-inf")

    # -- the logic -------------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Forget peers silent for more than two intervals, and swarms left with nothing."""
        limit = now - 2 * self.interval
        for info_hash, swarm in list(self.swarms.items()):
            swarm.expire(limit)
            if not swarm.peers and not swarm.downloaded:
                del self.swarms[info_hash]
        self._last_sweep = now

    # [docs: announce]
    def announce(self, request: AnnounceRequest, host: str, now: float) -> tuple[list[PeerRecord], ScrapeStats]:
        """Record ``request`` from ``host``; return the peers to hand out and the swarm's counts."""
        if now - self._last_sweep >= self.interval / 2:
            self.expire(now)
        swarm = self.swarms.get(request.info_hash)
        if swarm is None:
            if len(self.swarms) >= self.max_swarms:
                raise TrackerError("tracker is tracking too many torrents")
            swarm = self.swarms[request.info_hash] = Swarm()
        record = PeerRecord(request.peer_id, _normal_host(host), request.port, request.left, now)
        if request.event == "stopped":
            swarm.remove(record.key)
            return [], swarm.stats()
        old = swarm.put(record)
        if request.event == "completed" and (old is None or old.left > 0):
            swarm.downloaded += 1
        wanted = min(request.numwant, self.max_numwant)
        return swarm.sample(self.rng, wanted, record, now - 2 * self.interval), swarm.stats()
    # [/docs: announce]

    def scrape(self, info_hashes: Iterable[bytes]) -> dict[bytes, ScrapeStats]:
        """Counts for each info hash (zeros for one the tracker does not know)."""
        return {h: self.swarms[h].stats() if h in self.swarms else ScrapeStats() for h in info_hashes}

    def peers(self, info_hash: bytes) -> list[PeerAddress]:
        """The addresses registered for ``info_hash`` (for tests, demos and curious students)."""
        swarm = self.swarms.get(info_hash)
        return [p.address() for p in swarm.peers.values()] if swarm else []

    # -- HTTP ------------------------------------------------------------------------------

    def http_announce(self, query: bytes | str, host: str, now: float) -> bytes:
        """The bencoded answer to an HTTP announce query from ``host``."""
        try:
            parsed = parse_announce_query(query)
            peers, stats = self.announce(parsed.request, host, now)
        except TrackerError as exc:
            return bencode.encode({"failure reason": str(exc)})
        answer: dict[str, object] = {"interval": self.interval, "complete": stats.complete,
                                     "incomplete": stats.incomplete}
        if self.min_interval is not None:
            answer["min interval"] = self.min_interval
        if parsed.compact:
            v4, v6 = _compact(peers)
            answer["peers"] = v4
            if v6:
                answer["peers6"] = v6
        else:
            answer["peers"] = [
                {"ip": p.host, "port": p.port, **({} if parsed.no_peer_id else {"peer id": p.peer_id})}
                for p in peers
            ]
        return bencode.encode(answer)

    def http_scrape(self, query: bytes | str) -> bytes:
        """The bencoded answer to an HTTP scrape query (BEP 48)."""
        try:
            hashes = parse_scrape_query(query)
            if not hashes:
                raise TrackerError("scrape needs at least one info_hash (full scrapes are not served)")
        except TrackerError as exc:
            return bencode.encode({"failure reason": str(exc)})
        files = {h: attrs.asdict(s) for h, s in self.scrape(hashes).items()}
        return bencode.encode({"files": files})

    # -- UDP (BEP 15) ----------------------------------------------------------------------

    def connection_id(self, addr: tuple[str, int], now: float, *, age: int = 0) -> int:
        """The connection id for ``addr`` in the minute ``age`` minutes before ``now``.

        Only the IP address counts, not the port: a client may connect from one socket and
        announce from another (btref's UDP plugin opens a socket per exchange).
        """
        minute = int(now // 60) - age
        mac = hmac.new(self.secret, f"{addr[0]}|{minute}".encode(), hashlib.sha256)
        return int.from_bytes(mac.digest()[:8], "big")

    # [docs: udp_packet]
    def udp_packet(self, data: bytes, addr: tuple[str, int], now: float, *, ipv6: bool = False) -> bytes | None:
        """The answer to one UDP packet from ``addr``; ``None`` when it cannot be answered."""
        try:
            request = parse_udp_request(data)
        except TrackerError as exc:
            if len(data) < 16:
                return None  # no transaction id to answer to
            return udp_error(int.from_bytes(data[12:16], "big"), str(exc))
        tid = request.transaction_id
        if request.action == CONNECT:
            return udp_connect_response(tid, self.connection_id(addr, now))
        valid = {self.connection_id(addr, now, age=age) for age in range(3)}
        if request.connection_id not in valid or request.connection_id == PROTOCOL_ID:
            return udp_error(tid, "unknown or expired connection id; connect again")
        if request.action == ANNOUNCE:
            assert request.announce is not None
            try:
                peers, stats = self.announce(request.announce, addr[0], now)
            except TrackerError as exc:
                return udp_error(tid, str(exc))
            v4, v6 = _compact(peers)
            return udp_announce_response(tid, self.interval, stats.incomplete, stats.complete, v6 if ipv6 else v4)
        return udp_scrape_response(tid, self.scrape(request.info_hashes).values())
    # [/docs: udp_packet]
