"""Node ids tied to IP addresses (BEP 42, "DHT Security extension", "Node ID restriction").

BEP 5 lets a node pick any id, so an attacker can place nodes right next to an info hash
and answer every lookup for it (a Sybil attack). BEP 42 ties the top 21 bits of an id to
the node's IP address: ``crc32c((ip & 0x030f3fff) | (r << 29))`` over the four masked
address bytes, where ``r`` is a random number 0..7 stored in the id's last byte. An
attacker then needs many addresses, not just many ids, to surround a target.

For IPv6 (the DHT of BEP 32) the same rule reads the first 8 bytes of the address (the
/64 network a site is usually given, so one site cannot pick ids from its 2**64 hosts):
``crc32c((ip_high64 & 0x0103070f1f3f7fff) | (r << 61))``.

Addresses in private and loopback ranges are exempt (a node cannot know its public
address there, and a LAN is not the attacker's playground): for IPv6, loopback ``::1``,
link-local ``fe80::/10``, the deprecated site-local ``fec0::/10`` and unique-local
``fc00::/7``.

Invariants: :func:`node_id_for` always returns an id that :func:`id_matches_ip` accepts
for the same address; CRC32C is the Castagnoli polynomial (reflected ``0x82F63B78``),
``crc32c(b"123456789") == 0xE3069283``.
"""

from __future__ import annotations

import ipaddress
import random

__all__ = ["crc32c", "node_id_for", "id_matches_ip", "is_exempt"]

_POLY = 0x82F63B78


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()
_EXEMPT = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                             "169.254.0.0/16", "127.0.0.0/8",
                                             "::1/128", "fe80::/10", "fec0::/10", "fc00::/7")]


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as used by BEP 42."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


def is_exempt(ip: str) -> bool:
    """True for addresses BEP 42 does not restrict (private, link-local and loopback ranges)."""
    address = ipaddress.ip_address(ip)
    return any(address in net for net in _EXEMPT if net.version == address.version)


def _prefix(ip: str, r: int) -> int:
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        masked = (int(address) & 0x030F3FFF) | ((r & 7) << 29)
        return crc32c(masked.to_bytes(4, "big"))
    masked = (int(address) >> 64 & 0x0103070F1F3F7FFF) | ((r & 7) << 61)
    return crc32c(masked.to_bytes(8, "big"))


def node_id_for(ip: str, rng: random.Random | None = None, rand: int | None = None) -> bytes:
    """A BEP 42 id for an IPv4 or IPv6 address: crc prefix, random middle, ``rand`` as the last byte."""
    rng = rng or random.Random()
    rand = rng.randrange(256) if rand is None else rand
    crc = _prefix(ip, rand)
    head = bytes([crc >> 24 & 0xFF, crc >> 16 & 0xFF, (crc >> 8 & 0xF8) | rng.randrange(8)])
    return head + rng.randbytes(16) + bytes([rand])


def id_matches_ip(node_id: bytes, ip: str) -> bool:
    """True if ``node_id`` is valid for ``ip`` under BEP 42 (exempt addresses always are)."""
    if is_exempt(ip):
        return True
    crc = _prefix(ip, node_id[19])
    return int.from_bytes(node_id[:3], "big") >> 3 == crc >> 11
