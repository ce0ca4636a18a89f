"""One error hierarchy for everything btref rejects.

Peers are untrusted (DEVELOPERS.md, principle 4): every parser raises a subclass of
:class:`BtrefError` on bad input, and its message says *what* was wrong and *where*
(a byte offset, a field name, a peer). Nothing else escapes a parser, so a driver can
catch ``BtrefError`` at one place, drop the connection or packet, and go on.
"""

from __future__ import annotations


class BtrefError(Exception):
    """Base class of every error btref raises on purpose."""


class BencodeError(BtrefError, ValueError):
    """Bytes that are not valid bencoding (BEP 3), or exceed a hard limit.

    ``offset`` is the byte position where decoding failed (``None`` when encoding).
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        if offset is not None:
            message = f"{message} (at byte {offset})"
        super().__init__(message)


class MetainfoError(BtrefError, ValueError):
    """A .torrent file (or info dict) that is malformed or unsafe (BEP 3, 12, 19, 27, 47, 52)."""


class CreateError(BtrefError, ValueError):
    """A torrent cannot be made from the given path or options (unreadable, empty, a symlink
    leading out of the tree, a bad piece length)."""


class MagnetError(BtrefError, ValueError):
    """A magnet URI that cannot be parsed (BEP 9, BEP 52)."""


class StorageError(BtrefError):
    """Data that cannot be mapped, read or written inside the download folder."""


class SelectionError(BtrefError, ValueError):
    """A file selection that chooses nothing: a ``--only``/``--skip`` pattern that matches
    no file, or a BEP 53 ``so=`` index past the torrent's last file."""


class MetadataError(BtrefError):
    """The info dictionary of a magnet link could not be fetched and verified (BEP 9)."""


class ProtocolError(BtrefError):
    """A peer broke the peer wire protocol (BEP 3, 6, 10, 52); the connection should close."""


class TrackerError(BtrefError):
    """A tracker answered with a failure, or with a response we cannot parse (BEP 3, 15, 23, 48)."""


class KRPCError(BtrefError):
    """A DHT message that is malformed or unexpected (BEP 5).

    ``code`` is the KRPC error code a reply should carry (203 "Protocol Error" unless said
    otherwise); ``tid`` the transaction id of the bad message when it could be read (else
    ``None``: such a packet is dropped, since an error reply needs a transaction id).
    """

    def __init__(self, message: str, code: int = 203, tid: bytes | None = None) -> None:
        self.code = code
        self.tid = tid
        super().__init__(message)


class PluginError(BtrefError, LookupError):
    """A plugin that is unknown, broken, or of the wrong family."""


class WebSeedError(BtrefError):
    """A web seed's HTTP server answered with an error, broke HTTP/1.1, or went over a hard
    limit (headers, body, redirects), or its URL is unusable (BEP 19)."""


class EncryptionError(ProtocolError):
    """A message stream encryption (MSE/PE) handshake that failed: a peer that broke it, went
    over a hard limit (padding, initial payload, the sync windows), asked for a torrent we do
    not serve, or wants a method our ``--encryption`` policy refuses."""


class UtpError(BtrefError):
    """A datagram that is not a valid uTP packet, or a uTP connection used after its end (BEP 29)."""


class LSDError(BtrefError, ValueError):
    """A local service discovery datagram (BEP 14 ``BT-SEARCH``) that is malformed or over a
    hard limit (size, header lines, info hashes); it is dropped."""
