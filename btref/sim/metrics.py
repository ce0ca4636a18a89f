"""What a simulation run measured, as JSON-ready data (and the bound no run can beat).

:func:`summarize` turns a finished :class:`~btref.sim.swarm.Swarm` into one dictionary:

* ``peers``: per peer, when it arrived, completed and left, its download time, bytes up
  and down, from whom its bytes came, its share ratio (up / down), its rechokes and whom
  they unchoked how often, how long after arriving its first block came and its first
  piece passed the hash check (``first_block``, ``first_piece``: start-up latency), and,
  if the swarm recorded addresses, whose addresses it learned (``learned``, name to how:
  ``tracker`` or ``connection``) and who learned its own (``known_by``);
* ``departures``: each seed that left, when, how many pieces the peers present still held
  between them then (``pieces_held``; fewer than all: the file is lost to the swarm), how
  many leechers had completed, and the bytes all peers had downloaded so far (``bytes_down``);
* ``incidents``: every piece that failed its hash check and every ban, in time order;
* ``replication``: samples of ``[time, copies of the rarest piece, entropy]``, where the
  entropy of the copy counts *c* is ``-sum(p log p) / log M`` with ``p = c / sum(c)``
  (1.0: every piece equally replicated; lower: some pieces much rarer than others);
* ``summary``: mean, median and maximum download time, completion counts, the
  distribution-time lower bound and the last completion over that bound, the fewest
  copies the rarest piece ever had (0: a piece was lost) and its average over the samples,
  ``all_replicated_at``: the first sample at which the rarest piece had two copies (with
  one seed: every piece had left it), and ``seed_unique_share`` (:func:`seed_unique_share`,
  with ``record_transfers``): how much of the seeds' upload was new pieces (Bharambe et
  al. 2006, "Analyzing and improving a BitTorrent network's performance mechanisms");
  the mean and maximum ``first_piece`` and the mean ``first_block``; ``hash_failures`` and
  ``bans`` (counts of the incidents); with addresses recorded, how many addresses a peer
  learned and how many peers learned its address, on average (``addresses_learned_mean``,
  ``known_by_mean``) and at most (``known_by_max``).

:func:`lower_bound` is the minimum distribution time of a file of ``F`` bits from one
server to ``N`` peers (Kurose and Ross, "Computer Networking", P2P file distribution):
``max(F / u_s, F / d_min, N F / (u_s + sum u_i))``: the seed must send every bit once, the
slowest downlink must receive every bit, and the swarm must upload ``N F`` bits in all.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from btref.wire import BLOCK_SIZE as BLOCK

if TYPE_CHECKING:
    from btref.sim.swarm import SimPeer, Swarm

__all__ = ["entropy", "lower_bound", "swarm_lower_bound", "summarize", "seed_unique_share", "write_json",
           "completion_times", "partner_debts"]


def entropy(copies: Sequence[int]) -> float:
    """Normalised Shannon entropy of the piece copy counts (0..1; 1.0 for one piece)."""
    total = sum(copies)
    if len(copies) <= 1 or total == 0:
        return 1.0
    h = -sum(c / total * math.log(c / total) for c in copies if c)
    return h / math.log(len(copies))


def lower_bound(size: float, seed_upload: float, downloads: Sequence[float], uploads: Sequence[float]) -> float:
    """Kurose and Ross's minimum time to give ``size`` bytes to every peer (see above).

    ``downloads`` and ``uploads`` are the leechers' capacities (bytes per second).
    """
    if not downloads:
        return 0.0
    return max(size / seed_upload, size / min(downloads), len(downloads) * size / (seed_upload + sum(uploads)))


def swarm_lower_bound(swarm: Swarm) -> float:
    """The bound for a swarm whose leechers all arrive at once and stay (its honest seeds pooled)."""
    seeds = [s for s in swarm.specs if s.seed and not s.lies]
    leechers = [s for s in swarm.specs if not s.seed]
    size = swarm.torrent.total_length
    return lower_bound(size, sum(s.upload for s in seeds), [s.download for s in leechers],
                       [s.upload for s in leechers])


def _since(peer: SimPeer, time: float | None) -> float | None:
    return None if time is None or peer.spec.seed else time - peer.arrived_at


def _peer(peer: SimPeer, names: dict[int, str], known_by: dict[int, list[str]] | None) -> dict[str, Any]:
    spec = peer.spec
    done = peer.completed_at
    addresses: dict[str, Any] = {} if known_by is None else {
        "learned": {names[k]: how for k, how in sorted(peer.learned.items())},
        "known_by": known_by.get(peer.key, []),
    }
    return {
        "name": spec.name,
        "seed": spec.seed,
        "tags": list(spec.tags),
        "picker": spec.picker,
        "choker": spec.choker,
        "upload_capacity": spec.upload,
        "download_capacity": spec.download,
        "arrived": peer.arrived_at,
        "completed": done,
        "download_time": None if done is None or spec.seed else done - peer.arrived_at,
        "left": peer.left_at,
        "bytes_up": peer.bytes_up,
        "bytes_down": peer.bytes_down,
        "share_ratio": peer.bytes_up / peer.bytes_down if peer.bytes_down else None,
        "down_from": dict(sorted((names[k], n) for k, n in peer.down_from.items())),
        "rechokes": peer.rechokes,
        "unchoked": dict(sorted((names[k], n) for k, n in peer.unchoked.items())),
        "first_block": _since(peer, peer.first_block_at),
        "first_piece": _since(peer, peer.first_piece_at),
        **addresses,
    }


def _known_by(swarm: Swarm, names: dict[int, str]) -> dict[int, list[str]] | None:
    """Who learned each peer's address (by key), or ``None`` if the swarm did not record it."""
    if not swarm.record_addresses:
        return None
    out: dict[int, list[str]] = {}
    for key, peer in sorted(swarm.peers.items()):
        for other in peer.learned:
            out.setdefault(other, []).append(names[key])
    return out


def _incident(time: float, name: str, kind: str, fields: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """A ``piece_failed`` (``index``, ``senders``) or ``peer_banned`` (``banned``, ``reason``)
    event of peer ``name``, with the engine's peer keys (text) turned into names."""
    if kind == "peer_banned":
        return {"time": time, "peer": name, "event": kind, "banned": names[int(fields["peer"])],
                "reason": fields["reason"]}
    return {"time": time, "peer": name, "event": kind, "index": fields["index"],
            "senders": [names[int(key)] for key in fields["peers"]]}


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summarize(swarm: Swarm, end: float) -> dict[str, Any]:
    """Everything the run measured (see the module docstring)."""
    names = {key: spec.name for key, spec in enumerate(swarm.specs)}
    known_by = _known_by(swarm, names)
    peers = [_peer(p, names, known_by) for p in swarm.peers.values()]
    first = [p["first_piece"] for p in peers if p["first_piece"] is not None]
    incidents = [_incident(*i, names) for i in swarm.incidents]
    addresses: dict[str, Any] = {} if known_by is None else {
        "addresses_learned_mean": _mean([len(p["learned"]) for p in peers]),
        "known_by_mean": _mean([len(p["known_by"]) for p in peers]),
        "known_by_max": max((len(p["known_by"]) for p in peers), default=0),
    }
    times = [p["download_time"] for p in peers if p["download_time"] is not None]
    leechers = sum(1 for s in swarm.specs if not s.seed)
    bound = swarm_lower_bound(swarm)
    last = max((p["completed"] for p in peers if p["download_time"] is not None), default=None)
    return {
        "pieces": swarm.torrent.num_pieces,
        "piece_length": swarm.torrent.piece_length,
        "seed": swarm.seed,
        "end": end,
        "events": swarm.loop.processed,
        "summary": {
            "leechers": leechers,
            "completed": len(times),
            "mean_download_time": statistics.fmean(times) if times else None,
            "median_download_time": statistics.median(times) if times else None,
            "max_download_time": max(times) if times else None,
            "last_completion": last,
            "lower_bound": bound,
            "over_bound": last / bound if last is not None and bound else None,
            "min_replication": min((r[1] for r in swarm.replication), default=None),
            "rarest_copies_mean": statistics.fmean(r[1] for r in swarm.replication) if swarm.replication else None,
            "all_replicated_at": next((r[0] for r in swarm.replication if r[1] >= 2), None),
            "seed_unique_share": seed_unique_share(swarm),
            "first_block_mean": _mean([p["first_block"] for p in peers if p["first_block"] is not None]),
            "first_piece_mean": _mean(first),
            "first_piece_max": max(first, default=None),
            "hash_failures": sum(1 for i in incidents if i["event"] == "piece_failed"),
            "bans": sum(1 for i in incidents if i["event"] == "peer_banned"),
            **addresses,
        },
        "replication": [list(r) for r in swarm.replication],
        "departures": [{"time": t, "peer": name, "pieces_held": held, "completed": done, "bytes_down": down}
                       for t, name, held, done, down in swarm.departures],
        "incidents": incidents,
        "peers": peers,
    }


def seed_unique_share(swarm: Swarm) -> float | None:
    """Distinct pieces the seeds uploaded over the pieces' worth of blocks they uploaded.

    1.0: the seeds never sent a piece twice (every byte of their upload was new to the
    swarm); 0.5: half their upload duplicated what they had sent before. ``None`` unless
    the swarm recorded its transfers (``record_transfers=True``) and a seed uploaded.
    """
    if swarm.transfers is None:
        return None
    seeds = {s.name for s in swarm.specs if s.seed}
    sent = [index for _, src, _, index in swarm.transfers if src in seeds]
    if not sent:
        return None
    # A transfer is one block; a piece is piece_length / BLOCK of them (the last may be shorter).
    blocks = sum(-(-swarm.torrent.piece_size(i) // BLOCK) for i in set(sent))
    return blocks / len(sent)


def completion_times(metrics: dict[str, Any], tag: str | None = None) -> list[float]:
    """Download times of the leechers that completed (only those tagged ``tag`` if given)."""
    return sorted(p["download_time"] for p in metrics["peers"]
                  if p["download_time"] is not None and (tag is None or tag in p["tags"]))


def partner_debts(metrics: dict[str, Any]) -> dict[str, dict[str, int]]:
    """For each leecher, by name: what each leecher it traded with ended owing it, in bytes
    (what it sent that partner minus what the partner sent it; negative: it owes the
    partner). The per-pair balance that block-level tit for tat bounds (Bharambe et al.
    2006); read from ``down_from``, so seeds are left out on both sides."""
    leechers = {p["name"]: p for p in metrics["peers"] if not p["seed"]}
    return {name: {other: q["down_from"].get(name, 0) - p["down_from"].get(other, 0)
                   for other, q in leechers.items()
                   if other != name and (other in p["down_from"] or name in q["down_from"])}
            for name, p in leechers.items()}


def write_json(metrics: dict[str, Any], path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=1, sort_keys=False)
        fh.write("\n")
