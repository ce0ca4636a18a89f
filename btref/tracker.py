"""Tracker protocols as pure functions: bytes and URLs in, values out (BEP 3, 7, 15, 23, 48).

Nothing here opens a socket. The client plugins (``btref_discovery.http_tracker``,
``btref_discovery.udp_tracker``) and the reference tracker (:mod:`btref.tracker_state`,
:mod:`btref.net.tracker_server`) use these codecs on both ends of the wire.

HTTP (BEP 3 "Trackers", BEP 23, BEP 48)
    An announce is a ``GET`` of the announce URL with a query string. ``info_hash`` and
    ``peer_id`` are *raw 20-byte strings*, so every byte that is not an RFC 3986 unreserved
    character is percent-encoded (``%E2``); they are never hex or UTF-8 text. The answer is
    a bencoded dictionary: ``failure reason`` alone, or ``interval`` and ``peers`` (a list of
    dictionaries, or the BEP 23 compact string) plus the optional ``min interval``,
    ``tracker id``, ``complete``, ``incomplete``, ``warning message`` and BEP 7 ``peers6``.
    The scrape URL replaces the ``announce`` in the last path component with ``scrape``
    (BEP 48); no such component means the tracker cannot scrape.

UDP (BEP 15)
    Fixed big-endian layouts. A client first *connects* (magic protocol id, gets an 8-byte
    connection id), then *announces* or *scrapes* with it. Every response echoes the
    client's 32-bit transaction id; an *error* packet (action 3) carries a text message.
    Responses may be longer than the minimum sizes (future extensions), never shorter.

Invariants: every parser bounds its input before allocating and raises
:class:`~btref.errors.TrackerError` naming the field at fault; builders only accept values
the protocol can carry.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, quote_from_bytes, urlsplit

import attrs

from btref import bencode
from btref.discovery import (
    AnnounceRequest, AnnounceResult, PeerAddress, ScrapeStats, decode_compact_peers, decode_compact_peers6,
)
from btref.errors import BencodeError, TrackerError

# ---------------------------------------------------------------------------------------------
# HTTP, client side
# ---------------------------------------------------------------------------------------------

#: Longest HTTP tracker answer a client reads (a 2 MiB body holds ~350,000 compact peers).
MAX_RESPONSE = 2 * 1024 * 1024
#: Longest request target (path and query) the reference tracker accepts.
MAX_QUERY = 8192
#: Most info hashes in one scrape (BEP 15 fits about 74 in a UDP packet; HTTP gets the same cap).
MAX_SCRAPE = 74


def _escape(value: bytes | str) -> str:
    """Percent-encode raw bytes, keeping only RFC 3986 unreserved characters."""
    return quote_from_bytes(value.encode() if isinstance(value, str) else value, safe="")


# [docs: announce_url]
def announce_url(url: str, request: AnnounceRequest, *, tracker_id: bytes | None = None,
                 compact: bool = True) -> str:
    """The full announce URL for ``request`` at tracker ``url`` (BEP 3, BEP 23 ``compact``)."""
    params: list[tuple[str, bytes | str]] = [
        ("info_hash", request.info_hash), ("peer_id", request.peer_id), ("port", str(request.port)),
        ("uploaded", str(request.uploaded)), ("downloaded", str(request.downloaded)),
        ("left", str(request.left)), ("compact", "1" if compact else "0"),
        ("numwant", str(request.numwant)), ("key", f"{request.key:08x}"),
    ]
    if request.event:
        params.append(("event", request.event))
    if tracker_id is not None:
        params.append(("trackerid", tracker_id))
    return _with_query(url, params)
# [/docs: announce_url]


def scrape_url(url: str, info_hashes: Iterable[bytes] = ()) -> str | None:
    """The BEP 48 scrape URL for announce URL ``url`` (with ``info_hash`` params), or ``None``."""
    parts = urlsplit(url)
    head, _, last = parts.path.rpartition("/")
    if not last.startswith("announce"):
        return None
    scrape = parts._replace(path=f"{head}/scrape{last[len('announce'):]}").geturl()
    return _with_query(scrape, [("info_hash", h) for h in info_hashes])


# [docs: with_query]
def _with_query(url: str, params: Sequence[tuple[str, bytes | str]]) -> str:
    if not params:
        return url
    joiner = "&" if "?" in url else "?"
    return url + joiner + "&".join(f"{k}={_escape(v)}" for k, v in params)
# [/docs: with_query]


def http_get(url: str) -> tuple[str, int, bytes]:
    """``(host, port, request bytes)`` for an HTTP/1.0 ``GET`` of ``url`` (the connection closes after)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrackerError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TrackerError(f"bad port in URL {url!r}") from exc
    # Characters a request line cannot carry (spaces, non-ASCII) are percent-encoded; "%" is kept.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe="/?&=%:@!$'()*+,;~")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if not host.isascii():
        raise TrackerError(f"tracker host {host!r} is not ASCII (write it in IDNA form, xn--...)")
    head = f"GET {target} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: btref/0.1.0\r\n"
    return parts.hostname, port, (head + "Connection: close\r\n\r\n").encode("ascii")


def parse_http_response(raw: bytes) -> bytes:
    """The body of a complete HTTP response, or :class:`TrackerError`.

    A non-200 status is an error, but a bencoded ``failure reason`` in its body wins (some
    trackers answer failures with 4xx). ``Content-Length`` and chunked bodies are handled.
    """
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise TrackerError("HTTP response without the blank line after its headers")
    lines = head.split(b"\r\n")
    status_line = lines[0].split(None, 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        raise TrackerError(f"not an HTTP response: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _dechunk(body)
    elif b"content-length" in headers:
        length = headers[b"content-length"]
        if not length.isdigit() or int(length) > len(body):
            raise TrackerError(f"HTTP body shorter than its Content-Length {length[:20]!r}")
        body = body[: int(length)]
    status = int(status_line[1])
    if status != 200:
        try:
            _decode_dict(body, "body")
        except TrackerError as exc:
            if str(exc).startswith("tracker failure"):
                raise
        raise TrackerError(f"tracker answered HTTP {status}")
    return body


# RFC 9112: a chunk size is hex digits only. int(text, 16) would also take "-6", "+6",
# "0x6" and "6_0"; a negative size moves the cursor back, and -6 brings it back to the start.
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _dechunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            raise TrackerError("HTTP chunked body ends early")
        size_text = body[at:end].split(b";")[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise TrackerError(f"bad HTTP chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if end + 2 + size > len(body):
            raise TrackerError("HTTP chunked body ends early")
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        at = end + 4 + size


def _decode_dict(body: bytes, what: str) -> dict[bytes, bencode.Value]:
    try:
        value = bencode.decode(body, strict=False)
    except BencodeError as exc:
        raise TrackerError(f"{what} is not bencoded: {exc}") from exc
    if not isinstance(value, dict):
        raise TrackerError(f"{what} is a {type(value).__name__}, not a dictionary")
    reason = value.get(b"failure reason")
    if reason is not None:
        raise TrackerError(f"tracker failure: {_text(reason)}")
    return value


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _optional_int(d: Mapping[bytes, object], key: bytes) -> int | None:
    value = d.get(key)
    if value is not None and (not isinstance(value, int) or value < 0):
        raise TrackerError(f"tracker answer: {key.decode()} must be a non-negative integer, not {value!r}")
    return value


def _int(d: Mapping[bytes, object], key: bytes, default: int) -> int:
    value = _optional_int(d, key)
    return default if value is None else value


def parse_announce_response(body: bytes, *, url: str | None = None) -> AnnounceResult:
    """A bencoded HTTP announce answer -> :class:`AnnounceResult` (BEP 3, 7, 23).

    :raises TrackerError: for a ``failure reason`` or anything malformed.
    """
    d = _decode_dict(body, "announce answer")
    peers: list[PeerAddress] = []
    raw_peers = d.get(b"peers", b"")
    if isinstance(raw_peers, bytes):
        peers += decode_compact_peers(raw_peers)
    elif isinstance(raw_peers, list):
        for n, entry in enumerate(raw_peers):
            peers.append(_dict_peer(entry, n))
    else:
        raise TrackerError("tracker answer: peers is neither a string nor a list")
    raw6 = d.get(b"peers6", b"")
    if not isinstance(raw6, bytes):
        raise TrackerError("tracker answer: peers6 is not a string")
    peers += decode_compact_peers6(raw6)
    interval = _int(d, b"interval", 1800)
    if not interval:
        raise TrackerError("tracker answer: interval must be positive")
    warning, tracker_id = d.get(b"warning message"), d.get(b"tracker id")
    return AnnounceResult(
        peers=tuple(peers), interval=interval, min_interval=_optional_int(d, b"min interval"),
        complete=_optional_int(d, b"complete"), incomplete=_optional_int(d, b"incomplete"),
        warning=None if warning is None else _text(warning),
        tracker_id=tracker_id if isinstance(tracker_id, bytes) else None, url=url,
    )


def _dict_peer(entry: object, n: int) -> PeerAddress:
    if not isinstance(entry, dict):
        raise TrackerError(f"tracker answer: peer {n} is not a dictionary")
    ip, port, peer_id = entry.get(b"ip"), entry.get(b"port"), entry.get(b"peer id")
    if not isinstance(ip, bytes) or not ip or not isinstance(port, int) or not 0 < port < 65536:
        raise TrackerError(f"tracker answer: peer {n} lacks a valid ip and port")
    return PeerAddress(_text(ip), port, peer_id if isinstance(peer_id, bytes) else None)


def parse_scrape_response(body: bytes) -> dict[bytes, ScrapeStats]:
    """A bencoded scrape answer -> ``{info_hash: ScrapeStats}`` (BEP 48)."""
    files = _decode_dict(body, "scrape answer").get(b"files", {})
    if not isinstance(files, dict):
        raise TrackerError("scrape answer: files is not a dictionary")
    stats: dict[bytes, ScrapeStats] = {}
    for info_hash, entry in files.items():
        if len(info_hash) != 20 or not isinstance(entry, dict):
            raise TrackerError(f"scrape answer: bad entry for {info_hash[:20].hex()}")
        stats[info_hash] = ScrapeStats(*(_int(entry, k, 0) for k in (b"complete", b"downloaded", b"incomplete")))
    return stats


# ---------------------------------------------------------------------------------------------
# UDP (BEP 15)
# ---------------------------------------------------------------------------------------------

PROTOCOL_ID = 0x41727101980
CONNECT, ANNOUNCE, SCRAPE, ERROR = 0, 1, 2, 3
#: BEP 15 event numbers, by BEP 3 event name.
UDP_EVENTS = {"": 0, "completed": 1, "started": 2, "stopped": 3}
_UDP_EVENT_NAMES = {v: k for k, v in UDP_EVENTS.items()}
_ANNOUNCE = struct.Struct(">QII20s20sQQQIIIiH")  # 98 bytes


@attrs.frozen
class UDPResponse:
    """A parsed tracker packet: ``action`` says which of the other fields mean something."""

    action: int
    transaction_id: int
    connection_id: int | None = None  # CONNECT
    result: AnnounceResult | None = None  # ANNOUNCE
    scrape: tuple[ScrapeStats, ...] = ()  # SCRAPE
    message: str | None = None  # ERROR


@attrs.frozen
class UDPRequest:
    """A parsed client packet (tracker side)."""

    action: int
    transaction_id: int
    connection_id: int
    announce: AnnounceRequest | None = None
    info_hashes: tuple[bytes, ...] = ()


def udp_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of a ``udp://host:port/...`` tracker URL."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "udp" and parts.hostname and parts.port:
            return parts.hostname, parts.port
    except ValueError:  # a port out of range
        pass
    raise TrackerError(f"not a udp://host:port URL: {url!r}")


def udp_connect_request(transaction_id: int) -> bytes:
    return struct.pack(">QII", PROTOCOL_ID, CONNECT, transaction_id)


def udp_announce_request(connection_id: int, transaction_id: int, request: AnnounceRequest) -> bytes:
    return _ANNOUNCE.pack(
        connection_id, ANNOUNCE, transaction_id, request.info_hash, request.peer_id, request.downloaded,
        request.left, request.uploaded, UDP_EVENTS[request.event], 0, request.key & 0xFFFFFFFF,
        min(request.numwant, 2**31 - 1), request.port,
    )


def udp_scrape_request(connection_id: int, transaction_id: int, info_hashes: Sequence[bytes]) -> bytes:
    if not 0 < len(info_hashes) <= MAX_SCRAPE or any(len(h) != 20 for h in info_hashes):
        raise TrackerError(f"a UDP scrape carries 1..{MAX_SCRAPE} 20-byte info hashes")
    return struct.pack(">QII", connection_id, SCRAPE, transaction_id) + b"".join(info_hashes)


# [docs: parse_udp_response]
def parse_udp_response(data: bytes, *, ipv6: bool = False) -> UDPResponse:
    """A tracker's UDP packet -> :class:`UDPResponse`; ``ipv6`` when it came over IPv6 (18-byte peers)."""
    if len(data) < 8:
        raise TrackerError(f"UDP tracker packet of {len(data)} bytes is shorter than 8")
    action, tid = struct.unpack_from(">II", data)
    if action == CONNECT:
        if len(data) < 16:
            raise TrackerError("UDP connect response shorter than 16 bytes")
        return UDPResponse(action, tid, connection_id=struct.unpack_from(">Q", data, 8)[0])
    if action == ANNOUNCE:
        if len(data) < 20:
            raise TrackerError("UDP announce response shorter than 20 bytes")
        interval, leechers, seeders = struct.unpack_from(">III", data, 8)
        rest, step = data[20:], 18 if ipv6 else 6
        rest = rest[: len(rest) - len(rest) % step]  # trailing extension bytes are not peers
        peers = decode_compact_peers6(rest) if ipv6 else decode_compact_peers(rest)
        return UDPResponse(action, tid, result=AnnounceResult(
            peers=tuple(peers), interval=max(interval, 1), complete=seeders, incomplete=leechers))
    if action == SCRAPE:
        counts = [struct.unpack_from(">III", data, at) for at in range(8, len(data) - 11, 12)]
        return UDPResponse(action, tid, scrape=tuple(ScrapeStats(s, c, le) for s, c, le in counts))
    if action == ERROR:
        return UDPResponse(action, tid, message=data[8:].decode("utf-8", "replace"))
    raise TrackerError(f"UDP tracker packet with unknown action {action}")
# [/docs: parse_udp_response]


def parse_udp_request(data: bytes) -> UDPRequest:
    """A client's UDP packet -> :class:`UDPRequest` (tracker side).

    :raises TrackerError: with the message for the error packet; packets under 16 bytes
        have no transaction id to answer to, and say so with ``"short"`` in the message.
    """
    if len(data) < 16:
        raise TrackerError(f"short UDP packet ({len(data)} bytes)")
    cid, action, tid = struct.unpack_from(">QII", data)
    if action == CONNECT:
        if cid != PROTOCOL_ID:
            raise TrackerError("connect without the BEP 15 protocol id")
        return UDPRequest(action, tid, cid)
    if action == ANNOUNCE:
        if len(data) < _ANNOUNCE.size:
            raise TrackerError(f"announce of {len(data)} bytes, expected {_ANNOUNCE.size}")
        fields = _ANNOUNCE.unpack_from(data)
        info_hash, peer_id, downloaded, left, uploaded, event, _ip, key, numwant, port = fields[3:]
        if event not in _UDP_EVENT_NAMES:
            raise TrackerError(f"unknown event {event}")
        try:
            request = AnnounceRequest(
                info_hash=info_hash, peer_id=peer_id, port=port, uploaded=uploaded, downloaded=downloaded,
                left=left, event=_UDP_EVENT_NAMES[event], numwant=numwant if numwant >= 0 else 50, key=key)
        except ValueError as exc:
            raise TrackerError(str(exc)) from exc
        return UDPRequest(action, tid, cid, announce=request)
    if action == SCRAPE:
        body = data[16:]
        count = len(body) // 20
        if not 0 < count <= MAX_SCRAPE or len(body) % 20:
            raise TrackerError(f"scrape must carry 1..{MAX_SCRAPE} whole 20-byte info hashes")
        return UDPRequest(action, tid, cid, info_hashes=tuple(body[i * 20 : i * 20 + 20] for i in range(count)))
    raise TrackerError(f"unknown action {action}")


def udp_connect_response(transaction_id: int, connection_id: int) -> bytes:
    return struct.pack(">IIQ", CONNECT, transaction_id, connection_id)


def udp_announce_response(transaction_id: int, interval: int, leechers: int, seeders: int,
                          compact_peers: bytes) -> bytes:
    return struct.pack(">IIIII", ANNOUNCE, transaction_id, interval, leechers, seeders) + compact_peers


def udp_scrape_response(transaction_id: int, stats: Iterable[ScrapeStats]) -> bytes:
    body = b"".join(struct.pack(">III", s.complete, s.downloaded, s.incomplete) for s in stats)
    return struct.pack(">II", SCRAPE, transaction_id) + body


def udp_error(transaction_id: int, message: str) -> bytes:
    return struct.pack(">II", ERROR, transaction_id) + message.encode("utf-8")[:1000]
