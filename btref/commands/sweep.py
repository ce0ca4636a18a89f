"""``btref sweep``: run a grid of scenario parameters, locally or on a Dask cluster, resumably.

Every axis takes a comma-separated list: ``--peers 20,50 --seed-rate 1,4`` (numbers),
``--scenario`` (names), and ``--picker``/``--choker`` exactly as ``btref compare`` reads
them (repeatable; names separated by commas, or one ``NAME:KEY=VALUE,...``, see
:func:`btref.plugins.parse`). The grid is every combination, each run ``--repeat`` times;
repetition ``r`` of every point uses seed ``--seed + r`` ("common random numbers": every
point meets the same dice), so a job's seed depends on its repetition, never on when or
where it runs. The jobs (:class:`btref.sim.jobs.Job`, BEP 3 swarms in the simulator) go to
``--jobs`` local processes or to the Dask scheduler ``--scheduler tcp://HOST:PORT``.

``--out`` keeps one file per finished job (``jobs/KEY.json``, ``KEY`` a hash of the job's
parameters): the same command run again skips them, so an interrupted sweep resumes and a
sweep with one more point runs only that point. It also receives ``sweep.json`` (every
run and every point), ``runs.csv`` (a row per job), ``points.csv`` (a row per grid point:
mean and 95% confidence interval, as ``btref compare`` computes them) and, with
matplotlib, a figure per numeric axis that has more than one value.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import attrs

from btref.commands.common import CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers
    from btref.sim.jobs import Job

HELP = "run a grid of scenario parameters, locally or on a Dask cluster; resumes where it stopped"
DESCRIPTION = """\
Run a simulated scenario for every combination of the values given (peers x pieces x
seed upload x picker x choker), --repeat times each (seeds S, S+1, ...: every point meets
the same swarms), on local processes or a Dask cluster, and print each point's mean
download time, last completion and rarest-piece copies with 95% confidence intervals.
Each finished run is kept in the output folder: run the same command again after an
interruption and only the missing runs are done.
"""
EPILOG = """\
examples:
  btref sweep --peers 10,20 --picker rarest-first,random --repeat 3
  btref sweep --scenario weak-seed --seed-rate 1,4 --picker rarest-first,random --repeat 5
  btref sweep --peers 20,50 --choker tit-for-tat:optimistic_slots=0 --choker tit-for-tat
  btref sweep --peers 20,50 --scheduler tcp://10.0.0.1:8786       (a Dask cluster; pip install 'btref[cluster]')

--seed-rate multiplies the upload of the scenario's seed (1 = as the scenario has it).
Numbers and names are comma separated; --picker and --choker repeat as in `btref compare`.

next: the "Sweeps" chapter shows how to start a cluster over several machines.
"""

#: The numeric axes: option, field of :class:`~btref.sim.jobs.Job`, type.
AXES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("--peers", "peers", int), ("--pieces", "pieces", int), ("--seed-rate", "seed_rate", float))


def values(option: str, text: str, kind: Callable[[str], Any]) -> list[Any]:
    """``"20,50"`` as ``[20, 50]``: each value once, in the order given.

    :raises CommandError: a value that is not a positive number of the axis' kind.
    """
    found: list[Any] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = kind(part)
        except ValueError:
            raise CommandError(f"{option} {text!r}: {part!r} is not {'a whole' if kind is int else 'a'} number"
                               ) from None
        if not value > 0:
            raise CommandError(f"{option} {text!r}: every value must be above 0, got {part}")
        if value not in found:
            found.append(value)
    return found


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("sweep", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="flash-crowd", metavar="NAMES",
                   help="scenarios, comma separated (default: flash-crowd)")
    p.add_argument("--peers", metavar="N,N,...", help="leechers (default: the scenario's)")
    p.add_argument("--pieces", metavar="M,M,...", help="pieces (default: the scenario's)")
    p.add_argument("--seed-rate", metavar="X,X,...", help="the seed's upload as a multiple of the scenario's (default: 1)")
    p.add_argument("--picker", action="append", metavar="NAMES|NAME:KEY=VALUE,...",
                   help="pickers, as in btref compare; repeatable (default: rarest-first)")
    p.add_argument("--choker", action="append", metavar="NAMES|NAME:KEY=VALUE,...",
                   help="chokers, as in btref compare; repeatable (default: tit-for-tat)")
    p.add_argument("--repeat", type=int, default=5, metavar="K", help="runs per grid point (default: 5)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the first run (default: 0)")
    p.add_argument("--jobs", type=int, default=None, metavar="J", help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the jobs on this Dask scheduler's workers instead (needs btref[cluster])")
    p.add_argument("--out", metavar="DIR", help="folder for the runs, tables and plots (default: sweep-SCENARIO)")
    p.add_argument("--fresh", action="store_true", help="run every job again, ignoring the results in --out")
    p.add_argument("--no-plots", action="store_true", help="write the tables only")
    p.set_defaults(run=run)


def grid(args: argparse.Namespace) -> list[Job]:
    """Every job the options ask for: the grid points in the order of the options' values,
    each followed by its repetitions."""
    from btref.commands.compare import choices
    from btref.sim import scenarios
    from btref.sim.jobs import Job

    if args.repeat < 1:
        raise CommandError(f"--repeat must be at least 1, got {args.repeat}")
    names = values_of_names("--scenario", args.scenario)
    known = [scenarios.get(name) for name in names]
    pickers = [c.label for c in choices("pickers", args.picker or ["rarest-first"])]
    chokers = [c.label for c in choices("chokers", args.choker or ["tit-for-tat"])]
    given = {field: values(option, text, kind) if (text := getattr(args, field)) else None
             for option, field, kind in AXES}
    jobs = []
    for scenario in known:
        peers = given["peers"] or [scenario.peers]
        pieces = given["pieces"] or [scenario.pieces]
        rates = given["seed_rate"] or [1.0]
        for n, m, rate, picker, choker in itertools.product(peers, pieces, rates, pickers, chokers):
            jobs += [Job(scenario.name, picker, choker, n, m, float(rate), args.seed + r) for r in range(args.repeat)]
    return jobs


def values_of_names(option: str, text: str) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise CommandError(f"{option} {text!r}: give at least one name")
    return names


POINT = ("scenario", "peers", "pieces", "seed_rate", "picker", "choker")
RUN_COLUMNS = (*POINT, "seed", "mean", "last", "completed", "leechers", "min_replication", "key")
POINT_COLUMNS = (*POINT, "runs", "mean", "ci", "last", "last_ci", "min_replication", "min_replication_ci",
                 "completed", "leechers")


def tables(jobs: list[Job], results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run rows (one per job) and the point rows (one per grid point, aggregated)."""
    from btref.sim.compare import aggregate

    runs = [{**r["job"], **{k: r[k] for k in RUN_COLUMNS if k in r}} for r in results]
    groups: dict[Job, list[dict[str, Any]]] = {}
    for job, result in zip(jobs, results):
        groups.setdefault(attrs.evolve(job, seed=0), []).append(result)
    points = [{**{k: point.point()[k] for k in POINT}, **aggregate(mine)} for point, mine in groups.items()]
    return runs, points


def format_points(points: list[dict[str, Any]]) -> str:
    """The table ``btref sweep`` prints: one line per grid point."""
    from btref.sim.compare import _cell

    head = ("scenario", "peers", "pieces", "seed x", "picker", "choker", "mean download (s)", "last done (s)",
            "rarest copies", "done")
    body = [(p["scenario"], str(p["peers"]), str(p["pieces"]), f"{p['seed_rate']:g}", p["picker"], p["choker"],
             _cell(p["mean"], p["ci"]), _cell(p["last"], p["last_ci"]),
             _cell(p["min_replication"], p["min_replication_ci"]), f"{p['completed']}/{p['leechers']}")
            for p in points]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if points:
        lines.append(f"(± is the 95% confidence interval over {points[0]['runs']} runs per point)")
    return "\n".join(lines)


class Reporter:
    """Shows each job as it finishes, on stderr as :mod:`btref.io.progress` does (the output
    proper, the tables, stays on stdout): a line per job, and on a terminal a rich progress
    bar under the lines. Used by ``btref compare`` too."""

    def __init__(self, total: int, *, stream: IO[str] | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.done, self.stored = total, 0, 0
        self._bar: Any = None
        if self.stream.isatty() if tty is None else tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=Console(file=self.stream))
            self._task = self._bar.add_task("runs", total=total)
            self._bar.start()

    def __call__(self, job: Job, result: dict[str, Any], stored: bool) -> None:
        self.done += 1
        self.stored += stored
        where = "kept" if stored else "done"
        mean = "-" if result["mean"] is None else f"{result['mean']:.1f} s"
        line = (f"btref: {self.done}/{self.total} {where}: {job.scenario} peers={job.peers} pieces={job.pieces} "
                f"seed_rate={job.seed_rate:g} {job.picker} + {job.choker} seed {job.seed}: mean download {mean}"
                if job.seed_rate is not None else
                f"btref: {self.done}/{self.total} {where}: {job.picker} + {job.choker} seed {job.seed}: "
                f"mean download {mean}")
        if self._bar is not None:
            if not stored:
                self._bar.console.print(line, highlight=False)
            self._bar.update(self._task, completed=self.done)
        elif not stored:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _plots(points: list[dict[str, Any]], axes: list[str], folder: Path, out: TextIO) -> list[Path]:
    """A figure per axis; without matplotlib (an optional extra), a note instead: the
    tables are the sweep's result, the figures only show it."""
    try:
        from btref.sim.plots import plot_sweep
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "matplotlib":
            raise
        print("no plots: matplotlib is not installed (pip install 'btref[sim]')", file=out)
        return []
    return [path for axis in axes for path in plot_sweep(points, axis, folder)]


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from btref.sim.compare import default_jobs
    from btref.sim.jobs import run_jobs

    out = out or sys.stdout
    if args.jobs is not None and args.jobs < 1:
        raise CommandError(f"--jobs must be at least 1, got {args.jobs}")
    jobs = grid(args)
    folder = Path(args.out or f"sweep-{values_of_names('--scenario', args.scenario)[0]}")
    if args.fresh:
        for old in (folder / "jobs").glob("*.json"):
            old.unlink()
    points = len({attrs.evolve(job, seed=0) for job in jobs})
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{args.jobs or default_jobs()} local processes"
    print(f"sweep: {points} grid points x {args.repeat} runs = {len(jobs)} jobs on {where}; "
          f"results in {folder}/jobs", file=out, flush=True)
    reporter = Reporter(len(jobs))
    try:
        results = run_jobs(jobs, workers=args.jobs or default_jobs(), scheduler=args.scheduler, folder=folder,
                           on_result=reporter)
    except KeyboardInterrupt:
        reporter.close()
        print(f"btref: {reporter.done - reporter.stored} runs finished in {folder}/jobs are kept; "
              f"run the same command again to resume", file=sys.stderr)
        raise
    reporter.close()
    if reporter.stored:
        print(f"{reporter.stored} of {len(jobs)} runs were already in {folder}/jobs", file=out)
    run_rows, point_rows = tables(jobs, results)
    print(format_points(point_rows), file=out)
    (folder / "sweep.json").write_text(json.dumps({"runs": run_rows, "points": point_rows}, indent=1) + "\n",
                                       encoding="utf-8")
    _write_csv(folder / "runs.csv", RUN_COLUMNS, run_rows)
    _write_csv(folder / "points.csv", POINT_COLUMNS, point_rows)
    written = [folder / name for name in ("sweep.json", "runs.csv", "points.csv")]
    axes = [field for _, field, _ in AXES if len({p[field] for p in point_rows}) > 1]
    if axes and not args.no_plots:
        written += _plots(point_rows, axes, folder, out)
    print(f"wrote {', '.join(str(p) for p in written)}", file=out)
    return 0
