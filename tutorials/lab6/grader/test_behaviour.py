"""Lab 6, group "behaviour": the policies of Cohen 2003, section 2, in the details the claims
of the suite leave open (BEP 3 leaves the order of pieces to the client).

The group "claims" checks that new pieces are rarest first, partial pieces first and the
first pieces random; these tests add what this lab's docstring asks beyond that: partial
pieces rarest first too, ties drawn with ``swarm.rng``, the ``random_first`` parameter
honoured, and worked examples whose failures are easy to read. A failing property names
the state that broke it: read it as a question (which piece should the picker have taken
there, and why?).

Words: a piece is *offered* when the peer has it and we have not verified it; an offered
piece is *partial* when it is in ``swarm.in_progress``, *new* otherwise; its *copies* are
``swarm.availability[i]``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from btref.views import PeerView, SwarmView, peer_view, swarm_view


@attrs.frozen
class State:
    """One question to the picker."""

    pieces: int
    have: tuple[int, ...]
    in_progress: tuple[int, ...]
    copies: tuple[int, ...]
    peer_has: tuple[int, ...]
    count: int
    seed: int = 0

    def views(self) -> tuple[SwarmView, PeerView]:
        swarm = swarm_view(self.pieces, have=self.have, availability=self.copies, in_progress=self.in_progress,
                           rng=random.Random(self.seed))
        return swarm, peer_view("p", self.pieces, has=self.peer_has, am_interested=True, peer_choking=False)

    def offered(self) -> list[int]:
        return [i for i in self.peer_has if i not in self.have]

    def __str__(self) -> str:
        return (f"{self.pieces} pieces; we have {list(self.have)}; in progress {list(self.in_progress)}; "
                f"copies {list(self.copies)}; the peer has {list(self.peer_has)}; count {self.count}")


@st.composite
def states(draw: st.DrawFn) -> State:
    """A consistent state: the peer's pieces have a copy each (its own), pieces in progress are pieces we lack."""
    n = draw(st.integers(2, 16))
    have = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n - 2)))
    lacking = [i for i in range(n) if i not in have]
    started = sorted(draw(st.sets(st.sampled_from(lacking)))) if lacking else []
    has = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))
    copies = tuple(draw(st.integers(0, 8)) + (i in has) for i in range(n))
    return State(n, tuple(have), tuple(started), copies, tuple(has), draw(st.integers(1, n)),
                 draw(st.integers(0, 2**16)))


def of(copies: int) -> str:
    return f"{copies} cop{'y' if copies == 1 else 'ies'}"


def answer(picker: Callable[..., Any], state: State, **params: Any) -> list[int]:
    swarm, peer = state.views()
    return list(picker(**params).btref_pick_pieces(swarm=swarm, peer=peer, count=state.count) or [])


@given(states())
def test_partial_pieces_come_rarest_first(picker: Callable[..., Any], state: State) -> None:
    """strict priority, in order: the partial pieces of the answer are listed fewest copies first"""
    picks = answer(picker, state)
    partial = [i for i in picks if i in state.in_progress]
    copies = state.copies
    for a, b in zip(partial, partial[1:]):
        assert copies[a] <= copies[b], (f"listed partial piece {a} ({of(copies[a])}) before partial piece {b} "
                                        f"({of(copies[b])}); state: {state}")


def test_the_rarest_piece_not_the_most_common(picker: Callable[..., Any]) -> None:
    """rarest first, the example: of pieces with 5, 1 and 3 copies, piece 1 comes first, then piece 2"""
    state = State(8, (3, 4, 5, 6, 7), (), (5, 1, 3, 1, 1, 1, 1, 1), (0, 1, 2), 2)
    picks = answer(picker, state)
    assert picks == [1, 2], f"picked {picks}; state: {state}"


def test_ties_are_broken_at_random_with_swarm_rng(picker: Callable[..., Any]) -> None:
    """among new pieces with the same copies the order is drawn with swarm.rng, so peers do not all start on the same piece"""
    firsts = set()
    for seed in range(30):
        state = State(12, (0, 1, 2, 3), (), (1, 1, 1, 1) + (2,) * 6 + (5, 5), tuple(range(12)), 1, seed)
        picks = answer(picker, state)
        assert picks and 4 <= picks[0] <= 9, f"picked {picks}, not one of the rarest new pieces 4..9; state: {state}"
        assert picks == answer(picker, state), "the same seed must give the same answer"
        firsts.add(picks[0])
    assert len(firsts) >= 4, f"over 30 seeds the first pick was always among {sorted(firsts)}: ties must be drawn"


def test_the_first_pieces_are_random_whatever_their_copies(picker: Callable[..., Any]) -> None:
    """random first: while we have fewer than random_first pieces, new pieces are drawn with swarm.rng, rare or not"""
    firsts = []
    for seed in range(40):
        state = State(8, (0, 1), (), (1, 1, 1, 2, 3, 4, 5, 6), tuple(range(8)), 1, seed)
        firsts.append(answer(picker, state)[0])
    assert len(set(firsts)) >= 4, f"over 40 seeds the first pick was only ever {sorted(set(firsts))}"
    assert firsts.count(2) <= 20, "piece 2, the rarest new piece, came first in more than half the draws"


def test_random_first_ends_at_random_first_pieces(picker: Callable[..., Any]) -> None:
    """with exactly random_first (4) pieces the random phase is over: the rarest piece comes first, on every seed"""
    for seed in range(20):
        state = State(10, (0, 1, 2, 3), (), (1,) * 4 + (6, 5, 4, 1, 3, 2), tuple(range(10)), 3, seed)
        picks = answer(picker, state)
        assert picks == [7, 9, 8], f"picked {picks}, not [7, 9, 8] (1, 2 and 3 copies); state: {state}"


def test_random_first_is_a_parameter(picker: Callable[..., Any]) -> None:
    """random_first=0 makes even the first piece the rarest; random_first=10 keeps drawing at random with 6 pieces"""
    rarest = State(10, (), (), (6, 5, 4, 1, 3, 2, 9, 9, 9, 9), tuple(range(10)), 1)
    firsts = {answer(picker, attrs.evolve(rarest, seed=s), random_first=0)[0] for s in range(10)}
    assert firsts == {3}, f"with random_first=0 the first pick was {sorted(firsts)}, not piece 3 (1 copy); state: {rarest}"
    draws = State(16, tuple(range(6)), (), (1,) * 6 + tuple(range(1, 11)), tuple(range(16)), 1)
    firsts = {answer(picker, attrs.evolve(draws, seed=s), random_first=10)[0] for s in range(30)}
    assert len(firsts) >= 4, f"with random_first=10 and 6 pieces the first pick was only ever {sorted(firsts)}"


def test_partial_pieces_fill_the_answer_first(picker: Callable[..., Any]) -> None:
    """with more partial pieces than count, the answer is partial pieces only; with fewer, new pieces fill the rest"""
    state = State(10, (0, 1, 2, 3, 4), (5, 6, 7), (1,) * 5 + (3, 3, 3, 1, 2), tuple(range(10)), 2)
    picks = answer(picker, state)
    assert set(picks) <= {5, 6, 7} and len(picks) == 2, f"picked {picks} for count 2; state: {state}"
    picks = answer(picker, attrs.evolve(state, count=5))
    assert set(picks[:3]) == {5, 6, 7} and picks[3:] == [8, 9], \
        f"picked {picks} for count 5, not partial 5, 6, 7 then new 8 (1 copy), 9 (2 copies); state: {state}"
