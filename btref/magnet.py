"""Magnet links: a swarm named by its info hash alone (BEP 9 "magnet URI format"; BEP 52; BEP 53).

A magnet link is a URI whose query says which swarm to join; the metadata itself is
fetched later from peers (BEP 9, ``ut_metadata``)::

    magnet:?xt=urn:btih:<v1 info hash>&xt=urn:btmh:1220<v2 info hash>&dn=<name>
           &tr=<tracker>&x.pe=<host:port>&ws=<web seed>&so=0,2,4-6

Parameters understood (BEP 9 unless noted; others are ignored, as BEP 9 allows):

* ``xt`` (exact topic, the only mandatory one): ``urn:btih:`` + the v1 SHA-1 info hash,
  40 hex digits or 32 base32 characters; ``urn:btmh:`` + a hex *multihash* of the v2
  SHA-256 info hash (BEP 52), which must be ``1220`` (code 0x12 sha2-256, length 0x20)
  then 64 hex digits. A hybrid torrent's magnet carries both.
* ``dn`` display name; ``tr`` tracker URL (repeatable; ``tr.1``, ``tr.2``... too);
  ``x.pe`` a peer as ``host:port``, ``ipv4:port`` or ``[ipv6]:port`` (repeatable);
  ``ws`` a web seed URL (BEP 19, repeatable; a libtorrent extension to BEP 9): an
  ``http`` or ``https`` URL with a host, at most :data:`MAX_WEB_SEEDS` of them. A web seed
  serves pieces, not the info dictionary, so the metadata still comes from peers; once it
  is in, the download fetches from the web seeds too (:mod:`btref.net.magnet_fetch` puts
  them in the torrent's ``url-list``).
* ``so`` (BEP 53, "select only"): file indices to download, as comma-separated indices
  and inclusive ranges (``0,2,4-6``).

Invariants: every value is percent-decoded exactly once and must be valid UTF-8; a URI
longer than :data:`MAX_URI_LENGTH`, with more than :data:`MAX_PARAMS` parameters or
selecting more than :data:`MAX_SELECTED` files is refused before any work is done on it;
naming more than :data:`MAX_WEB_SEEDS` web seeds (each one is an HTTP server the download
would keep a connection to) is refused too; every refusal is a
:class:`~btref.errors.MagnetError` naming the parameter at fault; and
``parse_magnet(m.to_uri()) == m`` for every :class:`Magnet` ``m``.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes, urlsplit

import attrs

from btref.errors import MagnetError

if TYPE_CHECKING:
    from btref.metainfo import Torrent

__all__ = ["Magnet", "parse_magnet", "MAX_URI_LENGTH", "MAX_PARAMS", "MAX_SELECTED", "MAX_WEB_SEEDS"]

#: Longest magnet URI accepted (a few hundred trackers fit; a pasted novel does not).
MAX_URI_LENGTH = 64 * 1024
#: Most ``key=value`` parameters accepted in one URI.
MAX_PARAMS = 1024
#: Most file indices a BEP 53 ``so`` parameter may select (ranges are expanded).
MAX_SELECTED = 65536
#: Most ``ws`` web seeds one link may name.
MAX_WEB_SEEDS = 32

_V2_PREFIX = "1220"  # multihash: 0x12 = sha2-256, 0x20 = 32 bytes of digest (BEP 52)
_HEX = re.compile(r"[0-9a-fA-F]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits only: str.isdigit() also takes "１"
_SO_ITEM = re.compile(r"([0-9]{1,10})(?:-([0-9]{1,10}))?")


def _optional_hash(size: int) -> Callable[[object, attrs.Attribute[bytes | None], bytes | None], None]:
    def check(instance: object, attribute: attrs.Attribute[bytes | None], value: bytes | None) -> None:
        if value is not None and (not isinstance(value, bytes) or len(value) != size):
            raise MagnetError(f"{attribute.name} must be {size} bytes, not {value!r}")

    return check


def _name(value: str | None) -> str | None:
    return value or None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """Drop empty strings and repeats, keep the order: what a magnet can carry."""
    return tuple(dict.fromkeys(v for v in values if v))


def _peers(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(_peer(v) for v in _unique(values))


def _web_seeds(values: Iterable[str]) -> tuple[str, ...]:
    seeds = tuple(_web_seed(v) for v in _unique(values))
    if len(seeds) > MAX_WEB_SEEDS:
        raise MagnetError(f"ws: {len(seeds)} web seeds, more than the limit of {MAX_WEB_SEEDS}")
    return seeds


def _selection(values: Iterable[int] | None) -> tuple[int, ...] | None:
    if values is None:
        return None
    selected = tuple(sorted(set(values)))
    if not selected:
        raise MagnetError("select_only must select at least one file (None selects every file)")
    if selected[0] < 0:
        raise MagnetError(f"select_only: file index {selected[0]} is negative")
    return selected


@attrs.frozen
class Magnet:
    """What a magnet link says: the swarm's identity plus hints where to find it.

    Built by :func:`parse_magnet` or :meth:`from_torrent`; the constructor normalizes
    like the parser does (lists become tuples without repeats or empty items, an empty
    name becomes ``None``), so that ``parse_magnet(m.to_uri()) == m`` always holds.
    """

    #: SHA-1 info hash (20 bytes) of a v1 or hybrid torrent.
    info_hash_v1: bytes | None = attrs.field(default=None, validator=_optional_hash(20))
    #: SHA-256 info hash (32 bytes) of a v2 or hybrid torrent (BEP 52).
    info_hash_v2: bytes | None = attrs.field(default=None, validator=_optional_hash(32))
    #: ``dn``: a name to show until the metadata arrives (``None`` when absent or empty).
    name: str | None = attrs.field(default=None, converter=_name)
    #: ``tr``: tracker URLs in the order given.
    trackers: tuple[str, ...] = attrs.field(default=(), converter=_unique)
    #: ``x.pe``: peers to contact directly, as ``"host:port"`` (IPv6 as ``"[addr]:port"``).
    peers: tuple[str, ...] = attrs.field(default=(), converter=_peers)
    #: ``ws``: web seed URLs (BEP 19).
    web_seeds: tuple[str, ...] = attrs.field(default=(), converter=_web_seeds)
    #: ``so`` (BEP 53): the file indices to download, sorted; ``None`` means every file.
    select_only: tuple[int, ...] | None = attrs.field(default=None, converter=_selection)

    def __attrs_post_init__(self) -> None:
        if self.info_hash_v1 is None and self.info_hash_v2 is None:
            raise MagnetError("a magnet link needs an info hash (xt=urn:btih: or xt=urn:btmh:)")

    @property
    def info_hash(self) -> bytes:
        """The 20-byte id used on the wire and at trackers: the v1 hash, else the v2 hash
        truncated to 20 bytes (BEP 52, like :attr:`btref.metainfo.Torrent.info_hash`)."""
        if self.info_hash_v1 is not None:
            return self.info_hash_v1
        assert self.info_hash_v2 is not None
        return self.info_hash_v2[:20]

    @classmethod
    def from_torrent(cls, torrent: Torrent) -> Magnet:
        """The magnet link of a parsed torrent: its hashes, name, trackers (tiers
        flattened, duplicates dropped) and the first :data:`MAX_WEB_SEEDS` of its web seeds
        that a ``ws`` can name (a ``url-list`` may hold ``ftp://`` URLs, or hundreds)."""
        seeds = []
        for url in _unique(torrent.web_seeds):
            with contextlib.suppress(MagnetError):
                seeds.append(_web_seed(url))
        return cls(
            info_hash_v1=torrent.info_hash_v1,
            info_hash_v2=torrent.info_hash_v2,
            name=torrent.name,
            trackers=[url for tier in torrent.trackers for url in tier],
            web_seeds=seeds[:MAX_WEB_SEEDS],
        )

    def to_uri(self) -> str:
        """This magnet as a URI (hashes in lowercase hex, values percent-encoded).

        >>> Magnet(info_hash_v1=bytes(range(20)), name="a b", select_only=(0, 2, 3, 4)).to_uri()
        'magnet:?xt=urn:btih:000102030405060708090a0b0c0d0e0f10111213&dn=a%20b&so=0,2-4'
        """
        params = []
        if self.info_hash_v1 is not None:
            params.append(f"xt=urn:btih:{self.info_hash_v1.hex()}")
        if self.info_hash_v2 is not None:
            params.append(f"xt=urn:btmh:{_V2_PREFIX}{self.info_hash_v2.hex()}")
        if self.name:
            params.append(f"dn={_quote(self.name)}")
        params += [f"tr={_quote(url)}" for url in self.trackers]
        params += [f"ws={_quote(url)}" for url in self.web_seeds]
        # Peers keep ':' and '[]' literal: libtorrent reads x.pe without percent-decoding it.
        params += [f"x.pe={quote(peer, safe=':[]')}" for peer in self.peers]
        if self.select_only is not None:
            params.append(f"so={_format_ranges(self.select_only)}")
        return "magnet:?" + "&".join(params)


def parse_magnet(uri: str) -> Magnet:
    """Parse a magnet URI (BEP 9; BEP 52 ``btmh``; BEP 53 ``so``).

    :raises MagnetError: saying which parameter is wrong and why.

    >>> m = parse_magnet("magnet:?xt=urn:btih:YD62D3NP3PN3SZCDIJHAWOEZV5YVTUIO&dn=temp")
    >>> m.info_hash.hex(), m.name
    ('c0fda1edafdbdbb96443424e0b3899af7159d10e', 'temp')
    """
    if len(uri) > MAX_URI_LENGTH:
        raise MagnetError(f"magnet URI of {len(uri)} characters exceeds the limit of {MAX_URI_LENGTH}")
    if uri[:8].lower() != "magnet:?":
        raise MagnetError(f"not a magnet URI (must start with 'magnet:?'): {uri[:40]!r}")
    query = uri[8:]
    if query.count("&") >= MAX_PARAMS:
        raise MagnetError(f"magnet URI has more than {MAX_PARAMS} parameters")
    v1: bytes | None = None
    v2: bytes | None = None
    name: str | None = None
    lists: dict[str, list[str]] = {"tr": [], "ws": [], "x.pe": []}  # repeatable ones
    select: tuple[int, ...] | None = None
    for param in query.split("&"):
        if not param:
            continue  # "a=1&&b=2" and a trailing "&" are harmless
        key, sep, raw = param.partition("=")
        key = key.lower()
        if not sep:
            raise MagnetError(f"magnet parameter {param[:40]!r} has no '='")
        value = _unquote(raw, key, plus_is_space=key == "dn")
        if key == "xt":
            v1, v2 = _exact_topic(value, v1, v2)
        elif key == "dn":
            name = name or value or None  # the first non-empty dn counts
        elif key == "tr" or re.fullmatch(r"tr\.[0-9]+", key):
            lists["tr"].append(value)
        elif key in lists:
            lists[key].append(value)
        elif key == "so":
            select = _parse_ranges(value)
    if v1 is None and v2 is None:
        raise MagnetError("magnet URI has no xt=urn:btih: or xt=urn:btmh: parameter (xt is mandatory)")
    return Magnet(v1, v2, name, lists["tr"], lists["x.pe"], lists["ws"], select)


# -- helpers ----------------------------------------------------------------------------


def _quote(text: str) -> str:
    return quote(text, safe="")


def _unquote(raw: str, key: str, *, plus_is_space: bool) -> str:
    """Percent-decode one value; a stray ``%`` or bytes that are not UTF-8 are errors."""
    bad = _BAD_ESCAPE.search(raw)
    if bad:
        raise MagnetError(f"magnet parameter {key!r}: bad percent-escape {raw[bad.start():bad.start() + 3]!r}")
    if plus_is_space:  # names are often form-encoded ("dn=my+file"); a real '+' is %2B
        raw = raw.replace("+", " ")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError as exc:  # undecodable escapes, or a lone surrogate in the text itself
        raise MagnetError(f"magnet parameter {key!r} is not UTF-8 after percent-decoding") from exc


def _exact_topic(value: str, v1: bytes | None, v2: bytes | None) -> tuple[bytes | None, bytes | None]:
    """Fold one ``xt`` into the hashes seen so far; a second, different one is an error."""
    urn, digest = value[:9].lower(), value[9:]
    if urn == "urn:btih:":
        v1 = _same(v1, _btih(digest), urn)
    elif urn == "urn:btmh:":
        v2 = _same(v2, _btmh(digest), urn)
    # Any other topic (urn:sha1:, urn:ed2k: ...) names another network's copy: not ours.
    return v1, v2


def _same(old: bytes | None, new: bytes, urn: str) -> bytes:
    if old is not None and old != new:
        raise MagnetError(f"magnet URI has two different {urn[:-1]} exact topics")
    return new


def _btih(digest: str) -> bytes:
    if len(digest) == 40:
        if not _HEX.fullmatch(digest):
            raise MagnetError(f"urn:btih info hash {digest!r} is not hexadecimal")
        return bytes.fromhex(digest)
    if len(digest) == 32:
        try:
            return base64.b32decode(digest.upper())
        except ValueError as exc:  # binascii.Error, or a plain ValueError for non-ASCII text
            raise MagnetError(f"urn:btih info hash {digest!r} is not base32") from exc
    raise MagnetError(f"urn:btih info hash must be 40 hex or 32 base32 characters, not {len(digest)}")


# [docs: btmh]
def _btmh(digest: str) -> bytes:
    if len(digest) % 2 or len(digest) < 4 or not _HEX.fullmatch(digest):
        raise MagnetError(f"urn:btmh multihash {digest[:80]!r} is not 2 or more hex-encoded bytes")
    if digest[:2] != "12":
        raise MagnetError(f"urn:btmh multihash code 0x{digest[:2]} is not sha2-256 (0x12), as BEP 52 requires")
    if digest[2:4] != "20" or len(digest) != 68:
        raise MagnetError(
            f"urn:btmh multihash says a {int(digest[2:4], 16)}-byte digest and carries"
            f" {len(digest) // 2 - 2}; sha2-256 needs 32"
        )
    return bytes.fromhex(digest[4:])
# [/docs: btmh]


def _peer(value: str) -> str:
    """Check a BEP 9 ``x.pe`` peer address; return it unchanged."""
    host, sep, port = value.rpartition(":")
    if not sep or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        raise MagnetError(f"x.pe peer {value!r} is not host:port with a port in 1..65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise MagnetError(f"x.pe peer {value!r}: {host} is not an IPv6 address") from exc
    elif not _HOSTNAME.fullmatch(host):
        raise MagnetError(f"x.pe peer {value!r}: host must be a name, an IPv4 address or [IPv6]")
    return value


def _web_seed(value: str) -> str:
    """Check a BEP 19 ``ws`` URL: ``http`` or ``https`` with a host; return it unchanged."""
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        raise MagnetError(f"ws web seed {value[:80]!r} is not a URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise MagnetError(f"ws web seed {value[:80]!r} is not an http:// or https:// URL with a host")
    return value


# [docs: so]
def _parse_ranges(value: str) -> tuple[int, ...]:
    """BEP 53 ``so``: comma-separated indices and inclusive ranges, e.g. ``0,2,4-6``."""
    selected: set[int] = set()
    for item in value.split(","):
        match = _SO_ITEM.fullmatch(item)
        if not match:
            raise MagnetError(f"so: {item!r} is not a file index or a range like 4-6")
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first:
            raise MagnetError(f"so: range {item!r} ends before it starts")
        if len(selected) + (last - first + 1) > MAX_SELECTED:
            raise MagnetError(f"so: selects more than {MAX_SELECTED} files")
        selected.update(range(first, last + 1))
    return tuple(sorted(selected))
# [/docs: so]


def _format_ranges(indices: tuple[int, ...]) -> str:
    """The shortest BEP 53 form of ``indices``: runs of three or more become ``a-b``."""
    parts: list[str] = []
    ordered = sorted(set(indices))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{ordered[i]}-{ordered[j]}")
        else:
            parts.extend(str(n) for n in ordered[i : j + 1])
        i = j + 1
    return ",".join(parts)
