"""One event schema for the browser view: a simulator run or a real ``--events`` log.

Every record is a JSON object with ``t`` (seconds since the start) and ``event`` (a name);
``client`` names the peer whose engine saw it, and ``peer`` the other side, as in the
engine's own events (BEP 3 "peer messages" vocabulary, :class:`btref.actions.Event`):

* ``swarm``: the header, first: ``pieces`` (how many), ``peers`` (``[{"name", "seed"}]``, in
  the order of the rows), ``title``, and ``sampled`` when rows or pieces were left out;
* ``arrive``, ``leave``, ``complete`` (``pieces``): a peer joins, goes away, holds every piece;
* ``transfer``: ``peer`` sent piece ``index`` to ``client`` (the simulator: the piece's
  last block from that sender; a real log has no such record: only its own pieces);
* ``piece_verified``, ``piece_failed`` (``index``, ``peers``): the hash check of a piece;
* ``rechoke`` (``unchoked``: everyone unchoked after the round) and ``unchoke`` (peers
  added between rounds): the choker's decisions;
* ``peer_banned`` (``peer``, ``reason``), and any other engine event, passed through.

A real log written by ``--events`` (:mod:`btref.net.events`) already has this shape but for
``client`` (one client wrote it: :func:`from_log` fills it in) and the header.
:func:`from_sim` maps a :class:`~btref.sim.swarm.Swarm` run with ``record_transfers`` to it,
the engine's peer keys turned into names. :func:`sample` keeps a large run smooth in the
browser: at most :data:`MAX_PEERS` rows and :data:`MAX_PIECES` columns.

Invariant: records are in time order and the header comes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    import btref.sim.swarm  # in full: btref.tracker_state has a Swarm too

__all__ = ["MAX_PEERS", "MAX_PIECES", "from_sim", "from_log", "header", "sample"]

#: The largest run the page draws whole, seeds aside (its frame time stays low in Chromium: see the chapter).
MAX_PEERS = 200
MAX_PIECES = 500

Record = dict[str, Any]


def header(pieces: int, peers: list[tuple[str, bool]], title: str) -> Record:
    """The ``swarm`` record: the rows (name, starts as a seed) and the number of pieces."""
    return {"t": 0.0, "event": "swarm", "pieces": pieces, "title": title,
            "peers": [{"name": name, "seed": seed} for name, seed in peers]}


def from_sim(swarm: btref.sim.swarm.Swarm, title: str) -> list[Record]:
    """Every record of a finished simulator run (``record_transfers=True``)."""
    if swarm.transfers is None or swarm.checks is None or swarm.chokes is None:
        raise ValueError("the swarm did not record its transfers (record_transfers=True)")
    names = {str(key): spec.name for key, spec in enumerate(swarm.specs)}
    out: list[Record] = [header(swarm.torrent.num_pieces, [(s.name, s.seed) for s in swarm.specs], title)]
    for peer in swarm.peers.values():
        out.append({"t": peer.arrived_at, "event": "arrive", "client": peer.name})
        if peer.completed_at is not None and not peer.spec.seed:
            out.append({"t": peer.completed_at, "event": "complete", "client": peer.name,
                        "pieces": swarm.torrent.num_pieces})
        if peer.left_at is not None:
            out.append({"t": peer.left_at, "event": "leave", "client": peer.name})
    # One record per piece and sender: the time its last block from that sender arrived.
    last: dict[tuple[str, str, int], float] = {}
    for time, src, dst, index in swarm.transfers:
        last[(src, dst, index)] = time
    out += [{"t": time, "event": "transfer", "client": dst, "peer": src, "index": index}
            for (src, dst, index), time in last.items()]
    out += [{"t": time, "event": "piece_verified" if passed else "piece_failed", "client": name, "index": index}
            for time, name, index, passed in swarm.checks]
    out += [{"t": time, "event": event.name, "client": name,
             "unchoked": [names.get(k, k) for k in event.fields["unchoked"]]}
            for time, name, event in swarm.chokes]
    for time, name, kind, fields in swarm.incidents:
        if kind == "peer_banned":
            out.append({"t": time, "event": kind, "client": name, "peer": names.get(fields["peer"], fields["peer"]),
                        "reason": fields["reason"]})
    return _ordered(out)


def from_log(records: Iterable[Record], client: str = "local", title: str = "") -> list[Record]:
    """A real ``--events`` log as view records: ``client`` on each, a header in front.

    The number of pieces comes from the ``complete`` record (or the highest index seen).
    A record that is not an object with a number ``t`` and a text ``event`` is dropped.
    """
    body: list[Record] = []
    clients: dict[str, None] = {}
    pieces = 0
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("event"), str):
            continue
        if not isinstance(record.get("t"), (int, float)) or record["event"] == "swarm":
            continue
        record = {**record, "client": str(record.get("client", client))}
        clients.setdefault(record["client"], None)
        if record["event"] == "complete" and isinstance(record.get("pieces"), int):
            pieces = max(pieces, record["pieces"])
        if isinstance(record.get("index"), int) and record["index"] >= 0:
            pieces = max(pieces, record["index"] + 1)
        body.append(record)
    return _ordered([header(pieces, [(name, False) for name in clients], title), *body])


def sample(records: list[Record], max_peers: int = MAX_PEERS, max_pieces: int = MAX_PIECES) -> list[Record]:
    """Keep every seed and at most ``max_peers`` other peers (evenly spaced), and fold the
    pieces into at most ``max_pieces`` columns (column = index * columns // pieces, the piece
    itself kept in ``piece``); the header says so in ``sampled`` and keeps the count in
    ``pieces_total``. Records of the peers left out are dropped."""
    head, body = records[0], records[1:]
    peers, pieces = head["peers"], head["pieces"]
    seeds = [p for p in peers if p["seed"]]
    rest = [p for p in peers if not p["seed"]]
    if len(rest) <= max_peers and pieces <= max_pieces:
        return records
    if len(rest) > max_peers:
        rest = [rest[i * len(rest) // max_peers] for i in range(max_peers)]
    kept = seeds + rest
    names = {p["name"] for p in kept}
    columns = min(pieces, max_pieces)
    note = (f"{len(kept)} of {len(peers)} peers shown" if len(kept) < len(peers) else "") + \
        (f"{'; ' if len(kept) < len(peers) else ''}{pieces} pieces folded into {columns} columns"
         if columns < pieces else "")
    out: list[Record] = [{**head, "peers": kept, "pieces": columns, "pieces_total": pieces, "sampled": note}]
    for record in body:
        if record.get("client") not in names:
            continue
        if isinstance(record.get("index"), int):
            record = {**record, "index": record["index"] * columns // pieces, "piece": record["index"]}
        if record["event"] == "complete":
            record = {**record, "pieces": columns}
        out.append(record)
    return out


def _ordered(records: list[Record]) -> list[Record]:
    head, body = records[0], records[1:]
    body.sort(key=lambda r: r["t"])  # stable: same-time records keep their order
    return [head, *body]
