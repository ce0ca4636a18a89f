"""What a simulation run measured, as JSON-ready data (and the bound no run can beat).

:func:`summarize` turns a finished :class:`~btref.sim.swarm.Swarm` into one dictionary:

* ``peers``: per peer, when it arrived, completed and left, its download time, bytes up
  and down, from whom its bytes came, its share ratio (up / down), its rechokes and whom
  they unchoked how often;
* ``replication``: samples of ``[time, copies of the rarest piece, entropy]``, where the
  entropy of the copy counts *c* is ``-sum(p log p) / log M`` with ``p = c / sum(c)``
  (1.0: every piece equally replicated; lower: some pieces much rarer than others);
* ``summary``: mean, median and maximum download time, completion counts, the
  distribution-time lower bound and the last completion over that bound, the fewest
  copies the rarest piece ever had (0: a piece was lost) and its average over the samples,
  ``all_replicated_at``: the first sample at which the rarest piece had two copies (with
  one seed: every piece had left it), and ``seed_unique_share`` (:func:`seed_unique_share`,
  with ``record_transfers``): how much of the seeds' upload was new pieces (Bharambe et
  al. 2006, "Analyzing and improving a BitTorrent network's performance mechanisms").

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
           "completion_times"]


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
    """The bound for a swarm whose leechers all arrive at once and stay (its seeds pooled)."""
    seeds = [s for s in swarm.specs if s.seed]
    leechers = [s for s in swarm.specs if not s.seed]
    size = swarm.torrent.total_length
    return lower_bound(size, sum(s.upload for s in seeds), [s.download for s in leechers],
                       [s.upload for s in leechers])


def _peer(peer: SimPeer, names: dict[int, str]) -> dict[str, Any]:
    spec = peer.spec
    done = peer.completed_at
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
    }


def summarize(swarm: Swarm, end: float) -> dict[str, Any]:
    """Everything the run measured (see the module docstring)."""
    names = {key: spec.name for key, spec in enumerate(swarm.specs)}
    peers = [_peer(p, names) for p in swarm.peers.values()]
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
        },
        "replication": [list(r) for r in swarm.replication],
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


def write_json(metrics: dict[str, Any], path: str | os.PathLike[str]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, indent=1, sort_keys=False)
        fh.write("\n")
