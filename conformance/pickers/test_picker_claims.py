"""What a picker promises beyond the contract: the claims it declares (:mod:`btref.claims`).

A picker lists its policies in a ``claims`` attribute, e.g. ``claims = ("rarest-first",
"strict-priority", "random-first")``. Each test below checks one claim on swarm states
that hypothesis generates, and runs only for the pickers that declare that claim. A
failure names the claim, what the picker did and the smallest state hypothesis found
that shows it::

    rarest-first: picked piece 1 (2 copies) while piece 0 (1 copy) was offered and needed
      state: 2 pieces; we have none; in progress none; copies [1, 2]; the peer has [0, 1]; count 1

Read it as a question: in that state, which piece should the picker have taken, and why?
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btref import claims, plugins
from btref.views import PeerView, SwarmView, peer_view, swarm_view


@attrs.frozen
class PickState:
    """One question to a picker: our side of the swarm, one peer, and ``count``."""

    pieces: int
    have: tuple[int, ...]
    in_progress: tuple[int, ...]
    copies: tuple[int, ...]
    peer_has: tuple[int, ...]
    count: int

    def views(self) -> tuple[SwarmView, PeerView]:
        swarm = swarm_view(self.pieces, have=self.have, availability=self.copies, in_progress=self.in_progress)
        return swarm, peer_view("peer", self.pieces, has=self.peer_has, am_interested=True, peer_choking=False)

    def __str__(self) -> str:
        def listed(pieces: tuple[int, ...]) -> str:
            return str(list(pieces)) if pieces else "none"

        return (f"{self.pieces} pieces; we have {listed(self.have)}; in progress {listed(self.in_progress)}; "
                f"copies {list(self.copies)}; the peer has {listed(self.peer_has)}; count {self.count}")


@st.composite
def states(draw: st.DrawFn, *, min_have: int = 0, max_have: int | None = None, min_new: int = 0) -> PickState:
    """A consistent state: every piece the peer has has at least one copy, pieces in
    progress are pieces we lack, and the peer offers at least ``min_new`` new pieces."""
    n = draw(st.integers(min_have + max(2, min_new), min_have + max(2, min_new) + 14))
    top = n - min_new if max_have is None else min(max_have, n - min_new)
    have = sorted(draw(st.sets(st.integers(0, n - 1), min_size=min_have, max_size=top)))
    lacking = [i for i in range(n) if i not in have]
    # What each piece we lack is: offered and new, offered and partial, not offered, or
    # partial from another peer. Shrinks towards "new": the smallest states are plain.
    roles = draw(st.lists(st.sampled_from(["new", "partial", "absent", "elsewhere"]),
                          min_size=len(lacking), max_size=len(lacking)))
    for position in range(min(min_new, len(roles))):
        roles[position] = "new"
    theirs = draw(st.sets(st.sampled_from(have))) if have else set()
    has = sorted(theirs | {i for i, role in zip(lacking, roles) if role in ("new", "partial")})
    started = tuple(i for i, role in zip(lacking, roles) if role in ("partial", "elsewhere"))
    copies = tuple(draw(st.integers(0, 6)) + (i in has) for i in range(n))
    return PickState(n, tuple(have), started, copies, tuple(has), draw(st.integers(1, n + 1)))


def ask(picker: object, state: PickState) -> tuple[SwarmView, PeerView, list[int]]:
    """The picker's answer to ``state``, which must keep the contract before a claim is judged."""
    swarm, peer = state.views()
    answer = picker.btref_pick_pieces(swarm=swarm, peer=peer, count=state.count)  # type: ignore[attr-defined]
    picks = list(answer or [])
    offered = set(claims.offered(swarm, peer))
    if any(type(i) is not int or i not in offered for i in picks) or len(set(picks)) < len(picks):
        pytest.fail(f"the answer {picks} breaks the contract (test_picker_contract.py says how), so no claim "
                    f"can be judged\n  state: {state}", pytrace=False)
    return swarm, peer, picks


def judge(violation: str | None, state: PickState) -> None:
    if violation:
        pytest.fail(f"{violation}\n  state: {state}", pytrace=False)


def test_declared_claims_are_known(picker_name: str) -> None:
    """Your `claims` must name pickers claims of btref.claims, and the picker must have the attributes they read."""
    found = claims.problems(plugins.create("pickers", picker_name), "pickers")
    assert not found, f"picker {picker_name!r} " + "; ".join(found)


@pytest.mark.claim("rarest-first")
@settings(max_examples=150)
@given(data=st.data())
def test_rarest_first(picker_name: str, data: st.DataObject) -> None:
    """rarest-first: after the random-first phase, pick the new pieces with the fewest copies, rarest first."""
    picker = plugins.create("pickers", picker_name)
    state = data.draw(states(min_have=claims.random_first(picker)), label="state")
    swarm, peer, picks = ask(picker, state)
    judge(claims.rarest_first(picker, swarm, peer, state.count, picks), state)


@pytest.mark.claim("strict-priority")
@settings(max_examples=150)
@given(state=states())
def test_strict_priority(picker_name: str, state: PickState) -> None:
    """strict-priority: list every partial piece the peer has before starting a new piece."""
    picker = plugins.create("pickers", picker_name)
    swarm, peer, picks = ask(picker, state)
    judge(claims.strict_priority(picker, swarm, peer, state.count, picks), state)


@pytest.mark.claim("sequential")
@settings(max_examples=150)
@given(state=states())
def test_sequential(picker_name: str, state: PickState) -> None:
    """sequential: pieces of the window after the first missing piece come first, then new pieces in file order."""
    picker = plugins.create("pickers", picker_name)
    swarm, peer, picks = ask(picker, state)
    judge(claims.sequential(picker, swarm, peer, state.count, picks), state)


@pytest.mark.claim("random-first")
@settings(max_examples=40)
@given(data=st.data())
def test_random_first(picker_name: str, data: st.DataObject) -> None:
    """random-first: while you have fewer than random_first pieces, draw new pieces with swarm.rng, ignoring copies."""
    make = plugins.find("pickers", picker_name).cls
    threshold = claims.random_first(make())
    if threshold < 1:  # no phase at all: nothing to draw at random
        return
    state = data.draw(states(max_have=threshold - 1, min_new=2), label="state")
    swarm, peer = state.views()
    judge(claims.random_choice(make, swarm, peer, "random-first"), state)


@pytest.mark.claim("random")
@settings(max_examples=40)
@given(state=states(min_new=2))
def test_random(picker_name: str, state: PickState) -> None:
    """random: draw new pieces with swarm.rng, whatever their copies."""
    make = plugins.find("pickers", picker_name).cls
    swarm, peer = state.views()
    judge(claims.random_choice(make, swarm, peer, "random"), state)
