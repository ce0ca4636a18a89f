"""The chokers conformance suite (``conformance/chokers``, the contract of the hook
``btref_rechoke``) on each of the lab's three chokers, run as ``btref conformance
chokers NAME`` would run it on an installed plugin."""

from __future__ import annotations

import pytest
from lab3_grading import CHOKERS, contract_suite

SUITE = contract_suite()


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("name", list(CHOKERS))
def test_only_interested_peers_within_its_slots(name: str) -> None:
    """contract: unchoke only connected, interested peers, each once, no more than max_unchoked; shares above 0"""
    SUITE.test_unchokes_only_interested_peers_within_its_slots(choker_name=name)


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("name", list(CHOKERS))
def test_no_peers_and_nobody_interested(name: str) -> None:
    """contract: with no peers, or nobody interested, unchoke nobody (return [], never None)"""
    SUITE.test_no_peers_and_nobody_interested(choker_name=name)


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("name", list(CHOKERS))
def test_thousands_of_peers(name: str) -> None:
    """contract: thousands of peers over twenty rounds, some leaving, still a valid answer each time"""
    SUITE.test_thousands_of_peers_over_many_rounds(choker_name=name)


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("name", list(CHOKERS))
def test_same_seed_same_answers(name: str) -> None:
    """contract: the same rounds and the same swarm.rng seed give the same answers (randomness from swarm.rng only)"""
    SUITE.test_same_seed_same_answers(choker_name=name)
