"""``btref sim``: play a swarm scenario in the simulator and write its metrics and plots.

The simulator (:mod:`btref.sim`) drives the real engine (BEP 3 peer protocol) and the
strategy plugins chosen by name, with their parameters (``--picker
rarest-first:random_first=0``), on a virtual clock; a run is determined by its seed.
The command writes ``metrics.json`` (per-peer times, bytes and sources, replication over
time, share ratios, unchoke decisions, the strategies' parameters) and three figures as
PNG and SVG to ``--out``, and prints a summary (the ``walkthrough`` scenario prints its
story round by round; a scenario with a ``report``, such as the lessons of
:mod:`btref.sim.lessons`, prints what its run shows).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import STRATEGY_HELP, CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "simulate a swarm (a named scenario) and write metrics and plots"
DESCRIPTION = """\
Simulate a swarm with a virtual clock: the real btref engine and the picker and
choker you name, peers with upload/download capacities and link latency. The same
--seed gives the same run, event for event. Writes metrics.json and the figures
completion_cdf, replication and up_down (PNG and SVG) to --out.
"""
EPILOG = """\
examples:
  btref sim --list                             the scenarios
  btref sim walkthrough                        one seed, three peers, round by round
  btref sim walkthrough --html                 ... and watch it in a browser: sim-walkthrough/view.html
  btref sim flash-crowd --peers 100 --pieces 200 --out fc
  btref sim weak-seed --picker random --seed 7
  btref sim flash-crowd --picker rarest-first:random_first=0 --choker tit-for-tat:optimistic_slots=2

the client-server vs peer-to-peer lessons, each in one run:
  btref sim server-leaves                      the server leaves: every download stops
  btref sim seed-leaves                        the only seed leaves: the file lives on
  btref sim startup                            time to the first piece as demand grows
  btref sim privacy                            whose address each peer learns
  btref sim liar                               corrupt blocks: failed hash checks, a ban

open swarms (arrivals go on; time averages after a warm-up, beside a fluid model):
  btref sim open --no-plots                    Poisson arrivals 1/s, peers leave when done: upload-limited
  btref sim open --seed-time 60 --download 8 --warm-up 300
                                               finished peers seed 60 s: download-limited
  btref sim open --seed-time 60 --download 8 --warm-up 300 --min-queue 1 --pipeline-seconds 0.5
                                               ... with short request queues: a later end game
  btref sim missing-piece --no-plots           a seed slower than the arrivals: the one club grows
  btref sim missing-piece --seed-upload 1.5    ... faster than the arrivals: the population stays bounded

exit status: 0 every peer completed, 1 some did not (which is the point of
server-leaves and seed-leaves-early), 2 bad input.

next: compare strategies over many runs with `btref compare`.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("sim", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--picker", metavar="NAME[:KEY=VALUE,...]",
                   help=f"piece picker {STRATEGY_HELP} (default: the scenario's, rarest-first but for the "
                        "walkthrough; see --list)")
    p.add_argument("--choker", default="tit-for-tat", metavar="NAME[:KEY=VALUE,...]",
                   help=f"choker {STRATEGY_HELP} (default: tit-for-tat)")
    p.add_argument("--peers", type=int, metavar="N", help="leechers (default: the scenario's)")
    p.add_argument("--pieces", type=int, metavar="M", help="pieces of 16 KiB (default: the scenario's)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="the run's random seed (default: the scenario's, 0 but for the walkthrough)")
    p.add_argument("--out", metavar="DIR", help="folder for metrics.json and plots (default: sim-SCENARIO)")
    p.add_argument("--no-plots", action="store_true", help="write metrics.json only")
    p.add_argument("--html", action="store_true",
                   help="also write view.html: the run in a browser, with play/pause and a slider (one file, "
                        "no network needed: open it in a lecture)")
    group = p.add_argument_group("open swarms (scenarios open and missing-piece; rates in 16 KiB blocks/s)")
    for flag, meta, text in (
            ("--arrival-rate", "LAMBDA", "leechers arriving per second, a Poisson process (default 1)"),
            ("--seed-time", "SECONDS", "mean time a finished leecher stays as a seed, exponential; 0: it leaves "
                                       "at once (default 0)"),
            ("--seed-upload", "RATE", "the origin seed's upload (default: open 8, missing-piece 0.5)"),
            ("--download", "RATE", "each leecher's download (default 16; its upload is 4)"),
            ("--horizon", "SECONDS", "arrivals stop then (default: open 600, missing-piece 300)"),
            ("--warm-up", "SECONDS", "averages start then (default: open 200, missing-piece 100)"),
            ("--min-queue", "N", "requests each leecher keeps queued per peer at least (default 4)"),
            ("--pipeline-seconds", "SECONDS", "... and as many as that many seconds of the peer's rate (default 2)")):
        group.add_argument(flag, type=float, metavar=meta, help=text)
    p.set_defaults(run=run)


#: The ``btref sim`` options that set :class:`btref.sim.open_swarm.OpenSwarm` fields.
OPEN_SWARM = ("arrival_rate", "seed_time", "seed_upload", "download", "horizon", "warm_up", "min_queue",
              "pipeline_seconds")


def list_scenarios(out: TextIO) -> None:
    from btref.sim import scenarios

    every = scenarios.known()
    width = max(len(name) for name in every)
    for name in sorted(every):
        s = every[name]
        more = (f", picker {s.picker}" if s.picker != "rarest-first" else "") + (f", seed {s.seed}" if s.seed else "")
        peers = "" if name in scenarios.OPEN_SCENARIOS else f"{s.peers} peers, "  # arrivals set their number
        print(f"  {name:<{width}}  {s.summary} (default {peers}{s.pieces} pieces{more})", file=out)


def write_view(swarm: object, path: Path, title: str) -> Path:
    """The browser view of a finished run (:mod:`btref.web`), sampled if large."""
    from btref.sim.swarm import Swarm
    from btref.web import events, page

    assert isinstance(swarm, Swarm)  # run() refused the scenarios with runners of their own
    path.write_text(page.render(events.sample(events.from_sim(swarm, title)), title=title), encoding="utf-8")
    return path


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from btref.sim import scenarios  # the simulator: only when a run starts
    from btref.commands.common import plots_module, strategy
    from btref.sim.metrics import write_json

    out = out or sys.stdout
    if args.list or args.scenario is None:
        print("scenarios:", file=out)
        list_scenarios(out)
        return 0
    scenario = scenarios.get(args.scenario)
    picker = strategy("pickers", args.picker or scenario.picker).label
    choker = strategy("chokers", args.choker).label
    seed = scenario.seed if args.seed is None else args.seed
    if args.html and scenario.build is None:  # a runner plays several swarms, or none: no one run to show
        raise CommandError(f"--html: {args.scenario} is an experiment of its own, not one swarm; "
                           "try walkthrough or flash-crowd")
    story = args.scenario == "walkthrough"
    swarm, metrics = scenarios.run(args.scenario, peers=args.peers, pieces=args.pieces, picker=picker,
                                   choker=choker, seed=seed, record_transfers=story or args.html,
                                   open_swarm={name: getattr(args, name) for name in OPEN_SWARM
                                               if getattr(args, name, None) is not None})
    if story:
        from btref.sim import walkthrough

        print(walkthrough.story(walkthrough.read(swarm, metrics)), file=out)
        print(file=out)
    folder = Path(args.out or f"sim-{args.scenario}")
    folder.mkdir(parents=True, exist_ok=True)
    write_json(metrics, folder / "metrics.json")
    written = [folder / "metrics.json"]
    if args.html:
        written.append(write_view(swarm, folder / "view.html", f"btref sim {args.scenario} ({picker} + {choker}, "
                                                                f"seed {seed})"))
    if "peers" not in metrics:  # a scenario with its own runner: its own figures, if any
        if scenario.plot is not None and not args.no_plots:
            plots_module("sim", folder / "metrics.json")  # the scenario's figures need matplotlib too
            written += scenario.plot(swarm, folder)
        print(f"{args.scenario}, seed {seed}:", file=out)
        if scenario.report is not None:
            for line in scenario.report(metrics):
                print(f"  {line}" if line else "", file=out)
        else:
            for key, value in metrics["summary"].items():
                print(f"  {key}: {value}", file=out)
        print(f"  wrote {', '.join(str(path) for path in written)}", file=out)
        return 0
    if not args.no_plots:
        written += plots_module("sim", folder / "metrics.json").plot_run(metrics, folder)
    s = metrics["summary"]
    print(f"{args.scenario}: {s['leechers']} peers, {metrics['pieces']} pieces, {picker} + {choker}, "
          f"seed {seed}", file=out)
    if s["mean_download_time"] is not None:
        print(f"  completed {s['completed']}/{s['leechers']}; download time mean {s['mean_download_time']:.1f} s, "
              f"median {s['median_download_time']:.1f} s, max {s['max_download_time']:.1f} s", file=out)
        if s["over_bound"] is not None:  # an open swarm has no one distribution to bound
            print(f"  last completion {s['last_completion']:.1f} s = {s['over_bound']:.2f} x the lower bound "
                  f"{s['lower_bound']:.1f} s", file=out)
    else:
        print(f"  no peer completed within {metrics['end']:.0f} s of virtual time", file=out)
    print(f"  rarest piece: at least {s['min_replication']} copies, {s['rarest_copies_mean']:.1f} on average; "
          f"{metrics['events']} events", file=out)
    if scenario.report is not None:
        print(file=out)
        for line in scenario.report(metrics):
            print(f"  {line}", file=out)
        print(file=out)
    print(f"  wrote {', '.join(str(p) for p in written)}", file=out)
    return 0 if s["completed"] == s["leechers"] else 1
