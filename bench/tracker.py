"""Tracker benchmark: announces per second through the reference tracker's logic (BEP 3, 23).

Usage::

    .venv/bin/python bench/tracker.py                    # 1 and 10,000 torrents; 100 to 20,000 peers on one
    .venv/bin/python bench/tracker.py --announces 50000

Each case fills a :class:`btref.tracker_state.TrackerState` (with the given torrents and
peers, every peer at its own address), then times ``--announces`` HTTP announces
(``TrackerState.http_announce``: the query parsed, the swarm updated, 50 peers drawn and
bencoded compactly) cycling through the peers. No sockets: this is the cost of the logic a
server pays per announce, so it should not depend on how many peers a swarm has. Nothing
is asserted; numbers depend on the machine (see docs/core/trackers.md).
"""

from __future__ import annotations

import argparse
import random
import time

from btref.discovery import AnnounceRequest
from btref.tracker import announce_url
from btref.tracker_state import TrackerState

CASES = ((1, 100), (1, 1_000), (1, 20_000), (10_000, 20_000))  # (torrents, peers in all)


def run_case(torrents: int, peers: int, announces: int) -> float:
    """Announces per second with ``peers`` peers spread evenly over ``torrents`` torrents."""
    state = TrackerState(interval=1800, rng=random.Random(1), secret=b"bench")
    queries, hosts = [], []
    for i in range(peers):
        request = AnnounceRequest(info_hash=(i % torrents).to_bytes(20, "big"), peer_id=b"-XX0001-%012d" % i,
                                  port=1024 + i % 60000, left=1000)
        queries.append(announce_url("http://t/announce", request).split("?", 1)[1])
        hosts.append(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        state.http_announce(queries[-1], hosts[-1], 0.0)
    start = time.perf_counter()
    for j in range(announces):
        state.http_announce(queries[j % peers], hosts[j % peers], 1.0)
    return announces / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--announces", type=int, default=20_000, help="announces timed per case (default 20000)")
    args = parser.parse_args()
    print(f"{'torrents':>8} {'peers':>7} {'announces/s':>12}")
    for torrents, peers in CASES:
        print(f"{torrents:8,d} {peers:7,d} {run_case(torrents, peers, args.announces):12,.0f}")


if __name__ == "__main__":
    main()
