"""Local service discovery: find peers of the same torrent on the local network (BEP 14).

A client multicasts one small HTTP-like datagram to the group 239.192.152.143, port 6771
(BEP 14 "Protocol")::

    BT-SEARCH * HTTP/1.1\\r\\n
    Host: 239.192.152.143:6771\\r\\n
    Port: <the TCP port we listen on>\\r\\n
    Infohash: <40 hex digits>\\r\\n          (several lines may follow; btref sends one)
    cookie: <an opaque token>\\r\\n
    \\r\\n
    \\r\\n

Everyone in the group hears it; a client that has one of the torrents connects to the
sender's address at ``Port``. IPv6 has its own group, ``[ff15::efc0:988f]:6771`` (``Host``
in brackets); btref joins it on the interface named by ``interface6``, since IPv6 joins a
group by interface, not by address. There is no answer: each client announces its own torrents,
when it starts one and then every 5 minutes, at most once a minute per torrent (BEP 14
"Rules"). The cookie lets a client recognise and drop its own datagrams, which the
multicast loopback hands back to it.

The module reads in three parts:

* the codec, :func:`encode_search` and :func:`decode_search` (sans-I/O). A datagram comes
  from anyone on the network, so decoding keeps hard limits (:data:`MAX_SIZE` bytes,
  :data:`MAX_LINES` header lines, :data:`MAX_INFOHASHES` info hashes) and raises
  :class:`~btref.errors.LSDError` for anything else; the datagram is then dropped;
* :class:`Announcer` (sans-I/O): which torrents are due an announce at ``now``, and which
  received announcements to accept: not our own (cookie), only for our torrents, and at
  most once a minute per sender and torrent and :attr:`Announcer.accept_per_minute` in all;
* the asyncio part, :class:`LSD`, the plugin: a UDP socket on port 6771 for each group it
  joins, read by the event loop (at most :data:`BURST` datagrams a wake-up), a timer for
  the periodic announces, and the ``btref_announce`` hook. Peers heard between announces
  go to the driver's ``request.found``; a caller without it (a magnet
  fetch) gets those heard while the plugin listens for :attr:`LSD.listen` seconds.

Invariants: a private torrent is never announced (BEP 27); nothing a datagram claims is
allocated before the limits are checked; the sockets are closed once the last torrent
stopped (``event == "stopped"``), when an announce without ``found`` ends (even cancelled),
or, if its event loop ended first, by the next announce.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

import attrs

from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import LSDError, TrackerError
from btref.hookspecs import hookimpl
from btref.plugins import Param

__all__ = ["GROUP", "GROUP6", "PORT", "MAX_SIZE", "MAX_LINES", "MAX_INFOHASHES", "Search", "encode_search",
           "decode_search", "Announcer", "LSD"]

#: BEP 14's IPv4 multicast group and port.
GROUP, PORT = "239.192.152.143", 6771
#: BEP 14's IPv6 group (site-local scope), on the same port.
GROUP6 = "ff15::efc0:988f"
#: The largest datagram we read: many times what one torrent's announce takes (about 150 bytes).
MAX_SIZE = 1400
#: Header lines after the request line, blank lines not counted.
MAX_LINES = 32
#: Info hashes in one datagram (each line takes 53 bytes: 20 fit in :data:`MAX_SIZE`).
MAX_INFOHASHES = 20
#: The interval an announce with a ``found`` callback returns: the usual tracker's, since
#: peers reach the driver as they are heard and the plugin's own timer announces again.
TRACKER_INTERVAL = 1800
#: Datagrams read per wake-up of the event loop at most, so that a flood cannot starve it.
BURST = 64
#: The longest cookie we take; BEP 14 leaves its form open, clients send a few hex digits.
MAX_COOKIE = 64
REQUEST_LINE = b"BT-SEARCH * HTTP/1.1"


# -- the message -----------------------------------------------------------------------


@attrs.frozen
class Search:
    """One ``BT-SEARCH`` datagram: the sender's TCP port, its torrents, its cookie."""

    port: int
    info_hashes: tuple[bytes, ...]
    cookie: str | None = None
    host: str = f"{GROUP}:{PORT}"


# [docs: encode]
def encode_search(search: Search) -> bytes:
    """The datagram for ``search`` (``Infohash`` in hex, one line each; two blank lines end it:
    Transmission takes nothing else)."""
    lines = [REQUEST_LINE.decode(), f"Host: {search.host}", f"Port: {search.port}"]
    lines += [f"Infohash: {ih.hex()}" for ih in search.info_hashes]
    if search.cookie is not None:
        lines.append(f"cookie: {search.cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n\r\n").encode("ascii")  # BEP 14: two blank lines end it
# [/docs: encode]


# [docs: decode]
def decode_search(data: bytes) -> Search:
    """Parse one datagram; header names are case-insensitive, unknown headers are ignored.

    :raises LSDError: over :data:`MAX_SIZE` bytes, :data:`MAX_LINES` header lines or
        :data:`MAX_INFOHASHES` info hashes; not ASCII; another request line; a header that
        is not ``Name: value``; no port, or a port not in 1..65535; no info hash, or one
        that is not 40 hex digits; a cookie longer than :data:`MAX_COOKIE`.
    """
    if len(data) > MAX_SIZE:
        raise LSDError(f"BT-SEARCH: datagram of {len(data)} bytes is over the limit of {MAX_SIZE}")
    if not data.isascii():
        raise LSDError("BT-SEARCH: datagram is not ASCII")
    lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
    if lines[0] != REQUEST_LINE:
        raise LSDError(f"BT-SEARCH: request line is {lines[0][:40]!r}, not {REQUEST_LINE!r}")
    headers = [line for line in lines[1:] if line.strip()]
    if len(headers) > MAX_LINES:
        raise LSDError(f"BT-SEARCH: {len(headers)} header lines, over the limit of {MAX_LINES}")
    port: int | None = None
    cookie: str | None = None
    host = ""
    hashes: list[bytes] = []
    for line in headers:
        name, sep, value = line.decode().partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            raise LSDError(f"BT-SEARCH: header line {line[:40]!r} is not 'Name: value'")
        if name == "port":
            if port is not None or not (value.isdigit() and len(value) <= 5 and 0 < int(value) < 65536):
                raise LSDError(f"BT-SEARCH: Port {value[:10]!r} is not one number in 1..65535")
            port = int(value)
        elif name == "infohash":
            if len(hashes) == MAX_INFOHASHES:
                raise LSDError(f"BT-SEARCH: more than {MAX_INFOHASHES} info hashes")
            if len(value) != 40 or any(c not in "0123456789abcdefABCDEF" for c in value):
                raise LSDError(f"BT-SEARCH: Infohash {value[:50]!r} is not 40 hex digits")
            hashes.append(bytes.fromhex(value))
        elif name == "cookie":
            if len(value) > MAX_COOKIE:
                raise LSDError(f"BT-SEARCH: cookie of {len(value)} characters, over the limit of {MAX_COOKIE}")
            cookie = value
        elif name == "host":
            host = value
    if port is None:
        raise LSDError("BT-SEARCH: no Port header")
    if not hashes:
        raise LSDError("BT-SEARCH: no Infohash header")
    return Search(port, tuple(hashes), cookie, host)
# [/docs: decode]


# -- what to send and what to accept (sans-I/O) ----------------------------------------


@attrs.define
class Announcer:
    """BEP 14's rules for one client: when each torrent is announced, which announcements count.

    Time comes in as ``now`` (seconds); nothing here reads a clock or a socket.
    """

    cookie: str
    #: Seconds between the periodic announces of a torrent (BEP 14: 5 minutes).
    interval: float = 300.0
    #: No torrent is announced twice within this many seconds, and a sender's announcement
    #: of a torrent counts once in this many seconds (BEP 14: once a minute).
    min_interval: float = 60.0
    #: Announcements accepted per minute, all senders together: what a flood can cost us.
    accept_per_minute: int = 100
    #: Our torrents: info hash -> the TCP port we announce for it.
    torrents: dict[bytes, int] = attrs.Factory(dict)
    last_sent: dict[bytes, float] = attrs.Factory(dict)
    #: (sender's host, port, info hash) -> when we last accepted it.
    accepted: dict[tuple[str, int, bytes], float] = attrs.Factory(dict)
    window: tuple[float, int] = (float("-inf"), 0)  # (start of the minute, accepted in it)

    # [docs: announce]
    def announce(self, now: float, info_hashes: Iterable[bytes]) -> list[Search]:
        """A search for each of ``info_hashes`` not announced in the last :attr:`min_interval` seconds.

        One info hash a datagram, as libtorrent and Transmission send: BEP 14 allows several,
        but says older implementations may not take them, and Transmission drops any datagram
        over 200 bytes.
        """
        out = []
        for ih in info_hashes:
            last = self.last_sent.get(ih)
            if ih in self.torrents and (last is None or now - last >= self.min_interval):
                self.last_sent[ih] = now
                out.append(Search(self.torrents[ih], (ih,), self.cookie))
        return out

    def due(self, now: float) -> list[Search]:
        """Searches for the torrents whose last announce is :attr:`interval` seconds old."""
        return self.announce(now, [ih for ih in self.torrents
                                   if now - self.last_sent.get(ih, float("-inf")) >= self.interval])
    # [/docs: announce]

    # [docs: receive]
    def receive(self, data: bytes, host: str, now: float) -> list[tuple[bytes, PeerAddress]]:
        """``(info hash, peer)`` for each accepted announcement in the datagram from ``host``.

        :raises LSDError: the datagram is malformed (see :func:`decode_search`).
        """
        search = decode_search(data)
        if search.cookie is not None and search.cookie == self.cookie:
            return []  # our own, handed back by the multicast loopback
        start, count = self.window
        if now - start >= 60.0:
            start, count = now, 0
            self.accepted = {k: t for k, t in self.accepted.items() if now - t < self.min_interval}
        found = []
        for ih in search.info_hashes:
            key = (host, search.port, ih)
            last = self.accepted.get(key)
            if ih not in self.torrents or (last is not None and now - last < self.min_interval):
                continue
            if count >= self.accept_per_minute:
                break
            count += 1
            self.accepted[key] = now
            found.append((ih, PeerAddress(host, search.port)))
        self.window = (start, count)
        return found
    # [/docs: receive]


# -- the socket and the plugin ---------------------------------------------------------


def _group_socket(interface: str, port: int) -> socket.socket:
    """A UDP socket on ``port`` in BEP 14's IPv4 group on ``interface`` (an address), sending
    there with TTL 1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # Other clients on this machine (libtorrent, a second btref) bind the same port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("", port))
        iface = socket.inet_aton(interface)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP) + iface)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # the local network only
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # clients on this machine hear us
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _group_socket6(interface: str, port: int) -> socket.socket:
    """The same in the IPv6 group, on the interface named ``interface`` (IPv6 joins by index)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # IPv4 has its own socket
        sock.bind(("::", port))
        index = socket.if_nametoindex(interface)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                        socket.inet_pton(socket.AF_INET6, GROUP6) + struct.pack("@I", index))
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class LSD:
    """Local service discovery (BEP 14): find peers of the same torrent on the LAN by multicast."""

    family = "discovery"
    name = "lsd"
    #: BEP 27: a private torrent is never announced on the local network.
    public_only = True

    def __init__(
        self,
        interface: Annotated[str, Param("address of the network interface to announce on "
                                        "(0.0.0.0: the one the kernel routes multicast to)")] = "0.0.0.0",
        interface6: Annotated[str, Param("name of the network interface for the IPv6 group, e.g. eth0 "
                                         "(empty: IPv4 only)")] = "",
        port: Annotated[int, Param("UDP port of the groups (BEP 14: 6771)", ge=1, le=65535)] = PORT,
        interval: Annotated[float, Param("seconds between a torrent's announces (BEP 14: 300)", ge=60)] = 300.0,
        listen: Annotated[float, Param("seconds an announce without a found callback stays in the group "
                                       "to hear the neighbours' announces", ge=0)] = 1.0,
        accept_per_minute: Annotated[int, Param("announcements accepted per minute, from all senders",
                                                ge=1)] = 100,
    ) -> None:
        try:
            socket.inet_aton(interface)
        except OSError:
            raise LSDError(f"lsd: interface {interface!r} is not an IPv4 address") from None
        if interface6 and interface6 not in {name for _, name in socket.if_nameindex()}:
            raise LSDError(f"lsd: there is no network interface named {interface6!r} (interface6)")
        self.interface, self.interface6, self.port, self.listen = interface, interface6, port, listen
        cookie = f"{random.SystemRandom().getrandbits(32):08x}"
        self.announcer = Announcer(cookie, interval=interval, accept_per_minute=accept_per_minute)
        #: Info hash -> where to hand the peers found (None: keep them for the next announce).
        self.found: dict[bytes, Callable[[PeerAddress], None] | None] = {}
        self.heard: dict[bytes, list[PeerAddress]] = {}
        #: The sockets in the groups (IPv4, then IPv6) while a torrent runs, and the event loop
        #: that reads them.
        self.socks: list[socket.socket] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timer: asyncio.TimerHandle | None = None
        #: Datagrams dropped as malformed (each an LSDError), for the curious.
        self.dropped = 0

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """An awaitable AnnounceResult; ``None`` for a private torrent and for ``"stopped"``.

        ``"stopped"`` has no message in BEP 14 (a peer simply stops answering): the torrent
        is forgotten at once, and the socket closed with the last one.
        """
        if request.private:
            return None
        if request.event == "stopped":
            self._forget(request.info_hash)
            return None
        return self.announce(request)

    # [docs: hook]
    async def announce(self, request: AnnounceRequest) -> AnnounceResult:
        """Join the group (once), announce the torrent if it is due, return the peers heard."""
        loop = asyncio.get_running_loop()
        ih = request.info_hash
        try:
            self._open(loop)
        except OSError as exc:
            where = f"{self.interface}" + (f" and {self.interface6}" if self.interface6 else "")
            raise TrackerError(f"lsd: cannot join the group on {where}: {exc}") from exc
        self.announcer.torrents[ih] = request.port
        self.found[ih] = request.found
        self.heard.setdefault(ih, [])
        self._send(self.announcer.announce(loop.time(), [ih]))
        if request.found is not None:
            # Peers reach the driver as they are heard; our own timer announces again.
            return AnnounceResult(peers=self._take(ih), interval=TRACKER_INTERVAL)
        try:
            await asyncio.sleep(self.listen)
            return AnnounceResult(peers=self._take(ih), interval=int(self.announcer.interval))
        finally:
            if self.found.get(ih) is None:
                self._forget(ih)  # nobody will hand us a "stopped" to close the socket on
    # [/docs: hook]

    def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.socks and self.loop is loop:
            return
        self._close()  # sockets of another (finished) event loop
        self.loop = loop
        try:
            self.socks.append(_group_socket(self.interface, self.port))
            if self.interface6:
                self.socks.append(_group_socket6(self.interface6, self.port))
        except BaseException:
            self._close()
            raise
        for sock in self.socks:
            loop.add_reader(sock, self._readable, sock)
        self.timer = loop.call_later(self.announcer.min_interval, self._tick)

    def _tick(self) -> None:
        assert self.loop is not None
        self._send(self.announcer.due(self.loop.time()))
        self.timer = self.loop.call_later(self.announcer.min_interval, self._tick)

    def _send(self, searches: list[Search]) -> None:
        for sock in self.socks:
            group = GROUP6 if sock.family == socket.AF_INET6 else GROUP
            host = f"[{group}]:{self.port}" if sock.family == socket.AF_INET6 else f"{group}:{self.port}"
            for search in searches:
                try:
                    sock.sendto(encode_search(attrs.evolve(search, host=host)), (group, self.port))
                except OSError:
                    pass  # no route, or a full buffer: the next periodic announce tries again

    def _readable(self, sock: socket.socket) -> None:
        assert self.loop is not None
        for _ in range(BURST):
            try:  # one byte over the limit, so that decode_search sees a datagram is too long
                data, address = sock.recvfrom(MAX_SIZE + 1)
            except OSError:  # nothing more to read (BlockingIOError), or an ICMP error
                return
            host = address[0]
            if sock.family == socket.AF_INET6 and address[3]:  # a link-local sender: name its link
                host = f"{host}%{socket.if_indextoname(address[3])}"
            self._received(data, host, self.loop.time())

    def _received(self, data: bytes, host: str, now: float) -> None:
        try:
            found = self.announcer.receive(data, host, now)
        except LSDError:
            self.dropped += 1
            return
        for ih, peer in found:
            callback = self.found.get(ih)
            if callback is not None:
                callback(peer)
            else:
                self.heard[ih].append(peer)

    def _take(self, ih: bytes) -> list[PeerAddress]:
        peers, self.heard[ih] = list(dict.fromkeys(self.heard[ih])), []
        return peers

    def _forget(self, ih: bytes) -> None:
        self.announcer.torrents.pop(ih, None)
        self.found.pop(ih, None)
        self.heard.pop(ih, None)
        if not self.announcer.torrents:
            self._close()

    def _close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for sock in self.socks:
            if self.loop is not None and not self.loop.is_closed():
                self.loop.remove_reader(sock)
            sock.close()
        self.socks = []
        self.loop = self.timer = None
