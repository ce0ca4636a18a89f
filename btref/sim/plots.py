"""Figures of a simulation run and of a comparison (matplotlib, Agg backend: PNG and SVG).

Three figures per run (:func:`plot_run`), the classic ones of the BitTorrent literature
(Bharambe et al. 2006; Legout et al. 2006):

* ``completion_cdf``: the CDF of download times: how long the n-th peer waited;
* ``replication``: copies of the rarest piece over time (0 means a piece is lost to the
  swarm; rarest first tries to keep it high);
* ``up_down``: bytes uploaded against bytes downloaded per peer, the diagonal being a
  share ratio of 1 (tit for tat pushes peers towards it; free riders sit on the x axis).

:func:`plot_comparison` draws one CDF per strategy pair and a bar chart of the mean
download time with its 95% confidence interval. Every figure is written twice,
``NAME.png`` and ``NAME.svg``, and the written paths are returned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: figures go to files only
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_run", "plot_comparison", "save"]


def save(fig: Figure, folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Write ``fig`` as ``folder/name.png`` and ``.svg``; close it; return both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(paths[0], dpi=100)
    # SVG without a date or random ids, so the same run gives the same file.
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def _cdf(ax: Axes, times: list[float], label: str) -> None:
    times = sorted(times)
    if times:
        ax.step(times, [(i + 1) / len(times) for i in range(len(times))], where="post", label=label)


def plot_run(metrics: dict[str, Any], folder: str | os.PathLike[str]) -> list[Path]:
    """The three figures of one run (see the module docstring)."""
    title = f"{metrics.get('scenario', 'sim')}: {metrics.get('picker', '?')} + {metrics.get('choker', '?')}"
    written: list[Path] = []
    fig, ax = plt.subplots(figsize=(6, 4))
    tags = sorted({t for p in metrics["peers"] for t in p["tags"]})
    peers = [p for p in metrics["peers"] if p["download_time"] is not None]
    _cdf(ax, [p["download_time"] for p in peers if not p["tags"]], "peers" if tags else "all peers")
    for tag in tags:
        _cdf(ax, [p["download_time"] for p in peers if tag in p["tags"]], tag)
    bound = metrics["summary"]["lower_bound"]
    if bound:
        ax.axvline(bound, color="grey", linestyle=":", label="lower bound")
    ax.set(xlabel="download time (s)", ylabel="fraction of peers done", title=title, ylim=(0, 1.02))
    ax.legend(loc="lower right")
    written += save(fig, folder, "completion_cdf")

    fig, ax = plt.subplots(figsize=(6, 4))
    samples = metrics["replication"]
    ax.step([s[0] for s in samples], [s[1] for s in samples], where="post", label="rarest piece")
    ax.set(xlabel="time (s)", ylabel="copies in the swarm", title=title)
    ax2 = ax.twinx()
    ax2.plot([s[0] for s in samples], [s[2] for s in samples], color="tab:orange", alpha=0.6, label="entropy")
    ax2.set(ylabel="entropy of the copies", ylim=(0, 1.05))
    ax.legend(loc="upper left")
    ax2.legend(loc="lower right")
    written += save(fig, folder, "replication")

    fig, ax = plt.subplots(figsize=(6, 4))
    mib = 1024 * 1024
    for label, group in (("seed", [p for p in metrics["peers"] if p["seed"]]),
                         ("peers", [p for p in metrics["peers"] if not p["seed"] and not p["tags"]]),
                         *((tag, [p for p in metrics["peers"] if tag in p["tags"]]) for tag in tags)):
        if group:
            ax.scatter([p["bytes_down"] / mib for p in group], [p["bytes_up"] / mib for p in group],
                       s=12, label=label)
    top = max([p["bytes_down"] for p in metrics["peers"]] + [1]) / mib
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="share ratio 1")
    ax.set(xlabel="downloaded (MiB)", ylabel="uploaded (MiB)", title=title)
    ax.legend(loc="upper left")
    written += save(fig, folder, "up_down")
    return written


def _stacked(label: str) -> str:
    """A plugin choice on several lines, its name then one parameter a line: under a bar,
    ``rarest-first:random_first=0,...`` would run into its neighbours' labels."""
    name, _, params = label.partition(":")
    return "\n".join([name, *params.split(",")]) if params else name


def plot_comparison(results: list[dict[str, Any]], folder: str | os.PathLike[str]) -> list[Path]:
    """CDFs per strategy pair and mean download times with 95% CIs (``btref compare``)."""
    written: list[Path] = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for row in results:
        _cdf(ax, row["times"], f"{row['picker']} + {row['choker']}")
    ax.set(xlabel="download time (s)", ylabel="fraction of peers done", ylim=(0, 1.02),
           title=f"{results[0]['scenario']}: all runs pooled" if results else "")
    ax.legend(loc="lower right", fontsize="small")
    written += save(fig, folder, "compare_cdf")

    fig, ax = plt.subplots(figsize=(6, 4))
    labels = [f"{_stacked(r['picker'])}\n{_stacked(r['choker'])}" for r in results]
    means = [r["mean"] or 0.0 for r in results]
    ax.bar(range(len(results)), means, yerr=[r["ci"] or 0.0 for r in results], capsize=4, color="tab:blue")
    ax.set_xticks(range(len(results)), labels, fontsize="small")
    ax.set(ylabel="mean download time (s)", title="mean over runs, 95% confidence interval")
    fig.tight_layout()
    written += save(fig, folder, "compare_mean")
    return written


def plot_sweep(points: list[dict[str, Any]], axis: str, folder: str | os.PathLike[str]) -> list[Path]:
    """Mean download time against the grid axis ``axis`` (``peers``, ``pieces``,
    ``seed_rate``), one line with 95% CI bars per setting of the other axes (``btref sweep``)."""
    # A line's label names only what varies across the grid: a constant says nothing.
    varying = [k for k in ("scenario", "peers", "pieces", "seed_rate", "picker", "choker")
               if k != axis and len({row[k] for row in points}) > 1]
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in points:
        label = " ".join(str(row[k]) if k in ("scenario", "picker", "choker") else f"{k}={row[k]:g}" for k in varying)
        lines.setdefault(label or "mean", []).append(row)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, rows in lines.items():
        rows = [r for r in rows if r["mean"] is not None]
        ax.errorbar([r[axis] for r in rows], [r["mean"] for r in rows], yerr=[r["ci"] or 0.0 for r in rows],
                    marker="o", capsize=3, label=label)
    names = {"seed_rate": "seed upload (x the scenario's)", "peers": "leechers", "pieces": "pieces"}
    ax.set(xlabel=names[axis], ylabel="mean download time (s)",
           title="mean over runs, 95% confidence interval")
    ax.legend(loc="best", fontsize="x-small")
    fig.tight_layout()
    return save(fig, folder, f"sweep_{axis}")
