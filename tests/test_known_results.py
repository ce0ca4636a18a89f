"""Known results of the BitTorrent literature, reproduced by the simulator as tests.

Each test states its tolerance. The runs are small (tens of peers and pieces) so the file
stays a CI test; they are deterministic (fixed seeds), so a tolerance is a statement about
the model, never a retry budget. ``btref compare`` runs the same experiments bigger.
"""

from __future__ import annotations

import statistics

import pytest

from btref.sim import scenarios
from btref.sim.metrics import completion_times


@pytest.mark.parametrize("picker", ["rarest-first", "random"])
@pytest.mark.parametrize("name", ["flash-crowd", "weak-seed", "client-server", "steady-arrivals"])
def test_no_run_beats_the_lower_bound(name: str, picker: str) -> None:
    """Kurose and Ross: max(F/u_s, F/d_min, N F/(u_s + sum u_i)) bounds the distribution time.

    Tolerance: none (the model never moves a byte faster than a link allows). Every peer
    also needs at least F/d of its own download time.
    """
    _, m = scenarios.run(name, peers=8, pieces=12, picker=picker, seed=5)
    s, size = m["summary"], m["pieces"] * m["piece_length"]
    assert s["completed"] == s["leechers"]
    if name != "steady-arrivals":  # the bound assumes everybody is there from the start
        assert s["last_completion"] >= s["lower_bound"]
    for p in m["peers"]:
        if p["download_time"] is not None:
            assert p["download_time"] >= size / p["download_capacity"]


def test_flash_crowd_stays_near_the_bound_while_client_server_grows_linearly() -> None:
    """A swarm scales, a server does not (Kurose and Ross; Qiu and Srikant 2004).

    Tolerance: the flash crowd (rarest-first + tit-for-tat) finishes within 3x the lower
    bound at every size and grows by less than 1.5x from 10 to 40 peers; client-server's
    last completion grows 4x +- 15% when the peers go from 10 to 40 (linear in N).
    (With very few pieces the fixed start-up costs, a first rechoke and a first piece to
    trade, weigh more: 20 pieces and 5 -> 20 peers grows the swarm's time about 1.9x.)
    """
    swarm, server = {}, {}
    for n in (10, 40):
        _, m = scenarios.run("flash-crowd", peers=n, pieces=40, seed=0)
        assert m["summary"]["over_bound"] <= 3.0
        swarm[n] = m["summary"]["last_completion"]
        _, m = scenarios.run("client-server", peers=n, pieces=40, seed=0)
        server[n] = m["summary"]["last_completion"]
    assert swarm[40] / swarm[10] < 1.5
    assert 4 * 0.85 <= server[40] / server[10] <= 4 * 1.15
    assert server[40] > 5 * swarm[40]


def _rarest_copies(picker: str, seeds: range) -> float:
    runs = [scenarios.run("weak-seed", peers=20, pieces=30, picker=picker, seed=seed)[1] for seed in seeds]
    return statistics.fmean(m["summary"]["rarest_copies_mean"] for m in runs)


def test_rarest_first_keeps_the_rarest_piece_replicated_under_a_weak_seed() -> None:
    """Rarest first spreads what is rare (Cohen 2003; Legout et al. 2006).

    Metric: copies of the rarest piece, averaged over the run and over seeds 0, 1, 2
    (20 peers, 30 pieces, a seed 4x slower than each peer).

    What reproduces, and is asserted: sequential, which ignores rarity, trails rarest
    first by at least 15% (about 33% here). Rarest first stays within 15% of random.

    What does *not* reproduce in this model, and is therefore not asserted: rarest first
    strictly ahead of random. The two are within noise (2.75 against 2.72 on these seeds;
    at 12 peers and 24 pieces random is ahead, 2.61 against 2.33). The peers trade four
    times faster than the weak seed, so every piece that leaves the seed is everywhere
    within seconds and both pickers spend the run asking the seed for the same seed-only
    pieces: the rarest piece is the seed's newest whatever the picker. Counting copies
    among leechers only, or the entropy, does not separate them either. See the
    "Comparing strategies" chapter for how to explore regimes where it might.
    """
    rarest, rand = _rarest_copies("rarest-first", range(3)), _rarest_copies("random", range(3))
    seq = _rarest_copies("sequential", range(1))
    assert rarest >= 0.85 * rand
    assert seq * 1.15 <= rarest


def test_free_riders_finish_later_than_contributors_under_tit_for_tat() -> None:
    """Tit for tat rewards uploaders (Cohen 2003, section 3.1; Jun and Ahamad 2005).

    A quarter of the peers use the ``free-rider`` choker (they never upload). They still
    finish (optimistic unchokes and the seed feed them) but later. Tolerance: for each of
    seeds 0, 1, 2 the free riders' mean download time exceeds the contributors' (by 7% to
    30% in this model, 12 peers and 300 pieces).

    The download must last several rechoke periods (10 s) for tit for tat to tell
    contributors from free riders: with 30 pieces everybody is done in about 13 s, after
    one or two rechokes decided on rates that are all still zero, and the free riders come
    out level with the others. Peers leave as soon as they complete, so a free rider cannot
    simply wait for the contributors to become seeds.
    """
    riders, contributors = [], []
    for seed in range(3):
        _, m = scenarios.run("free-riders", peers=12, pieces=300, seed=seed)
        assert m["summary"]["completed"] == 12
        mine = completion_times(m, "free-rider")
        others = [p["download_time"] for p in m["peers"] if not p["seed"] and not p["tags"]]
        assert statistics.fmean(mine) > statistics.fmean(others), seed
        riders += completion_times(m, "free-rider")
        contributors += [p["download_time"] for p in m["peers"] if not p["seed"] and not p["tags"]]
    assert statistics.fmean(riders) > statistics.fmean(contributors)
