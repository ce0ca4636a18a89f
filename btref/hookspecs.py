"""The hook points: every place a strategy plugs into btref (pluggy hook specifications).

Read this file like pytest's ``hookspec.py``: each hook says *when* it is called, *with
what*, *what it must return* and *how the results of several plugins combine*.

How a plugin enters
-------------------
A plugin is a class published under the entry-point group ``btref``; the entry-point name
is the plugin's name (``rarest-first``), and the class says its family in a ``family``
class attribute: ``"hashes"``, ``"pickers"``, ``"chokers"``, ``"discovery"`` or
``"observers"``. btref's own plugins are registered in ``pyproject.toml`` exactly like a
third-party package's (see :mod:`btref.plugins`).

A picker or a choker may also say which policies it keeps, beyond the contracts below, in
a ``claims`` attribute: a tuple of names such as ``("rarest-first", "strict-priority")``
or ``("tit-for-tat", "optimistic-unchoke")``, each defined by a check in
:mod:`btref.claims`. ``btref conformance pickers|chokers NAME`` then checks every claim
the plugin makes, and only those.

A session builds *its own* :class:`pluggy.PluginManager`, instantiates the plugins chosen
by name (with their parameters as keyword arguments) and registers the instances. So
every session, and every simulated peer, has its own picker and choker state, and a
hook call only reaches the plugins that session chose.

A plugin's parameters are its constructor's keyword arguments, each with a default, and
are declared there once: the type annotation, and beside it a
:class:`btref.plugins.Param` for the meaning and the range, as in
``random_first: Annotated[int, Param("...", ge=0)] = 4``. btref checks every value
against the declaration before the constructor runs (:func:`btref.plugins.parse` for the
command line's ``rarest-first:random_first=0``, :func:`btref.plugins.create` from Python),
and ``btref plugins --verbose`` lists them.

Hooks run inside the sans-I/O core: they must not block, sleep, read a clock or touch the
network. Time arrives as an argument (``now``, seconds, from the driver); randomness comes
from the ``rng`` the session passes in, so a simulation with a fixed seed is repeatable.
The discovery hooks are the one exception, and say so.

Names of the view types (``SwarmView``, ``PeerView``) refer to :mod:`btref.views`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from collections.abc import Awaitable, Mapping, Sequence

    from btref.discovery import AnnounceRequest, AnnounceResult
    from btref.hashing import PieceHasher
    from btref.metainfo import Torrent
    from btref.views import PeerView, SwarmView

#: The project name pluggy uses for markers: ``@hookimpl`` marks an implementation.
PROJECT = "btref"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The families a plugin can belong to, with the hooks each family implements.
FAMILIES: dict[str, tuple[str, ...]] = {
    "hashes": ("btref_verify_piece", "btref_piece_hasher"),
    "pickers": ("btref_pick_pieces",),
    "chokers": ("btref_rechoke",),
    "discovery": ("btref_announce",),
    "observers": (
        "btref_peer_connected",
        "btref_peer_disconnected",
        "btref_piece_verified",
        "btref_piece_failed",
        "btref_peer_banned",
        "btref_torrent_complete",
    ),
}


# --------------------------------------------------------------------------------------
# Hash schemes
# --------------------------------------------------------------------------------------


@hookspec
def btref_verify_piece(torrent: Torrent, index: int, data: memoryview) -> bool | None:
    """Check one complete piece against the torrent's hashes.

    **When:** the engine has every block of piece ``index`` (and whenever storage
    rechecks data found on disk, e.g. ``btref verify`` and resume after a restart).

    **With:** the parsed ``torrent``; the piece ``index``; ``data``, exactly
    :meth:`~btref.metainfo.Torrent.piece_size` bytes (pad-file bytes included, as zeros).

    **Returns:** ``True`` if the data matches, ``False`` if it does not, ``None`` if this
    scheme has no hashes for this torrent (e.g. ``sha1`` for a v2-only torrent).

    **Combining:** every registered scheme is asked. The piece is good only when at least
    one scheme answered and none answered ``False``: a hybrid torrent must satisfy both
    its SHA-1 piece hashes and its SHA-256 merkle layer (BEP 52, "hybrid torrents").

    **Must not:** change ``data`` or keep it after returning (it is the session's piece
    buffer, handed to the disk next); raise for data that merely does not match.
    """


@hookspec
def btref_piece_hasher(version: str, piece_length: int) -> PieceHasher | None:
    """Offer an incremental hasher for creating a torrent.

    **When:** once when ``btref create`` (:mod:`btref.io.create`) starts building a torrent.

    **With:** ``version``, one of ``"v1"``, ``"v2"`` or ``"hybrid"``; the ``piece_length``.

    **Returns:** ``None`` if the scheme has nothing to add to a torrent of that version, or
    a :class:`~btref.hashing.PieceHasher`, an object with these methods, which the creator calls while it reads each file *once*
    (so hybrid creation reads the data once, for both schemes):

    * ``start_file(entry)``: a new :class:`~btref.metainfo.FileEntry` begins (pad files too,
      with ``entry.pad`` set);
    * ``update(chunk: memoryview)``: the next bytes of that file, in order (zeros for a pad
      file); chunks have any size, and the view is only valid during the call;
    * ``end_file() -> dict``: fields for that file's entry (``{"pieces root": ...}`` for v2);
    * ``finish() -> tuple[dict, dict]``: ``(info_fields, outer_fields)``: keys to add to the
      info dict (``pieces``) and to the top-level dict (``piece layers``).

    Field names may be ``str`` or ``bytes``.

    **Combining:** every non-``None`` hasher gets the same bytes; their fields are merged
    (when two schemes set the same field, the one registered later wins).

    **Must not:** read the files itself (the creator reads each byte once and hands it
    over), or keep a chunk's view after ``update`` returns.
    """


# --------------------------------------------------------------------------------------
# Piece pickers
# --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def btref_pick_pieces(swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int] | None:
    """Choose which pieces to download next from one peer.

    **When:** the engine can send more requests to ``peer`` (it has unchoked us, we are
    interested, and its request queue has room) and needs pieces to take blocks from.

    **With:** ``swarm``, a read-only view of our side (pieces we have, pieces in progress,
    how many connected peers have each piece, the session's ``rng``, ``now``); ``peer``, a
    read-only view of the peer (its bitfield, rates, state); ``count``, how many candidate
    pieces the engine would like at most.

    **Returns:** up to ``count`` piece indices, best first. Each must be a piece the peer
    has and we have not verified. Pieces already in progress may be returned (the engine
    spreads their missing blocks over peers); an empty sequence means "nothing from this
    peer". End game (requesting the last blocks from several peers) is the engine's job.

    **Combining:** ``firstresult``: a session registers one picker.

    **Must not:** change ``swarm`` or ``peer`` or anything inside them (``peer.has``,
    ``swarm.have`` and ``swarm.availability`` are the session's own objects, shared to
    save a copy per call); draw randomness from anything but ``swarm.rng``; read a clock
    (use ``swarm.now``); block. It is called for every few blocks on a fast link.
    """


# --------------------------------------------------------------------------------------
# Chokers
# --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def btref_rechoke(
    swarm: SwarmView, peers: Sequence[PeerView], now: float
) -> Sequence[Hashable] | Mapping[Hashable, float] | None:
    """Decide which peers we upload to, and optionally how our upload is split among them.

    **When:** for a *round*, every 10 seconds of driver time on a fixed clock
    (``Config.rechoke_interval``, as mainline), and at once when an unchoked peer
    disconnects or loses interest (its slot is free): the answer is carried out in full.
    And for a *fill*, when a choked peer becomes interested (libtorrent's "unchoke at once
    if a slot is free"): then the answer may only add unchokes, up to the number of peers
    it lists, and chokes wait for the next round (:mod:`btref.choking`). Neither moves the
    round clock. So calls come at irregular
    times between the rounds: a choker with rounds of its own (PropShare, BitTyrant)
    counts them by ``now``, not by calls.

    **With:** ``swarm`` (``swarm.seeding`` tells seed mode from leech mode); ``peers``, a
    view of every connected peer; ``now``, the driver's time in seconds. Optimistic
    unchoking is the choker's own business: it sees ``now`` and keeps its own rotation
    (conventionally a new optimistic peer every 30 s).

    **Returns:** the ``key`` of each peer to unchoke; every other peer is choked. Only
    interested peers should be listed (the engine ignores the rest). A plain sequence
    means the unchoked peers share our upload *equally* (as BEP 3 clients do). A choker
    that allocates bandwidth (PropShare, BitTyrant) returns a mapping ``{key: share}``
    instead: each share a finite number above 0, the peer's part of our upload relative
    to the others' (``{a: 2, b: 1}``: ``a`` gets two thirds while both are busy). Keys
    with a share that is not a finite number above 0 are left choked. The engine tells
    the driver with an :class:`~btref.actions.UploadShares` action; the simulator's
    uplink honours it, and so does the asyncio driver's under an upload limit
    (``--upload-limit``, :mod:`btref.net.throttle`).

    **Combining:** ``firstresult``: a session registers one choker.

    **Must not:** change the views (``peer.has`` is the session's own piece set); send
    anything or choke anyone itself (the session does, from the answer); use randomness
    other than ``swarm.rng`` or a clock other than ``now``.
    """


# --------------------------------------------------------------------------------------
# Peer discovery (driver side: the only hooks that may do I/O)
# --------------------------------------------------------------------------------------


@hookspec
def btref_announce(request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
    """Tell the world we are in a swarm, and learn about other peers.

    **When:** by a *driver* (never by the sans-I/O engine): when a torrent starts
    (``request.event == "started"``), again after the interval the previous answer asked
    for, when the download completes (``"completed"``) and when the session stops
    (``"stopped"``).

    **With:** an :class:`~btref.discovery.AnnounceRequest` (torrent, info hash, our peer
    id and port, bytes up/down/left, event).

    **Returns:** ``None`` if the plugin has nothing to do for this torrent (no tracker URL
    of its kind, a private torrent for DHT or PEX), else an awaitable giving an
    :class:`~btref.discovery.AnnounceResult` (peers, next interval).

    **Combining:** all plugins are asked; the driver awaits every awaitable and connects
    to the union of the peers found. A plugin that fails raises
    :class:`~btref.errors.TrackerError`; the others still count. A source that keeps
    hearing of peers after its awaitable is done (local service discovery, BEP 14) hands
    each one to ``request.found`` when the driver gave that callback.

    **Must not:** do I/O before the awaitable is awaited (the call itself returns at
    once); block the event loop; connect to the peers itself (the driver dials them).
    """


# --------------------------------------------------------------------------------------
# Observers: hear what happens, change nothing
# --------------------------------------------------------------------------------------


@hookspec
def btref_peer_connected(peer: PeerView) -> None:
    """A peer finished the handshake. **Returns:** nothing; all observers are called.

    Observers (this hook and the five below) **must not** change the session or the
    views they are given, block, or do I/O of their own in the simulator; they watch.
    """


@hookspec
def btref_peer_disconnected(peer: PeerView, reason: str) -> None:
    """A peer's connection ended; ``reason`` is a short human-readable text."""


@hookspec
def btref_piece_verified(torrent: Torrent, index: int) -> None:
    """Piece ``index`` passed its hash check; ``have`` messages are on their way."""


@hookspec
def btref_piece_failed(torrent: Torrent, index: int, peers: Sequence[Hashable]) -> None:
    """Piece ``index`` failed its hash check; ``peers`` are the keys of those that sent blocks of it."""


@hookspec
def btref_peer_banned(peer: PeerView, reason: str) -> None:
    """The engine banned a peer (e.g. repeated bad data) and will not talk to it again."""


@hookspec
def btref_torrent_complete(torrent: Torrent) -> None:
    """Every piece is verified: the session now seeds."""
