"""What a choker promises beyond the contract: the claims it declares (:mod:`btref.claims`).

A choker lists its policies in a ``claims`` attribute, e.g. ``claims = ("tit-for-tat",
"optimistic-unchoke", "seed-fastest")``. Each test below drives a fresh choker through a
run of rechokes that hypothesis generates (peers, their interest and rates, the times of
the calls on a simulated clock), as a session would: each peer's ``am_choking`` is what the
previous answer left it. A test runs only for the chokers that declare its claim, and a
failure names the claim, what the choker did and the (shrunk) run that shows it::

    tit-for-tat: left 'p0' choked, which sends us 1000 B/s, while only 0 of its 3 slots
    went to interested peers at least that fast (unchoked: nobody)
      at 0 s, leeching: p0 interested, sends us 1000 B/s, takes 0 B/s
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btref import claims, plugins
from btref.views import PeerView, peer_view, swarm_view

N = 16  # pieces in the generated torrents
ROUND = 10.0  # seconds between rechoke rounds (Config.rechoke_interval, as mainline)
RATES = [0.0, 1000.0, 20000.0, 500000.0]  # few values, so ties happen
BYTES = [0, 16384, 32768, 49152, 1 << 20]  # whole blocks, so a debt lands on a threshold of a few blocks


@attrs.frozen
class Peer:
    """One peer at one call."""

    key: str
    interested: bool = True
    snubbed: bool = False
    download_rate: float = 0.0  # what it sends us
    upload_rate: float = 0.0  # what it takes from us
    bytes_downloaded: int = 0  # what it sent us since it connected
    bytes_uploaded: int = 0  # what we sent it

    @functools.cache  # a run shows the same peer at many calls: one view each
    def view(self) -> PeerView:
        return peer_view(self.key, N, peer_interested=self.interested, snubbed=self.snubbed,
                         download_rate=self.download_rate, upload_rate=self.upload_rate,
                         bytes_downloaded=self.bytes_downloaded, bytes_uploaded=self.bytes_uploaded,
                         am_interested=True, peer_choking=False)

    def __str__(self) -> str:
        state = "interested" if self.interested else "not interested"
        return (f"{self.key} {state}{', snubbed' if self.snubbed else ''}, sends us {self.download_rate:.0f} B/s, "
                f"takes {self.upload_rate:.0f} B/s, gave us {self.bytes_downloaded} B, got {self.bytes_uploaded} B")


@attrs.frozen
class Run:
    """Rechokes in time order: ``(now, peers)`` each, and the rng seed of the session."""

    calls: tuple[tuple[float, tuple[Peer, ...]], ...]
    seeding: bool
    seed: int

    def play(self, choker: object) -> list[claims.Rechoke]:
        swarm = swarm_view(N, have=range(N) if self.seeding else (), seeding=self.seeding,
                           rng=random.Random(self.seed))
        return claims.play(choker, swarm, [(now, [p.view() for p in peers]) for now, peers in self.calls])

    def describe(self, now: float) -> str:
        """The call at ``now``, a line per peer."""
        peers = next(peers for at, peers in self.calls if at == now)
        mode = "seeding" if self.seeding else "leeching"
        return f"at {now:g} s, {mode}: " + ("; ".join(map(str, peers)) or "no peers")

    def __str__(self) -> str:
        times = [now for now, _ in self.calls]
        bored = [f"{p.key} at {now:g} s" for now, peers in self.calls for p in peers if not p.interested]
        return (f"{len(times)} rechokes from {times[0]:g} s to {times[-1]:g} s (rng seed {self.seed}); "
                f"not interested: {', '.join(bored) or 'nobody'}")


@st.composite
def rounds(draw: st.DrawFn, *, seeding: bool) -> Run:
    """A few rounds, ROUND seconds apart, of up to ten peers whose interest and rates vary."""
    keys = [f"p{i}" for i in range(draw(st.integers(0, 10)))]
    start = draw(st.integers(0, 1000))
    calls = []
    for step in range(draw(st.integers(1, 4))):
        peers = tuple(Peer(key, draw(st.booleans()), draw(st.booleans()), draw(st.sampled_from(RATES)),
                           draw(st.sampled_from(RATES))) for key in keys)
        calls.append((start + ROUND * step, peers))
    return Run(tuple(calls), seeding, draw(st.integers(0, 2**32)))


@st.composite
def debt_rounds(draw: st.DrawFn) -> Run:
    """Rounds as :func:`rounds` while we download, whose peers have also exchanged bytes
    with us: what each gave and got, drawn from a few whole-block values, so some owe us
    exactly a small threshold, some less, some more."""
    keys = [f"p{i}" for i in range(draw(st.integers(0, 10)))]
    start = draw(st.integers(0, 1000))
    calls = []
    for step in range(draw(st.integers(1, 4))):
        peers = tuple(Peer(key, draw(st.booleans()), draw(st.booleans()), draw(st.sampled_from(RATES)),
                           draw(st.sampled_from(RATES)), draw(st.sampled_from(BYTES)), draw(st.sampled_from(BYTES)))
                      for key in keys)
        calls.append((start + ROUND * step, peers))
    return Run(tuple(calls), False, draw(st.integers(0, 2**32)))


def extra_times(draw: st.DrawFn, rounds: int) -> list[float]:
    """Calls between the rounds (a peer became interested, a slot came free), at any time."""
    offsets = draw(st.lists(st.tuples(st.integers(0, rounds - 2), st.floats(0.5, ROUND - 0.5)), max_size=12))
    return [ROUND * step + offset for step, offset in offsets]


@st.composite
def optimistic_runs(draw: st.DrawFn, *, regular_slots: int, interval: float) -> Run:
    """``regular_slots`` peers that send us data (distinct rates), and six to nine interested
    newcomers that send nothing: only an optimistic unchoke gives them a chance. Forty
    intervals of rounds, plus calls between them."""
    fast = sorted(draw(st.sets(st.integers(1, 100), min_size=regular_slots, max_size=regular_slots)), reverse=True)
    newcomers = draw(st.integers(6, 9))
    bored = draw(st.integers(0, 2))
    peers = ([Peer(f"p{i}", download_rate=1000.0 * rate) for i, rate in enumerate(fast)]
             + [Peer(f"p{regular_slots + i}") for i in range(newcomers)]
             + [Peer(f"p{regular_slots + newcomers + i}", interested=False) for i in range(bored)])
    count = int(40 * interval // ROUND) + 1
    start = draw(st.integers(100, 1000))  # every peer connected long ago (connected_at 0)
    times = sorted({ROUND * step for step in range(count)} | set(extra_times(draw, count)))
    return Run(tuple((start + t, tuple(peers)) for t in times), False, draw(st.integers(0, 2**32)))


@st.composite
def seed_runs(draw: st.DrawFn) -> Run:
    """Two to ten peers over ten to thirty rounds while we seed, plus calls between them;
    now and then a peer loses interest for a while."""
    keys = [f"p{i}" for i in range(draw(st.integers(2, 10)))]
    rates = {key: draw(st.sampled_from(RATES)) for key in keys}
    count = draw(st.integers(10, 30))
    times = sorted({ROUND * step for step in range(count)} | set(extra_times(draw, count)))
    start = draw(st.integers(0, 1000))
    calls = []
    for t in times:
        bored = draw(st.sets(st.sampled_from(keys), max_size=2)) if draw(st.integers(0, 4)) == 0 else set()
        calls.append((start + t, tuple(Peer(k, interested=k not in bored, upload_rate=rates[k]) for k in keys)))
    return Run(tuple(calls), True, draw(st.integers(0, 2**32)))


def judge(violation: str | None, detail: str) -> None:
    if violation:
        pytest.fail(f"{violation}\n  {detail}", pytrace=False)


def each_call(check: Callable[[object, object, Sequence[PeerView], Sequence[object]], str | None],
              choker: object, run: Run) -> None:
    """Judge every answer of ``run`` on its own."""
    swarm = swarm_view(N, have=range(N) if run.seeding else (), seeding=run.seeding)
    for call in run.play(choker):
        judge(check(choker, swarm, call.peers, call.unchoked), run.describe(call.now))


def test_declared_claims_are_known(choker_name: str) -> None:
    """Your `claims` must name chokers claims of btref.claims, and the choker must have the attributes they read."""
    found = claims.problems(plugins.create("chokers", choker_name), "chokers")
    assert not found, f"choker {choker_name!r} " + "; ".join(found)


@pytest.mark.claim("tit-for-tat")
@settings(max_examples=150)
@given(run=rounds(seeding=False))
def test_tit_for_tat(choker_name: str, run: Run) -> None:
    """tit-for-tat: while downloading, give your regular slots to the interested peers that send you the most."""
    each_call(claims.tit_for_tat, plugins.create("chokers", choker_name), run)


@pytest.mark.claim("seed-fastest")
@settings(max_examples=150)
@given(run=rounds(seeding=True))
def test_seed_fastest(choker_name: str, run: Run) -> None:
    """seed-fastest: while seeding, give your slots to the interested peers that take data from you fastest."""
    each_call(claims.seed_fastest, plugins.create("chokers", choker_name), run)


@pytest.mark.claim("deficit-bound")
@settings(max_examples=150)
@given(run=debt_rounds())
def test_deficit_bound(choker_name: str, run: Run) -> None:
    """deficit-bound: while downloading, leave choked every peer that owes you `threshold` bytes or more."""
    each_call(claims.deficit_bound, plugins.create("chokers", choker_name), run)


@pytest.mark.claim("optimistic-unchoke")
@settings(max_examples=25)
@given(data=st.data())
def test_optimistic_unchoke(choker_name: str, data: st.DataObject) -> None:
    """optimistic-unchoke: unchoke one more interested peer at random, and draw it anew every 30 s of `now`."""
    choker = plugins.create("chokers", choker_name)
    interval = float(getattr(choker, "optimistic_interval", claims.OPTIMISTIC_INTERVAL))
    run = data.draw(optimistic_runs(regular_slots=int(choker.regular_slots), interval=interval), label="run")
    played = run.play(choker)
    first = run.calls[0][1]
    judge(claims.optimistic_unchoke(choker, played), f"{run}; peers: " + "; ".join(map(str, first)))


@pytest.mark.claim("seed-round-robin")
@settings(max_examples=60)
@given(run=seed_runs())
def test_seed_round_robin(choker_name: str, run: Run) -> None:
    """seed-round-robin: while seeding, keep a peer unchoked for its turn, then serve whoever was served least."""
    choker = plugins.create("chokers", choker_name)
    judge(claims.seed_round_robin(choker, run.play(choker)), f"{run}; peers: " + "; ".join(map(str, run.calls[0][1])))
