"""The fairness reproduction (``docs/reproductions.md``, section 4) in a small size: tolerance tests.

Bharambe, Herley and Padmanabhan (INFOCOM 2006): under rate-based tit for tat fast peers
upload much more than they download and slow peers get more than they give; block-level
tit for tat (upload to a neighbour only while it owes us less than Δ) brings the share
ratios toward 1, at a cost in download time for the slow peers.

Run here: ``upload-classes`` (a third of the peers upload 2, 8 and 32 blocks/s, all
download 64; one seed of 8; peers leave when done), 30 peers, 200 pieces, seeds 0 and
1, pooled: ``tit-for-tat`` and ``block-tit-for-tat`` (Δ = 2 blocks) at mainline's 10 s
rechoke, and ``block-tit-for-tat`` with a rechoke every second (closer to the paper's
check before every block). The numbers quoted were measured with these calls
(``bench/repro.py fairness --peers 30 --pieces 200 --repeat 2`` prints the same).
"""

from __future__ import annotations

import statistics

import attrs

from btref.actions import Config
from btref.sim import scenarios
from btref.sim.metrics import partner_debts
from btref.wire import BLOCK_SIZE

PEERS, PIECES, SEEDS = 30, 200, range(2)


def _classes(choker: str, rechoke: float) -> dict[str, dict[str, float]]:
    """Per upload class, pooled over SEEDS: the mean share ratio, the mean download time,
    and the most blocks any leecher ended owing a peer of the class."""
    peers: list[dict[str, object]] = []
    most_owed = dict.fromkeys(scenarios.UPLOAD_CLASSES, 0)
    for seed in SEEDS:
        params = scenarios.Params(PEERS, PIECES, choker=choker, seed=seed)
        build = scenarios.get("upload-classes").build
        assert build is not None
        setup = build(params)
        setup = attrs.evolve(setup, options={**setup.options, "config": Config(rechoke_interval=rechoke),
                                             "tick_interval": min(1.0, rechoke)})
        _, m = scenarios.play("upload-classes", params, setup)
        assert m["summary"]["completed"] == PEERS, (choker, rechoke, seed)
        leechers = [p for p in m["peers"] if not p["seed"]]
        for name, owed in partner_debts(m).items():
            (cls,) = next(p["tags"] for p in leechers if p["name"] == name)
            most_owed[cls] = max(most_owed[cls], max(owed.values(), default=0) // BLOCK_SIZE)
        peers += leechers
    return {name: {"ratio": statistics.fmean(p["share_ratio"] for p in peers if name in p["tags"]),
                   "time": statistics.fmean(p["download_time"] for p in peers if name in p["tags"]),
                   "most_owed": most_owed[name]}
            for name in scenarios.UPLOAD_CLASSES}


def test_block_level_tit_for_tat_moves_the_share_ratios_toward_one() -> None:
    """Measured (ratio; download time; most blocks a partner ended owing the class):

    ============================  ==================  ==================  ==================
    choker, rechoke               slow (2 up)         medium (8 up)       fast (32 up)
    ============================  ==================  ==================  ==================
    tit-for-tat, 10 s             0.31; 36.4 s; 12    0.95; 36.7 s; 68    1.59; 36.5 s; 118
    block-tit-for-tat, 10 s       0.41; 47.3 s; 6     1.09; 40.5 s; 32    1.29; 41.7 s; 41
    block-tit-for-tat, 1 s        0.53; 64.0 s; 3     0.98; 46.5 s; 8     1.20; 47.2 s; 22
    ============================  ==================  ==================  ==================

    Tolerances, each about half the measured margin so a tie fails: under rate-based tit
    for tat the fast class's ratio is at least 1.4 and the slow one's at most 0.5 (the
    paper's imbalance); block-level at 10 s cuts the fast class's ratio by at least 0.1
    and the most a partner owes a fast peer by at least a quarter; checked every second,
    the fast ratio is at most 1.35 and the slow one at least 0.45, and the slow class
    takes at least 1.3 times as long as under rate-based tit for tat (the paper's cost).

    Not asserted, because btref disagrees: ratios *close to* 1. The deficit is bounded per
    pair, a peer trades with some 25 others over its download, and the choker checks only
    at rechokes; the chapter works out why that leaves the fast class near 1.2.
    """
    rate = _classes("tit-for-tat", 10.0)
    block = _classes("block-tit-for-tat", 10.0)
    often = _classes("block-tit-for-tat", 1.0)
    assert rate["fast"]["ratio"] >= 1.4 and rate["slow"]["ratio"] <= 0.5
    assert block["fast"]["ratio"] <= rate["fast"]["ratio"] - 0.1
    assert block["fast"]["most_owed"] <= 0.75 * rate["fast"]["most_owed"]
    assert often["fast"]["ratio"] <= 1.35 and often["slow"]["ratio"] >= 0.45
    assert often["slow"]["time"] >= 1.3 * rate["slow"]["time"]


def test_partner_debts_are_per_pair_balances_between_leechers() -> None:
    peer = {"seed": False, "tags": []}
    metrics = {"peers": [{**peer, "name": "S", "seed": True, "down_from": {}},
                         {**peer, "name": "a", "down_from": {"S": 50, "b": 10}},
                         {**peer, "name": "b", "down_from": {"a": 30}},
                         {**peer, "name": "c", "down_from": {"S": 5}}]}
    assert partner_debts(metrics) == {"a": {"b": 20}, "b": {"a": -20}, "c": {}}
