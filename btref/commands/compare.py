"""``btref compare``: run a grid of strategies on a scenario, print means with 95% CIs.

Every (picker, choker) pair runs ``--repeat`` times on the same seeds, in parallel over
``--jobs`` processes or on the Dask cluster ``--scheduler tcp://HOST:PORT``
(:mod:`btref.sim.compare`, :mod:`btref.sim.jobs`); each run is shown on stderr as it finishes.
The table gives each metric's mean and the half-width of its 95% confidence interval
(Student's t). ``--out`` receives
``compare.json`` and the figures ``compare_cdf`` and ``compare_mean`` (PNG and SVG).
The peers run the real engine (BEP 3 peer protocol) with the plugins named.

``--picker`` and ``--choker`` may be repeated. Each one gives either names separated by
commas (``rarest-first,random``) or *one* plugin with parameters
(``rarest-first:random_first=0``, see :func:`btref.plugins.parse`): a comma after a ``:``
separates parameters, never plugins, so the two forms cannot be confused. The same
plugin may appear with different parameters (a sweep); the tables and figures label
each with its parameters.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import CommandError, strategy

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers
    from btref.plugins import Choice

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
  btref compare --picker rarest-first --picker rarest-first:random_first=0 --picker random
  btref compare --choker tit-for-tat:optimistic_slots=0 --choker tit-for-tat:optimistic_slots=2
  btref compare --picker rarest-first,random --scheduler tcp://10.0.0.1:8786   (pip install 'btref[cluster]')
  btref compare --picker rarest-first,random --peers 20 --pieces 40 --html   and watch one run of each

--picker and --choker repeat: each gives names separated by commas, or one plugin
with parameters (NAME:KEY=VALUE,...; `btref plugins --verbose` lists them).

next: the "Comparing strategies" chapter explains how to read the table; `btref sweep`
varies the swarm's sizes too, and resumes an interrupted run.
"""


def choices(family: str, values: list[str]) -> list[Choice]:
    """The plugins named by the ``--picker`` (or ``--choker``) options given, in order, each
    once: every value is ``NAME,NAME,...`` or one ``NAME:KEY=VALUE,...``.

    :raises CommandError: a value names nothing, puts a plugin with parameters in a list,
        or names a plugin or parameter that does not exist.
    """
    from btref.plugins import WORDS

    word = WORDS[family]
    texts: list[str] = []
    for value in values:
        names, colon, params = value.partition(":")
        if colon and "," in names:  # "random,rarest-first:random_first=0": say how to write it
            plain, last = names.rsplit(",", 1)
            fix = [f"--{word} {n.strip()}" for n in plain.split(",") if n.strip()]
            fix.append(f"--{word} {last.strip()}:{params}")
            raise CommandError(f"--{word} {value!r}: a {word} with parameters takes a --{word} of its own: "
                               f"{' '.join(fix)}")
        found = [value] if colon else [n.strip() for n in value.split(",") if n.strip()]
        if not found:
            raise CommandError(f"--{word} {value!r}: give at least one name")
        texts += found
    chosen: dict[str, Choice] = {}
    for text in texts:
        choice = strategy(family, text)
        chosen.setdefault(choice.label, choice)
    return list(chosen.values())


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("compare", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--picker", action="append", metavar="NAMES|NAME:KEY=VALUE,...",
                   help="pickers, comma separated, or one picker with parameters; repeatable (default: rarest-first)")
    p.add_argument("--choker", action="append", metavar="NAMES|NAME:KEY=VALUE,...",
                   help="chokers, comma separated, or one choker with parameters; repeatable (default: tit-for-tat)")
    p.add_argument("--scenario", default="flash-crowd", help="scenario name (default: flash-crowd)")
    p.add_argument("--repeat", type=int, default=5, metavar="K", help="runs per pair (default: 5)")
    p.add_argument("--jobs", type=int, default=None, metavar="J", help="worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler's workers instead (needs btref[cluster]; see btref sweep)")
    p.add_argument("--peers", type=int, metavar="N", help="leechers (default: the scenario's)")
    p.add_argument("--pieces", type=int, metavar="M", help="pieces (default: the scenario's)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first run (default: 0)")
    p.add_argument("--out", metavar="DIR", help="folder for compare.json and plots (default: compare-SCENARIO)")
    p.add_argument("--no-plots", action="store_true", help="write compare.json only")
    p.add_argument("--html", action="store_true",
                   help="also write the browser view of each pair's first run (seed S) to view-PICKER+CHOKER.html, "
                        "to watch how the strategies differ")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from btref.sim import scenarios  # the simulator: only when a comparison starts
    from btref.commands.common import plots_module
    from btref.commands.sweep import Reporter
    from btref.sim.compare import default_jobs, format_table, run_grid

    out = out or sys.stdout
    scenarios.get(args.scenario)
    pickers = [c.label for c in choices("pickers", args.picker or ["rarest-first"])]
    chokers = [c.label for c in choices("chokers", args.choker or ["tit-for-tat"])]
    if args.repeat < 1:
        raise scenarios.ScenarioError(f"--repeat must be at least 1, got {args.repeat}")
    if args.html and scenarios.get(args.scenario).build is None:  # checked before the grid runs
        raise CommandError(f"--html: {args.scenario} is an experiment of its own, not one swarm; "
                           "try flash-crowd or weak-seed")
    reporter = Reporter(len(pickers) * len(chokers) * args.repeat)
    try:
        rows = run_grid(args.scenario, pickers, chokers, repeat=args.repeat, peers=args.peers, pieces=args.pieces,
                        seed=args.seed, jobs=args.jobs or default_jobs(), scheduler=args.scheduler,
                        on_result=reporter)
    finally:
        reporter.close()
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
    if args.html:
        written += write_views(args, pickers, chokers, folder)
    print(f"wrote {', '.join(str(p) for p in written)}", file=out)
    return 0


def write_views(args: argparse.Namespace, pickers: list[str], chokers: list[str], folder: Path) -> list[Path]:
    """Run each pair once more on the first seed, recording transfers, and write its browser
    view (:mod:`btref.web`): the run the table's first column averages in."""
    import re

    from btref.commands.sim import write_view
    from btref.sim import scenarios

    written = []
    for picker in pickers:
        for choker in chokers:
            swarm, _ = scenarios.run(args.scenario, peers=args.peers, pieces=args.pieces, picker=picker,
                                     choker=choker, seed=args.seed, record_transfers=True)
            name = re.sub(r"[^A-Za-z0-9_.=+-]+", "-", f"{picker}+{choker}")
            written.append(write_view(swarm, folder / f"view-{name}.html",
                                      f"btref compare {args.scenario}: {picker} + {choker}, seed {args.seed}"))
    return written
