"""KRPC: the DHT's message format, sans-I/O (BEP 5, "KRPC Protocol" and "DHT Queries";
BEP 32, "BitTorrent DHT Extensions for IPv6").

A KRPC message is one bencoded dictionary in one UDP datagram. Every message has a
transaction id ``t`` (chosen by the querier, echoed in the answer) and a type ``y``:

* ``"q"``, a **query**: method name ``q`` and arguments ``a`` (always the sender's ``id``);
* ``"r"``, a **response**: return values ``r`` (always the responder's ``id``);
* ``"e"``, an **error**: ``e = [code, message]``; codes 201 generic, 202 server,
  203 protocol (malformed packet, bad arguments, bad token), 204 method unknown.

Contact information is compact (BEP 5, "Contact Encoding"): a peer is 6 bytes (IPv4 and
port, big-endian), a node 26 bytes (its 20-byte id, then its 6-byte peer address).
BEP 32 adds IPv6: a peer is 18 bytes (16-byte address, port), a node 38 bytes, and
IPv6 nodes travel in their own key, ``nodes6``, beside ``nodes``. A ``find_node`` or
``get_peers`` query may say which it wants with ``want``, a list of ``"n4"`` and
``"n6"``; without it the answer carries the family the query came over
(:func:`wanted`). Peers of both families share ``values``: the length tells them apart.

Invariants: the datagram comes from anyone on the Internet, so :func:`decode` checks hard
limits (:data:`MAX_PACKET`, :data:`MAX_TID`, :data:`MAX_TOKEN`, :data:`MAX_VALUES`,
:data:`MAX_NODES`, :data:`MAX_WANT`) and the argument types of the four BEP 5 methods
before a node acts on it; every failure is a
:class:`~btref.errors.KRPCError` whose ``code`` is the error to reply with and whose
``tid`` is set when the packet had a usable transaction id (else it is dropped).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Union

import attrs

from btref import bencode
from btref.bencode import Value
from btref.errors import BencodeError, KRPCError

__all__ = [
    "GENERIC", "SERVER", "PROTOCOL", "METHOD_UNKNOWN", "METHODS", "MAX_PACKET", "MAX_TID", "MAX_TOKEN",
    "MAX_VALUES", "Query", "Response", "Error", "Message", "decode", "encode_query", "encode_response",
    "encode_error", "encode_nodes", "decode_nodes", "encode_peer", "decode_peer", "decode_values",
    "MAX_NODES", "MAX_WANT", "NODES_KEY", "PEER_SIZE", "family_of", "wanted", "want_list", "show",
]

GENERIC, SERVER, PROTOCOL, METHOD_UNKNOWN = 201, 202, 203, 204
#: The BEP 5 methods and the 20-byte arguments each must carry besides ``id``.
METHODS = {"ping": (), "find_node": (b"target",), "get_peers": (b"info_hash",), "announce_peer": (b"info_hash",)}
#: Largest datagram read. A full BEP 5 answer is well under 1,500 bytes; BEP 44 items fit in 4 KiB.
MAX_PACKET = 4096
#: Longest transaction id accepted (libtorrent sends 2 bytes, others 4).
MAX_TID = 16
#: Longest token accepted in ``get_peers`` answers and ``announce_peer`` queries.
MAX_TOKEN = 64
#: Most entries in a ``values`` list (each one a 6- or 18-byte compact peer).
MAX_VALUES = 256
#: Most entries in one ``nodes`` or ``nodes6`` string (an honest node sends 8).
MAX_NODES = 64
#: Most entries in a ``want`` list (BEP 32 defines two: ``n4`` and ``n6``).
MAX_WANT = 8
#: Bytes of a compact peer, by address family (BEP 5: IPv4; BEP 32: IPv6).
PEER_SIZE = {4: 6, 6: 18}
#: The response key that carries the nodes of each family.
NODES_KEY = {4: b"nodes", 6: b"nodes6"}
_WANT_FLAG = {b"n4": 4, b"n6": 6}
#: Longest error message kept (longer ones are cut, not refused: they are only shown).
MAX_ERROR_TEXT = 256

Address = tuple[str, int]


@attrs.frozen
class Query:
    """A KRPC query: ``method`` with ``args`` (bytes keys); ``sender`` is ``args[b"id"]``."""

    tid: bytes
    method: str
    sender: bytes
    #: Bencoded values; :func:`decode` checked the ones the method needs (ids, token, port).
    args: dict[bytes, Any] = attrs.field(factory=dict)
    #: BEP 43 read-only node: answer it, but never put it in the routing table.
    read_only: bool = False


@attrs.frozen
class Response:
    """A KRPC response: ``values`` (bytes keys); ``sender`` is ``values[b"id"]``."""

    tid: bytes
    sender: bytes
    values: dict[bytes, Any] = attrs.field(factory=dict)


@attrs.frozen
class Error:
    """A KRPC error: ``code`` (201..204 in BEP 5) and a human-readable ``message``."""

    tid: bytes
    code: int
    message: str


Message = Union[Query, Response, Error]


# [docs: decode]
def decode(data: bytes) -> Message:
    """Parse one datagram into a :class:`Query`, :class:`Response` or :class:`Error`.

    :raises KRPCError: the packet is too long, not bencoded, or misses or mistypes a key
        BEP 5 requires; ``exc.tid`` is the transaction id if one could be read.
    """
    if len(data) > MAX_PACKET:
        raise KRPCError(f"packet of {len(data)} bytes exceeds {MAX_PACKET}")
    try:
        message = bencode.decode(data, strict=False)
    except BencodeError as exc:
        raise KRPCError(f"not bencoded: {exc}") from exc
    if not isinstance(message, dict):
        raise KRPCError(f"a KRPC message is a dictionary, not {type(message).__name__}")
    tid = message.get(b"t")
    if not isinstance(tid, bytes) or not 0 < len(tid) <= MAX_TID:
        raise KRPCError(f"transaction id 't' must be 1..{MAX_TID} bytes")
    kind = message.get(b"y")
    if kind == b"q":
        return _query(message, tid)
    if kind == b"r":  # a bad answer gets no answer (tid=None): it is dropped
        values = _dict(message, b"r", None)
        return Response(tid, _node_id(values, b"id", None), values)
    if kind == b"e":
        return _error(message, tid)
    raise KRPCError(f"message type 'y' must be q, r or e, not {kind!r}", tid=tid)
# [/docs: decode]


def _dict(message: dict[bytes, Value], key: bytes, tid: bytes | None) -> dict[bytes, Value]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise KRPCError(f"{key.decode()!r} must be a dictionary", tid=tid)
    return value


def _node_id(args: dict[bytes, Value], key: bytes, tid: bytes | None) -> bytes:
    value = args.get(key)
    if not isinstance(value, bytes) or len(value) != 20:
        raise KRPCError(f"{key.decode()!r} must be a 20-byte string", tid=tid)
    return value


def _query(message: dict[bytes, Value], tid: bytes) -> Query:
    method = message.get(b"q")
    if not isinstance(method, bytes) or not 0 < len(method) <= 64:
        raise KRPCError("method name 'q' must be a string of 1..64 bytes", tid=tid)
    name = method.decode("ascii", "replace")
    args = _dict(message, b"a", tid)
    sender = _node_id(args, b"id", tid)
    for key in METHODS.get(name, ()):
        _node_id(args, key, tid)
    want = args.get(b"want")
    if want is not None and not (isinstance(want, list) and len(want) <= MAX_WANT
                                 and all(isinstance(w, bytes) and len(w) <= 8 for w in want)):
        raise KRPCError(f"'want' must be a list of at most {MAX_WANT} short strings (n4, n6)", tid=tid)
    if name == "announce_peer":
        token = args.get(b"token")
        if not isinstance(token, bytes) or len(token) > MAX_TOKEN:
            raise KRPCError(f"announce_peer needs a 'token' string of at most {MAX_TOKEN} bytes", tid=tid)
        implied = args.get(b"implied_port", 0)
        port = args.get(b"port")
        if implied not in (0, 1) or (not implied and not (isinstance(port, int) and 0 < port < 65536)):
            raise KRPCError("announce_peer needs a 'port' in 1..65535 or implied_port=1", tid=tid)
    return Query(tid, name, sender, args, read_only=message.get(b"ro") == 1)


def _error(message: dict[bytes, Value], tid: bytes) -> Error:
    body = message.get(b"e")
    if not (isinstance(body, list) and len(body) >= 2 and isinstance(body[0], int) and isinstance(body[1], bytes)):
        raise KRPCError("error 'e' must be a list [code, message]")
    return Error(tid, body[0], body[1][:MAX_ERROR_TEXT].decode("utf-8", "replace"))


# --------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------

def encode_query(tid: bytes, method: str, sender: bytes, *, read_only: bool = False, **args: object) -> bytes:
    """A query datagram; ``args`` are the method's arguments besides ``id`` (str keys)."""
    message: dict[bytes, object] = {
        b"t": tid, b"y": b"q", b"q": method.encode(),
        b"a": {b"id": sender, **{k.encode(): v for k, v in args.items()}},
    }
    if read_only:
        message[b"ro"] = 1
    return bencode.encode(message)


def encode_response(tid: bytes, sender: bytes, **values: object) -> bytes:
    """A response datagram; ``values`` are returned besides ``id`` (str keys)."""
    body = {b"id": sender, **{k.encode(): v for k, v in values.items()}}
    return bencode.encode({b"t": tid, b"y": b"r", b"r": body})


def encode_error(tid: bytes, code: int, message: str) -> bytes:
    """An error datagram: ``[code, message]``."""
    return bencode.encode({b"t": tid, b"y": b"e", b"e": [code, message.encode()]})


# --------------------------------------------------------------------------------------
# Compact contact information (BEP 5, "Contact Encoding")
# --------------------------------------------------------------------------------------

def family_of(address: Address) -> int:
    """4 or 6: the address family of ``(host, port)`` (hosts are IP address strings)."""
    return 6 if ":" in address[0] else 4


def show(address: Address) -> str:
    """``"1.2.3.4:6881"`` or ``"[::1]:6881"``: an address as people write it."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def wanted(args: dict[bytes, Any], asked_over: int) -> tuple[int, ...]:
    """The families whose nodes a ``find_node``/``get_peers`` answer carries (BEP 32, "want").

    ``args`` is the query's (``want`` already checked by :func:`decode`); unknown flags
    are ignored, and no known flag means the family the query came over (``asked_over``).
    """
    flags = sorted({_WANT_FLAG[w] for w in args.get(b"want", ()) if w in _WANT_FLAG})
    return tuple(flags) or (asked_over,)


def want_list(families: tuple[int, ...]) -> list[bytes]:
    """The ``want`` argument asking for ``families``: ``(4, 6)`` -> ``[b"n4", b"n6"]``."""
    return [b"n4" if f == 4 else b"n6" for f in families]


def encode_peer(address: Address) -> bytes:
    """``("1.2.3.4", 6881)`` -> 6 bytes, ``("::1", 6881)`` -> 18 bytes.

    :raises ValueError: for a host that is not an IP address.
    """
    host, port = address
    return ipaddress.ip_address(host).packed + port.to_bytes(2, "big")


def decode_peer(data: bytes) -> Address:
    """6 bytes (IPv4) or 18 bytes (IPv6) -> ``(host, port)``."""
    ip = ipaddress.IPv4Address(data[:4]) if len(data) == 6 else ipaddress.IPv6Address(data[:16])
    return str(ip), int.from_bytes(data[-2:], "big")


def encode_nodes(nodes: list[tuple[bytes, Address]], family: int = 4) -> bytes:
    """Compact node info for ``nodes`` (``family`` 4) or ``nodes6`` (6): 26 or 38 bytes
    per ``(node_id, address)``; nodes of the other family are left out."""
    return b"".join(node_id + encode_peer(address) for node_id, address in nodes
                    if family_of(address) == family)


def decode_nodes(data: object, family: int = 4) -> list[tuple[bytes, Address]]:
    """Compact ``nodes`` (``family`` 4) or ``nodes6`` (6) -> ``[(node_id, (host, port))]``;
    port-0 entries are skipped.

    :raises KRPCError: when ``data`` is not a string of whole 26-byte (38-byte) entries,
        or holds over :data:`MAX_NODES` of them.
    """
    size = 20 + PEER_SIZE[family]
    key = NODES_KEY[family].decode()
    if not isinstance(data, bytes) or len(data) % size:
        raise KRPCError(f"{key!r} must be a string of {size}-byte entries")
    if len(data) > MAX_NODES * size:
        raise KRPCError(f"{key!r} holds {len(data) // size} entries, more than {MAX_NODES}")
    nodes: list[tuple[bytes, Address]] = []
    for at in range(0, len(data), size):
        host, port = decode_peer(data[at + 20 : at + size])
        if port:
            nodes.append((data[at : at + 20], (host, port)))
    return nodes


def decode_values(data: object) -> list[Address]:
    """A ``values`` list of compact peers (6 bytes IPv4, 18 bytes IPv6) -> ``[(host, port)]``;
    port-0 entries are skipped.

    :raises KRPCError: when ``data`` is not a list of strings of 6 or 18 bytes, or has over
        :data:`MAX_VALUES` entries.
    """
    if not isinstance(data, list) or len(data) > MAX_VALUES or not all(isinstance(v, bytes) for v in data):
        raise KRPCError(f"'values' must be a list of at most {MAX_VALUES} strings")
    if any(len(v) not in (6, 18) for v in data):
        raise KRPCError("'values' entries must be 6-byte (IPv4) or 18-byte (IPv6) compact peers")
    return [decode_peer(v) for v in data if v[-2:] != b"\0\0"]
