"""The classic BitTorrent results, re-run in the simulator: the tables and figures of the
"Reproductions" chapter (``docs/reproductions.md``).

Run one experiment at a time (each takes minutes at full size on this machine)::

    .venv/bin/python bench/repro.py bound        # Kurose-Ross / Mundinger bound, N = 16, 128, 1024
    .venv/bin/python bench/repro.py pickers      # Bharambe et al. 2006 / Legout et al. 2006
    .venv/bin/python bench/repro.py free-riders  # Legout et al. 2007; Locher et al. 2006 (BitThief)
    .venv/bin/python bench/repro.py fairness     # Bharambe et al. 2006: share ratios per upload class
    .venv/bin/python bench/repro.py qiu-srikant  # Qiu and Srikant 2004: an open swarm's fluid model
    .venv/bin/python bench/repro.py missing-piece  # Hajek and Zhu 2010: the missing piece syndrome

``bound`` at full size takes about 6 CPU minutes (3 of them for 1,024 peers x 256 pieces);
on a busy machine run it in parts that share a cache, smallest first::

    .venv/bin/python bench/repro.py bound --max-blocks 65536 --cache /tmp/bound.json
    .venv/bin/python bench/repro.py bound --cache /tmp/bound.json

``pickers`` (about 6 CPU minutes), ``free-riders`` and ``fairness`` (about 3) take
``--cache`` too, as do ``qiu-srikant`` (about 90 CPU seconds) and ``missing-piece``
(about 35): a run that is stopped keeps the runs it finished, and the same command
again goes on from there.

Each prints its table and writes ``docs/_static/repro-<experiment>.png`` (``--out`` for
another folder). ``--peers``, ``--pieces`` and ``--repeat`` shrink or grow a run; the
defaults are the sizes the chapter shows. Every run uses fixed seeds (``0 .. repeat-1``),
so the same command prints the same numbers. Nothing is asserted here: the small-size
versions with their tolerances are ``tests/test_reproductions.py`` and, for the open
swarms, ``tests/test_repro_open.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

import attrs  # noqa: E402

from btref.actions import Config  # noqa: E402
from btref.sim import scenarios  # noqa: E402
from btref.sim.compare import mean_ci  # noqa: E402
from btref.sim.metrics import completion_times, partner_debts  # noqa: E402
from btref.wire import BLOCK_SIZE  # noqa: E402

STATIC = ROOT / "docs" / "_static"


def _save(fig: Any, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"repro-{name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"figure: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _cpu() -> float:
    return time.process_time()


def _summary(cache: Path | None, scenario: str, peers: int, pieces: int, *, picker: str = "rarest-first",
             seed: int = 0) -> dict[str, Any]:
    """The summary of one run (with its leechers' download times by tag), kept in ``cache``
    (a JSON file) if given, so that a long experiment can be run in parts: each shell
    command on this project's machine must end within 10 minutes."""
    key = f"{scenario}:{peers}:{pieces}:{picker}:{seed}"
    known: dict[str, dict[str, Any]] = json.loads(cache.read_text()) if cache and cache.exists() else {}
    if key not in known:
        _, m = scenarios.run(scenario, peers=peers, pieces=pieces, picker=picker, seed=seed)
        known[key] = {**m["summary"], "piece_length": m["piece_length"],
                      "seed_upload": m["peers"][0]["upload_capacity"],
                      "riders": completion_times(m, "free-rider"),
                      "contributors": sorted(p["download_time"] for p in m["peers"] if not p["seed"]
                                             and not p["tags"] and p["download_time"] is not None)}
        if cache:
            cache.write_text(json.dumps(known, indent=1) + "\n")
    return known[key]


# -- 1. the flash-crowd bound ------------------------------------------------------------------


def bound(args: argparse.Namespace) -> None:
    """Client-server's last completion over N F / u_s; the swarm's over Kurose and Ross's bound."""
    sizes = [int(n) for n in args.peers.split(",")]
    pieces = [int(p) for p in args.pieces.split(",")]
    print(f"{'N':>5} {'pieces':>6}  {'client-server / (N F/u_s)':>25}  {'swarm / bound':>13}  {'cpu s':>6}")
    rows: dict[str, list[tuple[int, float]]] = {}
    for m_pieces in pieces:
        for n in sizes:
            if n * m_pieces > args.max_blocks:
                print(f"{n:>5} {m_pieces:>6}  skipped: more than --max-blocks {args.max_blocks} peer-pieces")
                continue
            start = _cpu()
            cs = None
            if m_pieces == pieces[0]:  # a server's time is proportional to the file: one size shows it
                server = _summary(args.cache, "client-server", n, m_pieces)
                nf_us = n * m_pieces * server["piece_length"] / server["seed_upload"]
                cs = server["last_completion"] / nf_us
                rows.setdefault(f"client-server, {m_pieces} pieces", []).append((n, cs))
            over = _summary(args.cache, "flash-crowd", n, m_pieces)["over_bound"]
            rows.setdefault(f"rarest first + tit for tat, {m_pieces} pieces", []).append((n, over))
            shown = "-" if cs is None else f"{cs:.4f}"
            print(f"{n:>5} {m_pieces:>6}  {shown:>25}  {over:>13.3f}  {_cpu() - start:>6.1f}", flush=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, points in rows.items():
        style = "s--" if label.startswith("client") else "o-"
        ax.plot([n for n, _ in points], [y for _, y in points], style, label=label)
    ax.axhline(1.5, color="grey", linestyle=":", label="1.5x (the claim)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("leechers N (flash crowd, one seed)")
    ax.set_ylabel("last completion / its bound")
    ax.set_title("Flash crowd: measured over bound (client-server: over N F / u_s)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    _save(fig, args.out, "bound")


# -- 2. rarest first, random, sequential and the seed's capacity --------------------------------


PICKERS = ("rarest-first", "random", "sequential")


def pickers(args: argparse.Namespace) -> None:
    """Mean download time per picker, with a seed as fast as a leecher and with a 10x seed."""
    results: dict[str, list[dict[str, Any]]] = {}
    for scenario in ("seed-as-leecher", "seed-10x"):
        start = _cpu()
        rows = []
        for picker in PICKERS:
            runs = [_summary(args.cache, scenario, int(args.peers), int(args.pieces), picker=picker, seed=seed)
                    for seed in range(args.repeat)]
            mean, ci = mean_ci([r["mean_download_time"] for r in runs])
            rows.append({"picker": picker, "mean": mean, "ci": ci, "completed": sum(r["completed"] for r in runs),
                         "leechers": sum(r["leechers"] for r in runs)})
        results[scenario] = rows
        means = {r["picker"]: r["mean"] for r in rows}
        print(f"{scenario} ({args.peers} peers, {args.pieces} pieces, seeds 0..{args.repeat - 1}, "
              f"{_cpu() - start:.0f} cpu s)")
        for r in rows:
            print(f"  {r['picker']:<13} mean download {r['mean']:7.1f} s ± {r['ci'] or 0:5.1f}  "
                  f"done {r['completed']}/{r['leechers']}")
        print(f"  random over rarest first: {means['random'] / means['rarest-first']:.3f}", flush=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    width = 0.27
    for i, picker in enumerate(PICKERS):
        rows = [next(r for r in results[s] if r["picker"] == picker) for s in results]
        ax.bar([x + (i - 1) * width for x in range(len(rows))], [r["mean"] for r in rows], width,
               yerr=[r["ci"] or 0 for r in rows], capsize=4, label=picker)
    ax.set_xticks(range(len(results)), ["seed uploads as a leecher", "seed uploads 10x a leecher"])
    ax.set_ylabel("mean download time (s), 95% CI")
    ax.set_title(f"{args.peers} peers, {args.pieces} pieces, {args.repeat} runs per bar")
    ax.legend(fontsize="small")
    fig.tight_layout()
    _save(fig, args.out, "pickers")


# -- 3. free riders ----------------------------------------------------------------------------------


def free_riders(args: argparse.Namespace) -> None:
    """Free riders' and contributors' download times, one seed vs many seeds and neighbours."""
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), sharey=True)
    for ax, scenario in zip(axes, ("free-riders", "free-riders-seeded")):
        start = _cpu()
        riders: list[float] = []
        contributors: list[float] = []
        ratios = []
        for seed in range(args.repeat):
            run = _summary(args.cache, scenario, int(args.peers), int(args.pieces), seed=seed)
            ratios.append(statistics.fmean(run["riders"]) / statistics.fmean(run["contributors"]))
            riders += run["riders"]
            contributors += run["contributors"]
        ratio = statistics.fmean(riders) / statistics.fmean(contributors)
        mean, ci = mean_ci(ratios)
        print(f"{scenario} ({args.peers} peers, {args.pieces} pieces, seeds 0..{args.repeat - 1}, "
              f"{_cpu() - start:.0f} cpu s): free riders {statistics.fmean(riders):.1f} s, contributors "
              f"{statistics.fmean(contributors):.1f} s, pooled ratio {ratio:.3f}, per-run ratio {mean:.3f} "
              f"± {ci or 0:.3f}; completed {len(riders)} + {len(contributors)}", flush=True)
        for label, times in (("contributors", sorted(contributors)), ("free riders", sorted(riders))):
            ax.step(times, [(i + 1) / len(times) for i in range(len(times))], where="post", label=label)
        ax.set_title(f"{scenario}: ratio {ratio:.2f}")
        ax.set_xlabel("download time (s)")
        ax.legend(fontsize="small", loc="lower right")
    axes[0].set_ylabel("fraction of peers done")
    fig.tight_layout()
    _save(fig, args.out, "free-riders")


# -- 4. tit-for-tat fairness ------------------------------------------------------------------------


#: (choker, seconds between rechokes): rate-based and block-level tit for tat at mainline's
#: 10 s, and block-level checked every second, nearer the paper's check before every block.
FAIRNESS = (("tit-for-tat", 10.0), ("block-tit-for-tat", 10.0), ("block-tit-for-tat", 1.0))


def _classes(cache: Path | None, peers: int, pieces: int, choker: str, rechoke: float, seed: int
             ) -> dict[str, dict[str, Any]]:
    """Per upload class of ``upload-classes``: each peer's share ratio (bytes up / bytes
    down), download time, blocks received from the seed, leechers it traded with and the
    most blocks one of them ended owing it (what it sent that one minus what it got back),
    kept in ``cache`` as :func:`_summary` does."""
    key = f"upload-classes:{peers}:{pieces}:{choker}:{rechoke}:{seed}"
    known: dict[str, Any] = json.loads(cache.read_text()) if cache and cache.exists() else {}
    if key not in known:
        params = scenarios.Params(peers, pieces, choker=choker, seed=seed)
        build = scenarios.get("upload-classes").build
        assert build is not None  # a swarm scenario, not a runner
        setup = build(params)
        setup = attrs.evolve(setup, options={**setup.options, "config": Config(rechoke_interval=rechoke),
                                             "tick_interval": min(1.0, rechoke)})
        _, m = scenarios.play("upload-classes", params, setup)
        leechers = [p for p in m["peers"] if not p["seed"]]
        seeds = {p["name"] for p in m["peers"] if p["seed"]}
        debts = partner_debts(m)
        known[key] = {name: {"ratios": [p["share_ratio"] for p in leechers if name in p["tags"]],
                             "times": [p["download_time"] for p in leechers if name in p["tags"]],
                             "from_seed": [sum(n for k, n in p["down_from"].items() if k in seeds) // BLOCK_SIZE
                                           for p in leechers if name in p["tags"]],
                             "partners": [len(debts[p["name"]]) for p in leechers if name in p["tags"]],
                             "most_owed": [max(debts[p["name"]].values(), default=0) // BLOCK_SIZE
                                           for p in leechers if name in p["tags"]]}
                      for name in scenarios.UPLOAD_CLASSES}
        if cache:
            cache.write_text(json.dumps(known, indent=1) + "\n")
    result: dict[str, dict[str, Any]] = known[key]
    return result


def fairness(args: argparse.Namespace) -> None:
    """Share ratio and download time per upload class, rate-based vs block-level tit for tat."""
    classes = list(scenarios.UPLOAD_CLASSES)
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    for choker, rechoke in FAIRNESS:
        start = _cpu()
        label = f"{choker}, rechoke {rechoke:g} s"
        runs = [_classes(args.cache, int(args.peers), int(args.pieces), choker, rechoke, seed)
                for seed in range(args.repeat)]
        rows[label] = {}
        print(f"{label} (seeds 0..{args.repeat - 1})")
        for name in classes:
            def pooled(field: str) -> list[Any]:
                return [v for run in runs for v in run[name][field] if v is not None]
            per_run = [statistics.fmean(r for r in run[name]["ratios"] if r is not None) for run in runs]
            ratio, ratio_ci = statistics.fmean(per_run), mean_ci(per_run)[1]
            done = pooled("times")
            rows[label][name] = (ratio, statistics.fmean(done))
            print(f"  {name:<6} share ratio {ratio:5.2f} ± {ratio_ci or 0:4.2f}  download {statistics.fmean(done):6.1f} s"
                  f"  done {len(done)}/{sum(len(run[name]['times']) for run in runs)}  from seed "
                  f"{statistics.fmean(pooled('from_seed')):5.1f}  partners {statistics.fmean(pooled('partners')):4.1f}"
                  f"  most owed {max(pooled('most_owed')):4d} blocks")
        print(f"  ({_cpu() - start:.0f} cpu s)", flush=True)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.0))
    width = 0.8 / len(rows)
    for i, (label, by_class) in enumerate(rows.items()):
        xs = [x + (i - (len(rows) - 1) / 2) * width for x in range(len(classes))]
        for ax, column in zip(axes, (0, 1)):
            ax.bar(xs, [by_class[name][column] for name in classes], width, label=label)
    for ax, title in zip(axes, ("mean share ratio (up / down)", "mean download time (s)")):
        ax.set_xticks(range(len(classes)), [f"{name}\n({scenarios.UPLOAD_CLASSES[name]} blocks/s up)"
                                             for name in classes])
        ax.set_title(title)
    axes[0].axhline(1.0, color="grey", linestyle=":")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"upload-classes: {args.peers} peers, {args.pieces} pieces, {args.repeat} runs per bar",
                 fontsize="medium")
    fig.tight_layout()
    _save(fig, args.out, "fairness")


# -- 5. an open swarm against Qiu and Srikant's fluid model ------------------------------------


def _open_run(cache: Path | None, scenario: str, pieces: int, picker: str, seed: int,
              params: dict[str, float]) -> dict[str, Any]:
    """One open-swarm run's time averages, model and census (kept in ``cache`` as ``_summary``)."""
    key = f"{scenario}:{pieces}:{picker}:{seed}:{json.dumps(params, sort_keys=True)}"
    known: dict[str, dict[str, Any]] = json.loads(cache.read_text()) if cache and cache.exists() else {}
    if key not in known:
        start = _cpu()
        _, m = scenarios.run(scenario, pieces=pieces, picker=picker, seed=seed, open_swarm=params)
        known[key] = {"open": m["open"], "model": m["model"], "model_measured_eta": m["model_measured_eta"],
                      "population": m["population"], "rarest": m["rarest_holders"], "club": m["one_club"],
                      "holders_at_end": m["holders_at_end"], "cpu": _cpu() - start,
                      # Copies of the file each leecher downloaded (end game duplicates included).
                      "bytes_down": statistics.fmean(p["bytes_down"] for p in m["peers"] if not p["seed"]
                                                     and p["completed"] is not None
                                                     and p["arrived"] >= m["open_swarm"]["warm_up"])
                      / (pieces * m["piece_length"])}
        if cache:
            cache.write_text(json.dumps(known) + "\n")
    return known[key]


#: Qiu and Srikant's two regimes, as open-swarm parameters (rates in blocks/s, the rest
#: :class:`btref.sim.open_swarm.OpenSwarm`'s defaults: arrivals 1/s for 600 s, leechers
#: upload 4 and download 16, the origin seed uploads 8). Upload-limited: finished peers
#: leave at once. Download-limited: they seed for a mean of 60 s (so a warm-up of five
#: times that), and leechers download at 8 blocks/s.
REGIMES = {"upload-limited": {"seed_time": 0.0},
           "download-limited": {"seed_time": 60.0, "download": 8.0, "warm_up": 300.0}}
#: Request queues: the engine's default, and short ones that start end game later.
QUEUES = {"default queues": {}, "short queues": {"min_queue": 1, "pipeline_seconds": 0.5}}


def qiu_srikant(args: argparse.Namespace) -> None:
    """Time-averaged leechers, seeds and download time of an open swarm against the fluid model."""
    fig, axes = plt.subplots(1, len(REGIMES), figsize=(8.6, 3.8))
    print(f"{'regime, queues':<33} {'x':>6} {'y':>6} {'T (s)':>6}  {'x/model':>7} {'y/model':>7} {'T/model':>7}"
          f"  {'eta':>5} {'copies':>6} {'unchoked by':>11} {'end game at':>11} {'cpu s':>5}")
    for ax, (regime, params) in zip(axes, REGIMES.items()):
        for queues, queue in QUEUES.items():
            runs = [_open_run(args.cache, "open", int(args.pieces), "rarest-first", seed, {**params, **queue})
                    for seed in range(args.repeat)]
            sim = {k: statistics.fmean(r["open"][f] for r in runs)
                   for k, f in (("x", "leechers_mean"), ("y", "seeds_mean"), ("T", "download_time_mean"),
                                ("eta", "eta"))}
            model = runs[0]["model"]
            if queues == "default queues":
                print(f"{'  model (eta 1, ' + model['regime'] + ')':<33} {model['leechers']:>6.1f} "
                      f"{model['seeds']:>6.1f} {model['download_time']:>6.1f}")
            y_ratio = f"{sim['y'] / model['seeds']:>7.3f}" if model["seeds"] else f"{'-':>7}"
            print(f"  {regime + ', ' + queues:<31} {sim['x']:>6.1f} {sim['y']:>6.1f} {sim['T']:>6.1f}  "
                  f"{sim['x'] / model['leechers']:>7.3f} {y_ratio} {sim['T'] / model['download_time']:>7.3f}  "
                  f"{sim['eta']:>5.2f} {statistics.fmean(r['bytes_down'] for r in runs):>6.2f} "
                  f"{statistics.fmean(r['open']['unchoking_mean'] for r in runs):>11.1f} "
                  f"{statistics.fmean(r['open']['endgame_missing_mean'] for r in runs):>11.1f} "
                  f"{sum(r['cpu'] for r in runs):>5.0f}", flush=True)
            population = runs[0]["population"]
            times = [t for t, _, _ in population]
            line = "-" if queues == "default queues" else ":"
            ax.plot(times, [x for _, x, _ in population], "C0" + line, label=f"leechers, {queues}")
            if model["seeds"]:
                ax.plot(times, [y for _, _, y in population], "C1" + line, label=f"seeds, {queues}")
        ax.axhline(model["leechers"], color="C0", linestyle="--", label="fluid model")
        if model["seeds"]:
            ax.axhline(model["seeds"], color="C1", linestyle="--")
        ax.axvspan(0, float(params.get("warm_up", 200.0)), color="grey", alpha=0.15)
        ax.set_title(f"{regime} (shaded: warm-up)", fontsize="medium")
        ax.set_xlabel("time (s); arrivals stop at 600 s")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("peers present")
    fig.tight_layout()
    _save(fig, args.out, "qiu-srikant")


# -- 6. the missing piece syndrome --------------------------------------------------------------


def missing_piece(args: argparse.Namespace) -> None:
    """Population over time with an origin seed of 1.5x and 0.5x the arrival rate, both pickers."""
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), sharey=True)
    print(f"{'seed/arrivals':>13} {'picker':<13} {'leechers at 300 s':>17} {'growth /s':>9} "
          f"{'rarest piece held':>17} {'one club':>8}  cpu s")
    for ax, picker in zip(axes, ("rarest-first", "random")):
        for rate in (1.5, 0.5):
            params = {"seed_upload": rate}
            r = _open_run(args.cache, "missing-piece", int(args.pieces), picker, 0, params)
            population = r["population"]
            times = [t for t, _, _ in population]
            leechers = [x for _, x, _ in population]
            late = [(t, x) for t, x in zip(times, leechers) if 100.0 <= t <= 300.0]
            slope = statistics.linear_regression([t for t, _ in late], [x for _, x in late]).slope
            at_horizon = late[-1][1]
            print(f"{rate:>13} {picker:<13} {at_horizon:>17} {slope:>9.3f} "
                  f"{r['open']['rarest_share_mean']:>17.1%} {r['open']['one_club_share_mean']:>8.1%}  "
                  f"{r['cpu']:.0f}", flush=True)
            ax.plot(times, leechers, label=f"seed {rate}x the arrivals")
        ax.axvline(300.0, color="grey", linestyle=":")
        ax.set_title(picker, fontsize="medium")
        ax.set_xlabel("time (s); arrivals 1/s until 300 s")
        ax.legend(fontsize="small")
    axes[0].set_ylabel("leechers present")
    fig.tight_layout()
    _save(fig, args.out, "missing-piece")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="experiment", required=True)
    for name, run, peers, pieces, repeat in (("bound", bound, "16,128,1024", "64,256", 1),
                                              ("pickers", pickers, "200", "100", 3),
                                              ("free-riders", free_riders, "60", "200", 8),
                                              ("fairness", fairness, "60", "800", 3),
                                              ("qiu-srikant", qiu_srikant, "-", "100", 1),
                                              ("missing-piece", missing_piece, "-", "40", 1)):
        p = sub.add_parser(name, help=(run.__doc__ or "").split("\n")[0])
        if peers != "-":  # an open swarm's arrivals set its number of peers
            p.add_argument("--peers", default=peers, help=f"leechers (default {peers})")
        p.add_argument("--pieces", default=pieces, help=f"pieces of 16 KiB (default {pieces})")
        if name != "missing-piece":  # one run per curve: the figure shows one population each
            p.add_argument("--repeat", type=int, default=repeat, help=f"runs, seeds 0..repeat-1 (default {repeat})")
        p.add_argument("--out", type=Path, default=STATIC, help="folder for the PNG (default docs/_static)")
        p.add_argument("--cache", type=Path, help="JSON file keeping each run's summary: run in parts")
        if name == "bound":
            p.add_argument("--max-blocks", type=int, default=1024 * 256, help="skip sizes with more peers x pieces")
        p.set_defaults(run=run)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
