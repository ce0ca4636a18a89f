"""The block-level tit-for-tat choker (plugins/btref_chokers/block_tft.py)."""

from __future__ import annotations

import random

import pytest
from btref_chokers.block_tft import BlockTitForTat

from btref import claims, plugins
from btref.errors import PluginError
from btref.sim import scenarios
from btref.views import peer_view, swarm_view
from btref.wire import BLOCK_SIZE


def view(key, *, sent_us=0, got=0, rate=0.0, interested=True):
    """A peer that sent us ``sent_us`` bytes and got ``got`` bytes from us."""
    return peer_view(key, 4, peer_interested=interested, bytes_downloaded=sent_us, bytes_uploaded=got,
                     download_rate=rate, upload_rate=rate)


def rechoke(choker, views, now=0.0, *, seeding=False):
    swarm = swarm_view(4, rng=random.Random(0), now=now, seeding=seeding)
    return list(choker.btref_rechoke(swarm=swarm, peers=views, now=now))


def test_registered_by_name_and_validates():
    choker = plugins.create("chokers", "block-tit-for-tat", delta=4, regular_slots=2)
    assert isinstance(choker, BlockTitForTat)
    assert choker.threshold == 4 * BLOCK_SIZE and choker.max_unchoked == 3 and choker.regular_slots == 2
    assert plugins.parse("chokers", "block-tit-for-tat:delta=0.5").settings()["delta"] == 0.5
    with pytest.raises(PluginError, match="out of range"):
        plugins.create("chokers", "block-tit-for-tat", delta=-1)


def test_a_peer_owing_delta_blocks_is_choked_however_fast_it_sends():
    # "greedy" sends us the most, but took 2 blocks more than it gave: it waits; the
    # regular slots go to the next fastest, and the optimistic one to a peer within its bound.
    owes = BLOCK_SIZE * 2
    views = [view("greedy", sent_us=10 * BLOCK_SIZE, got=10 * BLOCK_SIZE + owes, rate=9000.0),
             view("a", rate=3000.0), view("b", rate=2000.0), view("c", rate=1000.0), view("d")]
    unchoked = rechoke(BlockTitForTat(), views)
    assert "greedy" not in unchoked
    assert unchoked == ["a", "b", "c", "d"]


def test_a_peer_just_under_delta_keeps_its_slot_and_paying_back_reopens_it():
    choker = BlockTitForTat(regular_slots=1, optimistic_slots=0)
    under = view("p", sent_us=0, got=2 * BLOCK_SIZE - 1, rate=5000.0)
    assert rechoke(choker, [under, view("q", rate=1.0)]) == ["p"]
    at = view("p", sent_us=0, got=2 * BLOCK_SIZE, rate=5000.0)
    assert rechoke(choker, [at, view("q", rate=1.0)], 10.0) == ["q"]
    repaid = view("p", sent_us=BLOCK_SIZE, got=2 * BLOCK_SIZE, rate=5000.0)
    assert rechoke(choker, [repaid, view("q", rate=1.0)], 20.0) == ["p"]


def test_delta_zero_serves_only_peers_that_gave_more_than_they_got():
    # A newcomer owes nothing, but "under 0" is strict: with no allowance nobody starts.
    choker = BlockTitForTat(delta=0)
    assert rechoke(choker, [view("new"), view("even", sent_us=BLOCK_SIZE, got=BLOCK_SIZE)]) == []
    assert rechoke(choker, [view("giver", sent_us=BLOCK_SIZE)], 10.0) == ["giver"]


def test_a_seed_ignores_the_deficit():
    views = [view("owes", got=100 * BLOCK_SIZE, rate=9000.0), view("other", rate=10.0)]
    assert set(rechoke(BlockTitForTat(), views, seeding=True)) == {"owes", "other"}


def test_every_class_completes_in_a_small_upload_classes_swarm():
    # The engine, the simulator and the plugin together: the deficit never deadlocks the
    # swarm (of two neighbours one always owes the other less than delta).
    _, m = scenarios.run("upload-classes", peers=9, pieces=30, choker="block-tit-for-tat", seed=0)
    assert m["summary"]["completed"] == 9
    assert m["choker_params"]["delta"] == 2.0


def test_the_deficit_bound_claim_names_the_debtor():
    choker = BlockTitForTat()
    debtor = view("p", sent_us=BLOCK_SIZE, got=3 * BLOCK_SIZE)
    leeching, seeding = swarm_view(4), swarm_view(4, seeding=True)
    assert claims.deficit_bound(choker, leeching, [debtor], ["p"]) == (
        "deficit-bound: unchoked 'p', which owes us 32768 bytes (we sent it 49152, it sent us 16384), "
        "while the threshold is 32768 bytes")
    assert claims.deficit_bound(choker, leeching, [debtor], []) is None
    assert claims.deficit_bound(choker, seeding, [debtor], ["p"]) is None
    assert claims.problems(choker, "chokers") == []
