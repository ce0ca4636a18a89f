"""How fast is the simulator? Events per CPU second and CPU time of flash crowds.

Run: ``.venv/bin/python bench/sim.py`` (defaults: 100, 1,000 and 5,000 peers, 1,000
pieces of 16 KiB, rarest-first + tit-for-tat, seed 0), or choose with ``--peers 100,1000``
``--pieces 200``. For each size it builds the ``flash-crowd`` scenario, runs it to the
last completion on one core and prints the wall time, the CPU time of this process
(``time.process_time``: on a shared machine the wall time also counts the other
programs' turns, the CPU time does not), the events processed, events per CPU second,
the CPU time per block delivered, the virtual seconds simulated and the last completion
over the lower bound. ``--budget SECONDS`` stops each size after that much wall time and
prints how far it got (the virtual time reached, the peers done): events per CPU second
and CPU time per block show how a size scales long before it ends; ``--until SECONDS``
stops at that virtual time instead (the same events on any machine). ``--profile`` prints
the top functions by own time (cProfile) for the first size.
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
from btref.wire import BLOCK_SIZE  # noqa: E402


def one(peers: int, pieces: int, picker: str, choker: str, budget: float | None = None,
        until: float | None = None) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    build = scenarios.get("flash-crowd").build
    assert build is not None  # flash-crowd builds a swarm (only runner scenarios have no build)
    setup = build(scenarios.Params(peers, pieces, picker, choker, 0))
    swarm = Swarm(virtual_torrent(pieces, setup.piece_length, name="flash-crowd"), setup.specs, seed=0,
                  **setup.options)
    deadline = start + budget if budget else None
    end = swarm.run(until=setup.until if until is None else min(until, setup.until), stop=(lambda: time.perf_counter() > deadline) if deadline else None)
    metrics = summarize(swarm, end)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    s = metrics["summary"]
    events = metrics["events"]
    blocks = sum(p.bytes_down for p in swarm.peers.values()) / BLOCK_SIZE
    stopped = ("  (stopped: --budget)" if not swarm.done and deadline and time.perf_counter() > deadline
               else "  (stopped: --until)" if not swarm.done and until is not None and end >= until else "")
    print(f"{peers:>6} {pieces:>6} {wall:>9.1f} {cpu:>8.1f} {events:>11,} {events / cpu:>10,.0f} "
          f"{cpu / blocks * 1e6 if blocks else float('nan'):>9.0f} {end:>8.1f} "
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
                             "(5,000 peers x 1,000 pieces take well over an hour to finish)")
    parser.add_argument("--until", type=float, default=None, metavar="SECONDS",
                        help="stop each size at this virtual time: the same events on every machine, "
                             "to compare the cost of a run's start side by side")
    args = parser.parse_args()
    sizes = [int(n) for n in args.peers.split(",")]
    print(f"flash-crowd, {args.pieces} pieces of 16 KiB, {args.picker} + {args.choker}, one core "
          "(events/s and us/block: per CPU second)")
    print(f"{'peers':>6} {'pieces':>6} {'wall (s)':>9} {'CPU (s)':>8} {'events':>11} {'events/s':>10} "
          f"{'us/block':>9} {'virtual':>8} {'done':>13} {'xbound':>6}")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(one, sizes[0], args.pieces, args.picker, args.choker)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        sizes = sizes[1:]
    for n in sizes:
        one(n, args.pieces, args.picker, args.choker, args.budget, args.until)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
