"""``btref compare``: run a grid of strategies on a scenario, print means with 95% CIs.

Every (picker, choker) pair runs ``--repeat`` times on the same seeds, in parallel over
``--jobs`` processes (:mod:`btref.sim.compare`); the table gives each metric's mean and the
half-width of its 95% confidence interval (Student's t). ``--out`` receives
``compare.json`` and the figures ``compare_cdf`` and ``compare_mean`` (PNG and SVG).
The peers run the real engine (BEP 3 peer protocol) with the plugins named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "compare pickers and chokers over repeated simulations (means, 95%% CIs, plots)"
DESCRIPTION = """\
Run a simulated scenario for every combination of the pickers and chokers named,
--repeat times each (seeds S, S+1, ...: every pair meets the same swarms), in
parallel, and print the mean download time, the last completion and the copies of
the rarest piece, each with its 95% confidence interval.
"""
EPILOG = """\
examples:
  btref compare --picker rarest-first,random --choker tit-for-tat
  btref compare --picker rarest-first --choker tit-for-tat,unchoke-all --scenario weak-seed --repeat 10

next: the "Comparing strategies" chapter explains how to read the table.
"""


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("compare", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--picker", type=_names, default=["rarest-first"], help="pickers, comma separated")
    p.add_argument("--choker", type=_names, default=["tit-for-tat"], help="chokers, comma separated")
    p.add_argument("--scenario", default="flash-crowd", help="scenario name (default: flash-crowd)")
    p.add_argument("--repeat", type=int, default=5, metavar="K", help="runs per pair (default: 5)")
    p.add_argument("--jobs", type=int, default=None, metavar="J", help="worker processes (default: one per core)")
    p.add_argument("--peers", type=int, metavar="N", help="leechers (default: the scenario's)")
    p.add_argument("--pieces", type=int, metavar="M", help="pieces (default: the scenario's)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first run (default: 0)")
    p.add_argument("--out", metavar="DIR", help="folder for compare.json and plots (default: compare-SCENARIO)")
    p.add_argument("--no-plots", action="store_true", help="write compare.json only")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from btref import plugins as registry  # the simulator: only when a comparison starts
    from btref.sim import scenarios
    from btref.commands.common import plots_module
    from btref.sim.compare import default_jobs, format_table, run_grid

    out = out or sys.stdout
    scenarios.get(args.scenario)
    for name in args.picker:
        registry.find("pickers", name)
    for name in args.choker:
        registry.find("chokers", name)
    if args.repeat < 1:
        raise scenarios.ScenarioError(f"--repeat must be at least 1, got {args.repeat}")
    rows = run_grid(args.scenario, args.picker, args.choker, repeat=args.repeat, peers=args.peers,
                    pieces=args.pieces, seed=args.seed, jobs=args.jobs or default_jobs())
    scenario = scenarios.get(args.scenario)
    print(f"{args.scenario}: {args.peers or scenario.peers} peers, {args.pieces or scenario.pieces} pieces, "
          f"{args.repeat} runs per pair (seeds {args.seed}..{args.seed + args.repeat - 1})", file=out)
    print(format_table(rows), file=out)
    folder = Path(args.out or f"compare-{args.scenario}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compare.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    written = [folder / "compare.json"]
    if not args.no_plots:
        written += plots_module("compare", folder / "compare.json").plot_comparison(rows, folder)
    print(f"wrote {', '.join(str(p) for p in written)}", file=out)
    return 0
