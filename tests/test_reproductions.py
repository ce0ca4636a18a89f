"""The Reproductions chapter (``docs/reproductions.md``) in small sizes: tolerance tests.

Each test is the small version of one experiment of ``bench/repro.py``; its docstring says
the paper's claim, the size run here, the tolerance and why it is that wide. Runs are
deterministic (fixed seeds), so a tolerance states how close the model is to the claim,
never a retry budget. The numbers quoted were measured with the calls in the tests.
"""

from __future__ import annotations

import statistics

from btref.sim import scenarios
from btref.sim.metrics import completion_times


def test_client_server_takes_n_f_over_u_s() -> None:
    """Kurose and Ross: a server alone needs N F / u_s to give a file of F to N clients.

    Claim: client-server equals N F / u_s within 1%. Run: ``client-server``, 64 one-block
    pieces, N = 16 and 128 (the chapter adds 1,024). Measured: 128.25 s against 128 s and
    1024.25 s against 1024 s; the quarter second is the last block's trip (latency and its
    request). Tolerance: 1%, the claim's own; the model has no other overhead to absorb.
    """
    for n in (16, 128):
        _, m = scenarios.run("client-server", peers=n, pieces=64, seed=0)
        seed_upload = m["peers"][0]["upload_capacity"]
        expected = n * m["pieces"] * m["piece_length"] / seed_upload
        assert m["summary"]["completed"] == n
        assert abs(m["summary"]["last_completion"] / expected - 1) <= 0.01, n


def test_flash_crowd_within_one_and_a_half_times_the_bound() -> None:
    """Mundinger: rarest first and tit for tat come close to the distribution bound.

    Claim: within 1.5x of max(F/u_s, F/d_min, N F/(u_s + sum u_i)) for 64 or more pieces.
    btref agrees from 256 pieces (N = 16: 1.25, 1.17 and 1.30 on seeds 0 to 2; the chapter:
    1.36 at N = 128) but not at 64 (1.57 at N = 16): the first rechoke, the seed's first
    pieces and the last piece's trip are a fixed cost of several seconds that 64 pieces (a
    bound of 14 s) do not amortise. Tolerance here: 1.5x at 256 pieces on seeds 0 to 2,
    and at 64 pieces above 1.0x (no run beats the bound) and below 2x, so the
    disagreement the chapter states stays what it says.
    """
    for seed in range(3):
        _, m = scenarios.run("flash-crowd", peers=16, pieces=256, seed=seed)
        assert m["summary"]["completed"] == 16
        assert 1.0 <= m["summary"]["over_bound"] <= 1.5, seed
    _, m = scenarios.run("flash-crowd", peers=16, pieces=64, seed=0)
    assert 1.0 <= m["summary"]["over_bound"] < 2.0


PICKER_PEERS, PICKER_PIECES = 40, 50


def _mean_time(scenario: str, picker: str, seeds: range, peers: int = PICKER_PEERS) -> float:
    runs = [scenarios.run(scenario, peers=peers, pieces=PICKER_PIECES, picker=picker, seed=s)[1]
            for s in seeds]
    assert all(m["summary"]["completed"] == peers for m in runs)
    return statistics.fmean(m["summary"]["mean_download_time"] for m in runs)


def test_rarest_first_beats_random_beats_sequential_with_a_slow_seed() -> None:
    """Bharambe, Herley and Padmanabhan 2006; Legout et al. 2006: piece selection matters
    when the seed is the bottleneck.

    Claim: with a seed as fast as a leecher, rarest first <= random < sequential in mean
    download time (at 200+ peers; the chapter runs 200). Run here: ``seed-as-leecher``,
    80 peers, 50 pieces, seeds 0 and 1 (sequential: seed 0, it is twice as slow). Measured,
    means over the seeds: rarest first 24.7 s, random 26.4 s (7.2% behind), sequential
    51.8 s (2.0x random); over seeds 0 to 3, 9.2%, rarest first ahead on each. At 40 peers
    the gap is 7.3% over six seeds, rarest first ahead on each. Tolerance: random at least
    2% behind rarest first (the claim is only an order; 2% keeps under a third of the
    measured margin, so a tie fails) and sequential at least 1.5x behind random.
    """
    rarest = _mean_time("seed-as-leecher", "rarest-first", range(2), peers=80)
    rand = _mean_time("seed-as-leecher", "random", range(2), peers=80)
    seq = _mean_time("seed-as-leecher", "sequential", range(1), peers=80)
    assert rarest * 1.02 <= rand
    assert rand * 1.5 <= seq


def test_a_ten_times_faster_seed_closes_the_pickers_gap() -> None:
    """Bharambe et al. 2006: with a fast seed, random picking does about as well as rarest first.

    Claim: with a 10x seed the gap between rarest first and random shrinks below 10%. Run:
    ``seed-10x``, 40 peers, 50 pieces, seeds 0 and 1; measured: 12.8 s against 13.0 s, 1.3%.
    Tolerance: the claim's 10%, on the mean over the seeds.
    """
    rarest = _mean_time("seed-10x", "rarest-first", range(2))
    rand = _mean_time("seed-10x", "random", range(2))
    assert abs(rand / rarest - 1) < 0.10


def _riders_over_contributors(scenario: str, peers: int, pieces: int, seeds: range) -> float:
    riders: list[float] = []
    contributors: list[float] = []
    for seed in seeds:
        _, m = scenarios.run(scenario, peers=peers, pieces=pieces, seed=seed)
        assert m["summary"]["completed"] == peers, seed
        riders += completion_times(m, "free-rider")
        contributors += [p["download_time"] for p in m["peers"] if not p["seed"] and not p["tags"]]
    return statistics.fmean(riders) / statistics.fmean(contributors)


def test_free_riders_come_close_with_plentiful_seeds() -> None:
    """Legout et al. 2007; Locher et al. 2006 (BitThief): free riders finish, slower under tit
    for tat, but with many neighbours and plentiful seeds they come close to contributors.

    Run: ``free-riders`` (one seed, 20 neighbours) and ``free-riders-seeded`` (a seed per
    five peers, 50 neighbours), 30 peers of which a quarter free ride, 200 pieces, seeds 0
    to 3; peers leave when done. Measured, free riders' mean download time over
    contributors': 1.18 with one seed (per run 0.97 to 1.63), 1.06 with plentiful seeds
    (per run 1.00 to 1.11; over seeds 0 to 15, 1.04 with a 95% interval of 1.00 to 1.07).
    Tolerance: the chapter's verdict, "agrees on the direction, less strongly on the size".
    Every peer completes; with one seed the free riders are at least 5% slower
    (``test_known_results`` asserts the same over 8 seeds); with plentiful seeds they are
    within 10% of the contributors, and their penalty is at most half the one-seed one.
    BitThief's "about as fast" (a band of 5%) is not what btref shows at the chapter's size:
    its 60 peers (50 neighbours of 71) keep a 10% penalty (7.5% to 12.5% over 16 seeds).
    """
    alone = _riders_over_contributors("free-riders", 30, 200, range(4))
    seeded = _riders_over_contributors("free-riders-seeded", 30, 200, range(4))
    assert alone >= 1.05
    assert abs(seeded - 1) <= 0.10 and seeded - 1 <= (alone - 1) / 2
