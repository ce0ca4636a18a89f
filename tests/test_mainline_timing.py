"""Mainline choking timing on real sockets, small: ``bench/mainline.py`` with every interval
divided by 10 (BEP 3 "choking"; Cohen 2003, sections 3.1-3.4).

One swarm on 127.0.0.1 (a seed, a staller that stops sending after 4 s, four btref
leechers and a libtorrent leecher, about 15 s of wall time) and the same peers in the
simulator, shared by the tests below. Rechoke every 1 s, optimistic rotation every 3 s,
snubbing after 6 s, a driver tick of 0.1 s.

Nothing here asserts on speed or on how late the event loop was: a loaded two-core box
may run a round late by any amount. What holds whatever the load is what the session
records itself: a periodic round never runs before it is due and its due times step by
whole rechoke intervals (``due`` is the session's fixed clock); an optimistic slot is
never rotated sooner than its interval after the last rotation (the choker compares the
session's ``now``); a snub comes only after the snub timeout since the peer's last block
(``since``). The intervals as measured (10 +/- 1 s in the full run) are the bench's report.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from btref import wire
from tests.ltsession import libtorrent
from tests.test_engine import payload, session  # noqa: F401 - payload is a fixture

BENCH = Path(__file__).resolve().parent.parent / "bench" / "mainline.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_mainline", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_mainline"] = module  # attrs resolves the annotations through it
    spec.loader.exec_module(module)
    return module


mainline = _bench()
SETUP = mainline.Setup.scaled(10, peers=4, pieces=40, piece_length=16 * 1024, upload_limit=48 * 1024,
                              libtorrent_after=2, timeout=120)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The real run's report and the simulator's, once for the module."""
    libtorrent()
    out = tmp_path_factory.mktemp("mainline")
    asyncio.run(mainline.run_real(SETUP, out, say=lambda line: None))
    manifest, logs = mainline.load_real(out)
    return mainline.check_real(SETUP, manifest, logs), mainline.check_decisions(SETUP, mainline.run_sim(SETUP))


def test_rounds_keep_the_fixed_clock(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for report in runs:
        assert report["intervals"]["n"] >= 20
        assert report["late"]["min"] >= 0  # never before it is due
        assert report["off_schedule"] == 0  # due times are whole intervals apart


def test_a_round_unchokes_no_more_than_the_slots(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A round carries out the choker's answer in full, so after it as many peers download
    as it chose. Between rounds a peer that lost interest while unchoked and regains it
    downloads again without a round (BEP 3 would choke the worst downloader at once):
    the bench reports how often; the test does not bound it."""
    real, sim = runs
    assert real["max_chosen"] == sim["max_chosen"] == SETUP.slots  # never more, and the slots fill up


def test_the_optimistic_slot_rotates_no_sooner_than_its_interval(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for report in runs:
        assert report["rotations"] >= 2 * SETUP.peers
        assert report["rotation_s"]["min"] >= SETUP.optimistic - 1e-9
        assert min(report["rotation_rounds"]) >= SETUP.optimistic / SETUP.rechoke
        assert report["outside_pool"] == 0


def test_the_staller_is_snubbed_after_the_snub_timeout(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    snubs = runs[0]["snubs"]
    assert any(s["peer"] == "staller" for s in snubs), snubs
    assert all(s["after"] >= SETUP.snub for s in snubs), snubs


def test_end_game_cancels_and_the_libtorrent_peer(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    real = runs[0]
    assert real["endgames"] >= 1 and real["cancels_in_endgame"] >= 1
    assert real["libtorrent_done"] and real["libtorrent_chosen"] >= 1


def test_the_simulator_runs_the_same_peers_round_by_round(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Which peers are unchoked differs (rates on sockets are not the simulator's, and the
    ranking draws from ``rng`` as the rates fall); the number of rounds compared is what
    the two runs share."""
    real, sim = runs
    names = set(real["per_peer"]) & set(sim["per_peer"])
    assert {"seed", "peer-01", "peer-04"} <= names
    assert mainline.compare(real, sim)["rounds"] >= 20


@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_the_new_peer_weight_estimate_recovers_the_weight(weight: float) -> None:
    """Pools of 2 new and 6 old peers; picks in the expected proportion w*2 / (w*2 + 6)."""
    share = weight * 2 / (weight * 2 + 6)
    picks = [(2, 6, i < round(share * 400)) for i in range(400)]
    assert mainline.new_peer_weight(picks) == pytest.approx(weight, rel=0.02)
    assert mainline.new_peer_weight([(2, 0, True), (0, 3, False)]) is None  # no mixed pool


def test_a_round_that_waits_for_the_gap_is_not_lost_to_a_fill(payload: Any) -> None:
    """A peer that loses interest while unchoked frees its slot, and a round chokes it; if
    the peer triggered the choker less than ``unchoke_gap`` ago, the round waits for the
    next tick. Another peer's fill in between must leave that round pending
    (:meth:`btref.choking.ChokeRounds.fill`); otherwise the peer stays unchoked until the
    periodic round and can come back as a fifth downloader."""
    torrent, _ = payload
    s = session(torrent, seed=True)
    s.tick(0)  # the first round, nobody here yet
    s.peer_connected("a", 0)
    s.message_received("a", wire.Interested(), 0.2)  # a fill: "a" is unchoked
    assert not s.peers["a"].am_choking
    s.message_received("a", wire.NotInterested(), 0.5)  # a round, but within a's gap: next tick
    s.peer_connected("b", 0.5)
    s.message_received("b", wire.Interested(), 0.6)  # b's fill runs at once
    s.tick(1.0)  # the round a's leaving asked for
    assert s.peers["a"].am_choking
