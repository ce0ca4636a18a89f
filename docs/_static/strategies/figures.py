"""Make the figures of the strategy chapters (docs/plugins/*/<name>.md) with btref's simulator.

Run from the project root: ``.venv/bin/python docs/_static/strategies/figures.py [NAME ...]``.
Every run is seeded, so the same command draws the same figures. Each figure is one or a few
runs of :mod:`btref.sim` (the real engine and the plugins named, on a virtual clock).
The numbers the chapters quote come from these figures; when the engine or the simulator
changes, rerun this script and update the chapters' "What the simulator shows" sections.
"""

from __future__ import annotations

import statistics
import sys
from multiprocessing import Pool
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from btref.wire import BLOCK_SIZE as BLOCK  # noqa: E402
from btref.sim.metrics import summarize  # noqa: E402
from btref.sim.scenarios import run  # noqa: E402
from btref.sim.swarm import PeerSpec, Swarm  # noqa: E402
from btref.sim.virtual import virtual_torrent  # noqa: E402

OUT = Path(__file__).resolve().parent
B = float(BLOCK)
plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "btref", "font.size": 9})  # same run, same file


def save(fig, name):
    fig.tight_layout()
    fig.savefig(OUT / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)
    print("wrote", OUT / f"{name}.svg")


def cdf(ax, times, label, **style):
    times = sorted(times)
    ax.step(times, [(i + 1) / len(times) for i in range(len(times))], where="post", label=label, **style)
    ax.set_xlabel("download time (virtual s)")
    ax.set_ylabel("fraction of peers done")


def mixed(chokers, *, peers=40, pieces=800, seed=0):
    """A flash crowd whose leechers run ``chokers`` in turn, with uploads of 2, 4 and 8 blocks/s."""
    specs = [PeerSpec("S", upload=8 * B, download=32 * B, seed=True)]
    for i in range(peers):
        choker = chokers[i % len(chokers)]
        specs.append(PeerSpec(f"P{i:02d}", upload=(2, 4, 8)[(i // len(chokers)) % 3] * B, download=32 * B,
                              choker=choker, tags=(choker,)))
    swarm = Swarm(virtual_torrent(pieces, BLOCK, name="mixed"), specs, seed=seed, degree=20)
    return summarize(swarm, swarm.run(until=3600.0))


def scenario(args):
    name, kwargs = args
    swarm, metrics = run(name, **kwargs)
    if kwargs.get("record_transfers"):
        metrics["transfers"] = swarm.transfers
    return metrics


def mixed_job(args):
    chokers, seed = args
    return mixed(chokers, seed=seed)


def piece_times(transfers, blocks):
    """Per piece: when some leecher first held all ``blocks`` blocks of it."""
    got: dict[tuple[str, int], int] = {}
    first: dict[int, float] = {}
    for t, _src, dst, index in transfers:
        got[dst, index] = got.get((dst, index), 0) + 1
        if got[dst, index] == blocks:
            first.setdefault(index, t)
    return sorted(first.values())


# weak-seed with 16-block (256 KiB) pieces: a run of 30 peers and 60 pieces takes about 20 s.
WEAK_PEERS, WEAK_PIECES = 30, 60


def fig_random(pool):
    jobs = [("weak-seed", {"picker": p, "peers": WEAK_PEERS, "pieces": WEAK_PIECES, "seed": 1,
                           "record_transfers": True}) for p in ("rarest-first", "random")]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for m in pool.map(scenario, jobs):
        times = piece_times(m["transfers"], m["piece_length"] // BLOCK)
        s = m["summary"]
        from_seed = sum(1 for _t, src, _dst, _i in m["transfers"] if src == "S")
        ax.step(times, range(1, len(times) + 1), where="post",
                label=f"{m['picker']}: seed sent {from_seed} blocks (new {s['seed_unique_share']:.2f}), "
                      f"all out {s['all_replicated_at']:.0f} s")
    ax.plot([0, WEAK_PIECES], [0, WEAK_PIECES], ":", color="grey", label="ideal: the seed sends each piece once")
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel("pieces some leecher\nholds whole")
    ax.set_title(f"weak-seed (seed: one 256 KiB piece/s), {WEAK_PEERS} peers, {WEAK_PIECES} pieces")
    ax.legend(fontsize=7)
    save(fig, "random")


def prefix_times(transfers, pieces):
    """Per peer: when its in-order prefix first reached each length."""
    got, out = {}, {}
    for t, _src, dst, index in transfers:
        have = got.setdefault(dst, set())
        have.add(index)
        line = out.setdefault(dst, [])
        while len(line) < pieces and len(line) in have:
            line.append(t)
    return out


def fig_sequential(pool):
    pieces = 200
    jobs = [("flash-crowd", {"picker": p, "peers": 30, "pieces": pieces, "seed": 2, "record_transfers": True})
            for p in ("rarest-first", "sequential")]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for m in pool.map(scenario, jobs):
        lines = [line for line in prefix_times(m["transfers"], pieces).values() if len(line) == pieces]
        median = [statistics.median(line[k] for line in lines) for k in range(pieces)]
        mean = m["summary"]["mean_download_time"]
        ax.plot(median, range(1, pieces + 1), label=f"{m['picker']} (mean download {mean:.0f} s)")
    ax.set_xlabel("virtual time (s)")
    ax.set_ylabel("pieces playable in order\n(median peer)")
    ax.set_title("flash-crowd, 30 peers, 200 pieces")
    ax.legend()
    save(fig, "sequential")


def fig_seed_round_robin(pool):
    jobs = [("weak-seed", {"choker": c, "peers": WEAK_PEERS, "pieces": 2 * WEAK_PIECES, "seed": 3})
            for c in ("tit-for-tat", "seed-round-robin")]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for m in pool.map(scenario, jobs):
        kib = sorted((p["down_from"].get("S", 0) / 1024 for p in m["peers"] if not p["seed"]), reverse=True)
        spread = statistics.pstdev(kib) / statistics.fmean(kib)
        mean = m["summary"]["mean_download_time"]
        ax.step(range(1, len(kib) + 1), kib, where="mid",
                label=f"{m['choker']} (spread {spread:.2f}, mean download {mean:.0f} s)")
    ax.set_xlabel("leechers, most served first")
    ax.set_ylabel("KiB the seed sent\nto the peer")
    ax.set_title(f"weak-seed, {WEAK_PEERS} peers, {2 * WEAK_PIECES} pieces of 256 KiB (spread: stdev / mean)")
    ax.legend()
    save(fig, "seed-round-robin")


def fig_mixed(pool, chokers, name, seeds=(0, 1, 2)):
    runs = pool.map(mixed_job, [(chokers, s) for s in seeds])
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for choker in chokers:
        times = [p["download_time"] for m in runs for p in m["peers"] if choker in p["tags"] and p["download_time"]]
        ratio = statistics.fmean(p["share_ratio"] for m in runs for p in m["peers"]
                                 if choker in p["tags"] and p["share_ratio"] is not None)
        cdf(ax, times, f"{choker}: mean {statistics.fmean(times):.0f} s, up/down {ratio:.2f}")
    ax.set_title(f"flash crowd, 40 peers ({' / '.join(chokers)} in turn), 800 pieces, {len(seeds)} runs")
    ax.legend()
    save(fig, name)


def fig_unchoke_all(pool):
    jobs = [("flash-crowd", {"choker": c, "seed": s}) for c in ("tit-for-tat", "unchoke-all") for s in (0, 1, 2)]
    runs = pool.map(scenario, jobs)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for choker in ("tit-for-tat", "unchoke-all"):
        times = [p["download_time"] for m in runs if m["choker"] == choker for p in m["peers"] if p["download_time"]]
        cdf(ax, times, f"{choker}: mean {statistics.fmean(times):.0f} s")
    ax.set_title("flash-crowd, 50 peers, 100 pieces, 3 runs")
    ax.legend()
    save(fig, "unchoke-all")


def fig_free_rider(pool):
    jobs = [("free-riders", {"choker": c, "seed": s}) for c in ("tit-for-tat", "unchoke-all") for s in (0, 1, 2)]
    runs = pool.map(scenario, jobs)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for choker, style in (("tit-for-tat", "-"), ("unchoke-all", "--")):
        for rider in (False, True):
            times = [p["download_time"] for m in runs if m["choker"] == choker for p in m["peers"]
                     if p["download_time"] and ("free-rider" in p["tags"]) == rider and not p["seed"]]
            label = f"{'free-riders' if rider else 'others'} among {choker}: mean {statistics.fmean(times):.0f} s"
            cdf(ax, times, label, linestyle=style)
    ax.set_title("free-riders, 50 peers (a quarter ride free), 100 pieces, 3 runs")
    ax.legend(fontsize=7)
    save(fig, "free-rider")


FIGURES = {
    "random": fig_random,
    "sequential": fig_sequential,
    "seed-round-robin": fig_seed_round_robin,
    "bittyrant": lambda pool: fig_mixed(pool, ("tit-for-tat", "bittyrant"), "bittyrant"),
    "propshare": lambda pool: fig_mixed(pool, ("tit-for-tat", "bittyrant", "propshare"), "propshare"),
    "unchoke-all": fig_unchoke_all,
    "free-rider": fig_free_rider,
}

if __name__ == "__main__":
    with Pool(4) as pool:
        for name in sys.argv[1:] or FIGURES:
            FIGURES[name](pool)
