"""Peer discovery values: what a client asks a tracker and what it learns (BEP 3, 7, 12, 23, 27).

Every discovery plugin (HTTP tracker, UDP tracker, a static list, later DHT and PEX) speaks in
the three attrs classes below, so the driver that calls the ``btref_announce`` hook
(:mod:`btref.hookspecs`) never cares where peers came from:

* :class:`AnnounceRequest`: who we are (BEP 3 "Trackers": ``info_hash``, ``peer_id``,
  ``port``, ``uploaded``, ``downloaded``, ``left``, ``event``), how many peers we want, the
  torrent's tracker tiers (BEP 12) and its private flag (BEP 27);
* :class:`AnnounceResult`: the peers found and when to ask again;
* :class:`PeerAddress`: one peer, ``host:port`` (and its peer id when the tracker told us).

It also holds the two compact peer encodings trackers use: BEP 23 (``peers``: 6 bytes per
IPv4 peer, address then port, big-endian) and BEP 7 (``peers6``: 18 bytes per IPv6 peer).

Invariants: values are frozen and validated when built (a 20-byte info hash and peer id,
a port in 1..65535, no negative counters), so a plugin never sees a half-valid request;
compact decoders refuse a length that is not a multiple of the entry size with a
:class:`~btref.errors.TrackerError` instead of silently dropping bytes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from btref.errors import TrackerError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent

__all__ = [
    "EVENTS",
    "PeerAddress",
    "AnnounceRequest",
    "AnnounceResult",
    "ScrapeStats",
    "TierOrder",
    "decode_compact_peers",
    "decode_compact_peers6",
    "encode_compact_peers",
]

#: The values of BEP 3's ``event`` key; ``""`` is a regular (periodic) announce.
EVENTS = ("", "started", "completed", "stopped")


def _check_port(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 < value < 65536:
        raise ValueError(f"{attribute.name} {value} is not in 1..65535")


def _check_20(instance: object, attribute: attrs.Attribute[bytes], value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != 20:
        raise ValueError(f"{attribute.name} must be 20 bytes, not {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative (got {value})")


@attrs.frozen
class PeerAddress:
    """One peer a discovery source told us about."""

    host: str
    port: int = attrs.field(validator=_check_port)
    #: The peer's id when the source said it (non-compact tracker answers), else ``None``.
    peer_id: bytes | None = attrs.field(default=None, eq=False)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> PeerAddress:
        """``"10.0.0.1:6881"``, ``"[::1]:6881"`` or ``"name:6881"`` -> a PeerAddress.

        :raises ValueError: when there is no port or it is out of range.
        """
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"peer {text!r} is not host:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            raise ValueError(f"peer {text!r}: an IPv6 address must be in brackets, [addr]:port")
        return cls(host, int(port))


def _tiers(value: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    if isinstance(value, str):
        raise TypeError("trackers must be tiers (a list of lists of URLs), not one string")
    return tuple(tuple(tier) for tier in value)


@attrs.frozen
class AnnounceRequest:
    """What a client tells trackers (BEP 3 "Trackers"; BEP 12 tiers; BEP 27 private)."""

    info_hash: bytes = attrs.field(validator=_check_20)
    peer_id: bytes = attrs.field(validator=_check_20)
    port: int = attrs.field(validator=_check_port)
    uploaded: int = attrs.field(default=0, validator=_non_negative)
    downloaded: int = attrs.field(default=0, validator=_non_negative)
    left: int = attrs.field(default=0, validator=_non_negative)
    event: str = attrs.field(default="", validator=attrs.validators.in_(EVENTS))
    numwant: int = attrs.field(default=50, validator=_non_negative)
    #: BEP 12 tiers: a tuple of tiers, each a tuple of announce URLs.
    trackers: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_tiers)
    #: BEP 27: a private torrent is announced to its trackers only (never DHT or PEX).
    private: bool = False
    #: A number that lets a tracker recognise us after our IP changes (BEP 15 ``key``).
    key: int = attrs.field(default=0, validator=_non_negative)
    #: The :class:`~btref.metainfo.Torrent`, when the driver has it (plugins may ignore it).
    torrent: Torrent | None = attrs.field(default=None, eq=False, repr=False)
    #: Where a source that hears of peers *between* announces (BEP 14 local service discovery)
    #: hands each one as it comes, so the driver dials it at once; ``None`` when the caller
    #: only takes the peers an announce returns.
    found: Callable[[PeerAddress], None] | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def for_torrent(cls, torrent: Torrent, *, peer_id: bytes, port: int, **fields: Any) -> AnnounceRequest:
        """A request for a :class:`~btref.metainfo.Torrent`: its info hash, tiers and private flag."""
        fields.setdefault("left", torrent.total_length)
        return cls(
            info_hash=torrent.info_hash, peer_id=peer_id, port=port,
            trackers=torrent.trackers, private=torrent.private, torrent=torrent, **fields,
        )

    def urls(self, *schemes: str) -> tuple[tuple[str, ...], ...]:
        """The tiers restricted to URLs of the given schemes (``"http"``, ``"udp"``); empty tiers dropped."""
        prefixes = tuple(f"{s}://" for s in schemes)
        kept = (tuple(u for u in tier if u.lower().startswith(prefixes)) for tier in self.trackers)
        return tuple(tier for tier in kept if tier)


def _peer_tuple(peers: Iterable[PeerAddress]) -> tuple[PeerAddress, ...]:
    return tuple(peers)


@attrs.frozen
class AnnounceResult:
    """What a discovery source answered: peers, and when to ask again (seconds)."""

    peers: tuple[PeerAddress, ...] = attrs.field(default=(), converter=_peer_tuple)
    interval: int = 1800
    min_interval: int | None = None
    #: Seeders and leechers in the swarm, when the source knows.
    complete: int | None = None
    incomplete: int | None = None
    warning: str | None = None
    #: BEP 3 ``tracker id``: to be sent back on the next announce to the same tracker.
    tracker_id: bytes | None = None
    #: Which URL answered (``None`` for sources that are not trackers).
    url: str | None = None


@attrs.frozen
class ScrapeStats:
    """One torrent's counters in a scrape answer (BEP 48; BEP 15 "scrape")."""

    complete: int = 0  # seeders
    downloaded: int = 0  # completed downloads ever reported
    incomplete: int = 0  # leechers


def decode_compact_peers(data: bytes) -> list[PeerAddress]:
    """BEP 23 compact peers: 4 address bytes + 2 port bytes per peer, big-endian.

    Entries with port 0 are skipped (no one can connect there).

    :raises TrackerError: when ``len(data)`` is not a multiple of 6.
    """
    return _decode(data, 4)


def decode_compact_peers6(data: bytes) -> list[PeerAddress]:
    """BEP 7 ``peers6``: 16 address bytes + 2 port bytes per peer.

    :raises TrackerError: when ``len(data)`` is not a multiple of 18.
    """
    return _decode(data, 16)


def _decode(data: bytes, size: int) -> list[PeerAddress]:
    step = size + 2
    if len(data) % step:
        raise TrackerError(f"compact peer list of {len(data)} bytes is not a multiple of {step}")
    view = memoryview(data)
    peers: list[PeerAddress] = []
    for at in range(0, len(data), step):
        port = int.from_bytes(view[at + size : at + step], "big")
        if port:
            peers.append(PeerAddress(str(ipaddress.ip_address(bytes(view[at : at + size]))), port))
    return peers


def encode_compact_peers(peers: Iterable[PeerAddress]) -> tuple[bytes, bytes]:
    """``(peers, peers6)``: the BEP 23 and BEP 7 compact strings for these peers.

    Hosts that are not IP addresses (names) cannot be encoded compactly and are left out.
    """
    v4, v6 = bytearray(), bytearray()
    for peer in peers:
        try:
            address = ipaddress.ip_address(peer.host)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        target = v4 if address.version == 4 else v6
        target += address.packed + peer.port.to_bytes(2, "big")
    return bytes(v4), bytes(v6)


@attrs.define
class TierOrder:
    """BEP 12 "Order of Processing": the tier order a tracker plugin keeps per torrent.

    Tiers are tried in order and the URLs in a tier in order; the first URL that answers
    moves to the front of its tier, so the next announce goes there first. (BEP 12 also
    asks clients to shuffle each tier once; btref keeps the file's order, so runs repeat.)
    """

    orders: dict[tuple[bytes, tuple[tuple[str, ...], ...]], list[list[str]]] = attrs.Factory(dict)

    # [docs: tiers]
    async def announce(self, info_hash: bytes, tiers: tuple[tuple[str, ...], ...],
                       one: Callable[[str], Awaitable[AnnounceResult]]) -> AnnounceResult:
        """Await ``one(url)`` for each URL in order until one answers.

        :raises TrackerError: listing every URL's failure when none answered.
        """
        order = self.orders.setdefault((info_hash, tiers), [list(tier) for tier in tiers])
        failures: list[str] = []
        for tier in order:
            for url in list(tier):
                try:
                    result = await one(url)
                except TrackerError as exc:
                    failures.append(f"{url}: {exc}")
                    continue
                tier.remove(url)
                tier.insert(0, url)
                return result
        raise TrackerError("no tracker answered: " + "; ".join(failures))
    # [/docs: tiers]
