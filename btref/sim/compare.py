"""Comparing strategies: a grid of (picker, choker) pairs, repeated runs, confidence intervals.

``btref compare --picker a,b --choker x,y --scenario S --repeat K`` runs scenario ``S`` for
every pair, ``K`` times each, in parallel over processes or on a Dask cluster
(:mod:`btref.sim.jobs`). A picker or a choker is a plugin choice
with its parameters, if any (``rarest-first:random_first=0``), and each row records every
parameter its pair ran with. Run ``r`` of every pair uses seed
``seed + r``: the pairs face the same arrivals and tracker answers ("common random
numbers"), so their differences are the strategies', not the dice's.

Each run gives one number per metric (its peers' mean download time, its last completion,
the copies of its rarest piece averaged over time); :func:`mean_ci` turns the ``K`` numbers into a
mean and the half-width of its 95% confidence interval from Student's t distribution
(``K - 1`` degrees of freedom; a table up to 30, an expansion beyond, so no scipy is
needed). Two pairs whose intervals do not overlap differ beyond reasonable doubt.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from typing import Any

from btref.sim import scenarios
from btref.sim.jobs import Job, OnResult, run_jobs

__all__ = ["t_critical", "mean_ci", "aggregate", "run_grid", "format_table"]

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042)


def t_critical(df: int) -> float:
    """The two-sided 95% critical value of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("a confidence interval needs at least 2 samples (1 degree of freedom)")
    if df <= len(_T95):
        return _T95[df - 1]
    z = 1.959964  # Cornish-Fisher expansion around the normal quantile; exact to 3 decimals here
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values: Sequence[float]) -> tuple[float | None, float | None]:
    """``(mean, half-width of the 95% CI)``; the width is ``None`` for fewer than 2 values."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    return mean, t_critical(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def aggregate(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The numbers of several runs of one grid point (:func:`btref.sim.jobs.run_job`
    results): each metric's mean and 95% CI half-width, the counts, the pooled times."""
    mean, ci = mean_ci([r["mean"] for r in runs if r["mean"] is not None])
    last, last_ci = mean_ci([r["last"] for r in runs if r["last"] is not None])
    rare, rare_ci = mean_ci([float(r["min_replication"]) for r in runs])
    return {"runs": len(runs), "picker_params": runs[0]["picker_params"], "choker_params": runs[0]["choker_params"],
            "mean": mean, "ci": ci, "last": last, "last_ci": last_ci,
            "min_replication": rare, "min_replication_ci": rare_ci,
            "completed": sum(r["completed"] for r in runs), "leechers": sum(r["leechers"] for r in runs),
            "lower_bound": runs[0]["lower_bound"], "times": [t for r in runs for t in r["times"]],
            "per_run": [{"seed": r["job"]["seed"], **{k: r[k] for k in ("mean", "last", "completed", "min_replication")}}
                        for r in runs]}


# [docs: grid]
def run_grid(scenario: str, pickers: Sequence[str], chokers: Sequence[str], *, repeat: int = 5,
             peers: int | None = None, pieces: int | None = None, seed: int = 0, jobs: int | None = None,
             scheduler: str | None = None, on_result: OnResult | None = None) -> list[dict[str, Any]]:
    """Run every (picker, choker) pair ``repeat`` times; one result row per pair. The runs go
    to ``jobs`` local processes, or to the Dask scheduler at ``scheduler``
    (:func:`btref.sim.jobs.run_jobs`)."""
    scenarios.get(scenario)  # fail early, in this process, on an unknown name
    if repeat < 1:
        raise ValueError("repeat must be >= 1")
    grid = [(p, c) for p in pickers for c in chokers]
    work = [Job(scenario, p, c, peers, pieces, seed=seed + r) for p, c in grid for r in range(repeat)]
    runs = run_jobs(work, workers=jobs or 1, scheduler=scheduler, on_result=on_result)
    return [{"scenario": scenario, "picker": p, "choker": c,
             **aggregate([r for job, r in zip(work, runs) if (job.picker, job.choker) == (p, c)])}
            for p, c in grid]
# [/docs: grid]


def _cell(mean: float | None, ci: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.1f} ± {ci:.1f}" if ci is not None else f"{mean:.1f}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The table ``btref compare`` prints: means with 95% confidence intervals."""
    head = ("picker", "choker", "mean download (s)", "last done (s)", "rarest copies", "done")
    body = [(r["picker"], r["choker"], _cell(r["mean"], r["ci"]), _cell(r["last"], r["last_ci"]),
             _cell(r["min_replication"], r["min_replication_ci"]), f"{r['completed']}/{r['leechers']}")
            for r in rows]
    widths = [max(len(str(line[i])) for line in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if rows:
        lines.append(f"(± is the 95% confidence interval over {rows[0]['runs']} runs; "
                     f"lower bound on the last completion: {rows[0]['lower_bound']:.1f} s)")
    return "\n".join(lines)


def default_jobs() -> int:
    """One worker per core."""
    return os.cpu_count() or 1
