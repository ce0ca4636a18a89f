"""How fast is the simulator? Events per second and wall time of flash crowds.

Run: ``.venv/bin/python bench/sim.py`` (defaults: 100, 1,000 and 5,000 peers, 1,000
pieces of 16 KiB, rarest-first + tit-for-tat, seed 0), or choose with ``--peers 100,1000``
``--pieces 200``. For each size it builds the ``flash-crowd`` scenario, runs it to the
last completion on one core and prints the wall time, the events processed, events per
second, virtual seconds simulated and the last completion over the lower bound.
``--budget SECONDS`` stops each size after that much wall time and prints how far it got
(the virtual time reached, the peers done): a 5,000-peer crowd takes over an hour, and
its events per second show after a few minutes. ``--profile`` prints the top functions by own time (cProfile) for the first size.
Nothing here is asserted; the figures measured on this project's two-core machine, and
what they are made of, are in "Speed" in ``docs/core/sim.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from btref.sim import scenarios  # noqa: E402
from btref.sim.metrics import summarize  # noqa: E402
from btref.sim.swarm import Swarm  # noqa: E402
from btref.sim.virtual import virtual_torrent  # noqa: E402


def one(peers: int, pieces: int, picker: str, choker: str, budget: float | None = None) -> None:
    start = time.perf_counter()
    setup = scenarios.get("flash-crowd").build(scenarios.Params(peers, pieces, picker, choker, 0))
    swarm = Swarm(virtual_torrent(pieces, setup.piece_length, name="flash-crowd"), setup.specs, seed=0,
                  **setup.options)
    deadline = start + budget if budget else None
    end = swarm.run(until=setup.until, stop=(lambda: time.perf_counter() > deadline) if deadline else None)
    metrics = summarize(swarm, end)
    wall = time.perf_counter() - start
    s = metrics["summary"]
    events = metrics["events"]
    stopped = "  (stopped: --budget)" if not swarm.done and deadline and time.perf_counter() > deadline else ""
    print(f"{peers:>6} {pieces:>6} {wall:>9.1f} {events:>11,} {events / wall:>10,.0f} {end:>9.1f} "
          f"{s['completed']:>6}/{s['leechers']:<6} {s['over_bound'] or float('nan'):>6.2f}{stopped}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default="100,1000,5000", help="comma-separated swarm sizes")
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--picker", default="rarest-first")
    parser.add_argument("--choker", default="tit-for-tat")
    parser.add_argument("--profile", action="store_true", help="profile the first size")
    parser.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                        help="stop each size after this much wall time and print how far it got "
                             "(5,000 peers take over an hour to finish)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.peers.split(",")]
    print(f"flash-crowd, {args.pieces} pieces of 16 KiB, {args.picker} + {args.choker}, one core")
    print(f"{'peers':>6} {'pieces':>6} {'wall (s)':>9} {'events':>11} {'events/s':>10} {'virtual':>9} "
          f"{'done':>13} {'xbound':>6}")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(one, sizes[0], args.pieces, args.picker, args.choker)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        sizes = sizes[1:]
    for n in sizes:
        one(n, args.pieces, args.picker, args.choker, args.budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
