"""The asyncio driver's BEP 10 extensions: ``ut_metadata`` serving (BEP 9) and ``ut_pex`` (BEP 11).

The engine (:mod:`btref.session`) reads only the ``reqq`` of a peer's extension handshake
and leaves every other ``extended`` message to the driver. :class:`Extensions` is that
driver part, one per :class:`~btref.net.driver.Client`:

* our BEP 10 handshake (:meth:`Extensions.handshake`) names the extensions *we* want to
  receive and under which id (``m``), and carries ``metadata_size`` (BEP 9) so that a peer
  that came from a magnet link can ask us for the info dictionary;
* an incoming ``extended`` message is routed by the id *we* chose (:data:`UT_METADATA`,
  :data:`UT_PEX`); our answers use the id the *peer* chose in its handshake (BEP 10: each
  side picks the ids it receives under);
* ``ut_metadata`` requests are answered from :attr:`Torrent.info_bytes
  <btref.metainfo.Torrent.info_bytes>` (:func:`btref.metadata.answer_request`);
* ``ut_pex`` is the business of the discovery plugin named ``pex`` when the session has one
  (and never for a private torrent, BEP 27): it hears who connects and leaves, turns received
  messages into peers to dial, and says what to send every tick.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from btref import __version__, wire
from btref.discovery import PeerAddress
from btref.extension import ExtensionHandshake, decode_handshake
from btref.metadata import answer_request

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    import pluggy
    from btref_discovery.pex import PEX

    from btref.metainfo import Torrent

__all__ = ["UT_METADATA", "UT_PEX", "Extensions"]

#: The ids we receive these extensions under (our choice, announced in ``m``).
UT_PEX, UT_METADATA = 1, 2


class Extensions:
    """Routing of ``extended`` messages for one torrent session."""

    def __init__(self, torrent: Torrent, plugins: pluggy.PluginManager) -> None:
        self.torrent = torrent
        found: list[PEX] = [p for p in plugins.get_plugins() if getattr(p, "name", None) == "pex"]
        self.pex = found[0] if found and not torrent.private else None
        self.peer_m: dict[Hashable, dict[str, int]] = {}  # the ids each peer receives under

    def handshake(self, port: int | None, reqq: int, upload_only: bool = False) -> ExtensionHandshake:
        """Our BEP 10 handshake: the extensions we take, our listen port, queue and metadata
        size, and (BEP 21) whether we only upload."""
        m = {"ut_metadata": UT_METADATA}
        if self.pex is not None:
            m["ut_pex"] = UT_PEX
        return ExtensionHandshake(m=m, v=f"btref {__version__}", p=port, reqq=reqq,
                                  metadata_size=len(self.torrent.info_bytes), upload_only=1 if upload_only else None)

    # [docs: route]
    def received(self, key: tuple[str, int], initiator: bool, msg: wire.Extended) -> tuple[list[wire.Extended], list[PeerAddress]]:
        """An ``extended`` message from ``key``: ``(replies to send it, peers learnt)``.

        :raises ProtocolError: the message is malformed (the driver closes the link).
        """
        if msg.ext_id == 0:
            hs = decode_handshake(msg.payload)
            self.peer_m[key] = dict(hs.m)
            if self.pex is not None:
                listen = (PeerAddress(key[0], key[1]) if initiator
                          else PeerAddress(key[0], hs.p) if hs.p else None)
                self.pex.peer_connected(key, listen, hs.m.get("ut_pex", 0), 0x10 if initiator else 0)
            return [], []
        if msg.ext_id == UT_METADATA:
            reply = answer_request(self.torrent.info_bytes, msg.payload)
            their_id = self.peer_m.get(key, {}).get("ut_metadata", 0)
            return ([wire.Extended(their_id, reply)] if reply is not None and their_id else []), []
        if msg.ext_id == UT_PEX and self.pex is not None:
            return [], self.pex.message_received(key, msg.payload)
        return [], []  # an extension we did not offer: ignored, as BEP 10 allows
    # [/docs: route]

    def messages(self, now: float) -> list[tuple[Hashable, wire.Extended]]:
        """What the PEX plugin wants sent now (at most one message per peer per minute)."""
        if self.pex is None:
            return []
        return [(key, wire.Extended(ext_id, payload)) for key, ext_id, payload in self.pex.messages(now)]

    def forget(self, key: Hashable) -> None:
        self.peer_m.pop(key, None)
        if self.pex is not None:
            self.pex.peer_disconnected(key)
