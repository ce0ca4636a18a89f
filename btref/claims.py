"""Behavioural claims: the policies a piece picker or a choker promises, each defined by a
check of its answers (BEP 3, "peer protocol", leaves these policies to the client; Cohen
2003, "Incentives Build Robustness in BitTorrent", the sections "Piece Selection" and
"Choking Algorithms").

The hookspecs (:mod:`btref.hookspecs`) say what a *valid* answer is, and a picker that
takes the most common pieces first gives valid answers. A claim says what the answers must
be for a plugin to deserve a name such as "rarest first". A plugin lists the claims it
makes in a ``claims`` attribute, a tuple of the names defined here (read from the
instance, so a class attribute serves every instance)::

    class RarestFirst:
        family = "pickers"
        claims = ("rarest-first", "strict-priority", "random-first")

``conformance/pickers`` and ``conformance/chokers`` check every claim a plugin declares,
and only those, on swarm states that hypothesis generates and shrinks. Each check below
is a function of the plugin and of what it was shown and answered: it returns ``None``
when the claim holds, else one line naming the claim, what the plugin did and what the
claim required, so a failing state explains itself.

Words used by the picker claims: a piece is *offered* when the peer has it and we have not
verified it; an offered piece is *partial* when it is in ``swarm.in_progress`` and *new*
otherwise; its *copies* are ``swarm.availability[i]``. The choker claims speak of
*interested* peers (``peer_interested``) and of the *rate* a peer is judged by:
``download_rate`` (what it sends us) while we download, ``upload_rate`` (what it takes
from us) once we seed.

Invariants: the checks only read the views and the plugin's attributes; the ones that call
the plugin themselves (randomness, rotations) get a fresh plugin or drive the one given
through a whole run, and take their randomness from seeds they are handed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from btref.errors import PluginError
from btref.views import PeerView, SwarmView

__all__ = ["Claim", "CLAIMS", "declared", "problems", "copies", "offered", "random_first", "in_random_first_phase",
           "rarest_first", "strict_priority", "sequential", "random_choice", "answer_keys", "Rechoke", "play",
           "tit_for_tat", "seed_fastest", "optimistic_unchoke", "seed_round_robin", "deficit_bound", "RANDOM_DRAWS",
           "OPTIMISTIC_INTERVAL", "TURN"]

#: rng seeds tried per new piece by :func:`random_choice`: a fair draw among k pieces
#: misses one of them in 40k tries with a probability below k * e^-40.
RANDOM_DRAWS = 40
#: Seconds an optimistic unchoke lasts when the choker has no ``optimistic_interval``
#: (Cohen 2003, "Optimistic Unchoking": "every 30 seconds").
OPTIMISTIC_INTERVAL = 30.0
#: Seconds a seed-mode turn lasts when the choker has no ``turn``.
TURN = 30.0


@attrs.frozen
class Claim:
    """One policy a plugin of ``family`` may claim."""

    name: str
    family: str
    #: The rule in one sentence (the check's docstring has the exact definition).
    summary: str
    #: Attributes of the plugin the check reads; ``"a|b"`` means the first one present.
    needs: tuple[str, ...] = ()


_ALL = (
    Claim("rarest-first", "pickers", "new pieces are picked and listed in increasing order of copies, "
          "outside the random-first phase"),
    Claim("strict-priority", "pickers", "offered partial pieces are picked before any new piece"),
    Claim("random-first", "pickers", "while we have fewer than random_first pieces, new pieces are drawn "
          "at random with swarm.rng", ("random_first",)),
    Claim("random", "pickers", "new pieces are always drawn at random with swarm.rng"),
    Claim("sequential", "pickers", "pieces in the window after the first missing one come first, "
          "new pieces beyond it in file order"),
    Claim("tit-for-tat", "chokers", "while downloading, the regular slots go to the interested peers "
          "that send us the most", ("regular_slots",)),
    Claim("optimistic-unchoke", "chokers", "one more interested peer is unchoked at random, and the slot "
          "changes hands every optimistic_interval (30) seconds", ("regular_slots",)),
    Claim("seed-fastest", "chokers", "while seeding, the slots go to the interested peers that take "
          "data from us fastest", ("seed_slots|regular_slots",)),
    Claim("seed-round-robin", "chokers", "while seeding, a peer keeps its slot for a turn (30 s) and "
          "free slots go to the peers served least", ("max_unchoked",)),
    Claim("deficit-bound", "chokers", "while downloading, no peer is unchoked that owes us threshold bytes "
          "or more (bytes uploaded to it minus bytes received from it)", ("threshold",)),
)
#: Every claim, by family and name.
CLAIMS: dict[str, dict[str, Claim]] = {}
for _claim in _ALL:
    CLAIMS.setdefault(_claim.family, {})[_claim.name] = _claim


def declared(plugin: object) -> tuple[str, ...]:
    """The claims ``plugin`` declares (its ``claims`` attribute; none if it has none).

    :raises PluginError: when ``claims`` is not a tuple or list of names.
    """
    names = getattr(plugin, "claims", ())
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise PluginError(f"{type(plugin).__name__}.claims is {names!r}; it must be a tuple of claim names, "
                          f"e.g. claims = (\"rarest-first\",)")
    return tuple(names)


def problems(plugin: object, family: str) -> list[str]:
    """What is wrong with ``plugin``'s declaration: unknown claims, attributes a check needs."""
    try:
        names = declared(plugin)
    except PluginError as exc:
        return [str(exc)]
    known = CLAIMS.get(family, {})
    found = []
    for name in names:
        if name not in known:
            choices = ", ".join(known) or "none"
            found.append(f"claims {name!r}, which is not a {family} claim (known: {choices})")
            continue
        for need in known[name].needs:
            if not any(hasattr(plugin, attr) for attr in need.split("|")):
                found.append(f"claims {name!r}, whose check reads its attribute {need.replace('|', ' or ')}, "
                             f"which it does not have")
    if "optimistic-unchoke" in names and "tit-for-tat" not in names:
        found.append("claims 'optimistic-unchoke' without 'tit-for-tat': the optimistic slot is the one "
                     "beyond the regular slots, so the check needs both")
    return found


def copies(count: int) -> str:
    """``count`` copies in words: ``"1 copy"``, ``"5 copies"``."""
    return f"{count} cop{'y' if count == 1 else 'ies'}"


def offered(swarm: SwarmView, peer: PeerView) -> list[int]:
    """The pieces the peer has and we have not verified, in index order."""
    return [i for i in peer.has if not swarm.have[i]]


def random_first(picker: object) -> int:
    """How many pieces a picker picks at random before rarity counts: its ``random_first``
    if it claims ``random-first`` (Cohen 2003, "Random First Piece": a newcomer needs
    *some* whole piece to trade quickly), else 0: without the claim there is no such phase."""
    return int(getattr(picker, "random_first", 0)) if "random-first" in declared(picker) else 0


def in_random_first_phase(picker: object, swarm: SwarmView) -> bool:
    """Whether we have fewer pieces than the picker's :func:`random_first`."""
    return swarm.have.count < random_first(picker)


# --------------------------------------------------------------------------------------
# Piece pickers: one answer of btref_pick_pieces(swarm, peer, count) is judged
# --------------------------------------------------------------------------------------


def rarest_first(picker: object, swarm: SwarmView, peer: PeerView, count: int, picks: Sequence[int]) -> str | None:
    """**rarest-first**: outside its random-first phase, the picker never picks a new piece
    with more copies than a new piece it leaves out, and lists its new pieces in increasing
    order of copies (the answer is best first). Partial pieces are outside this claim
    (see ``strict-priority``); ties may go either way.
    """
    if in_random_first_phase(picker, swarm):
        return None
    availability, started = swarm.availability, swarm.in_progress
    new = [i for i in picks if i not in started]
    chosen = set(picks)
    left = [i for i in offered(swarm, peer) if i not in started and i not in chosen]
    if new and left:
        worst = max(new, key=lambda i: (availability[i], -i))
        best = min(left, key=lambda i: (availability[i], i))
        if availability[worst] > availability[best]:
            return (f"rarest-first: picked piece {worst} ({copies(availability[worst])}) while piece {best} "
                    f"({copies(availability[best])}) was offered and needed")
    for a, b in zip(new, new[1:]):
        if availability[a] > availability[b]:
            return (f"rarest-first: listed piece {a} ({copies(availability[a])}) before piece {b} "
                    f"({copies(availability[b])}); the answer is best first, so the rarer piece comes first")
    return None


def strict_priority(picker: object, swarm: SwarmView, peer: PeerView, count: int,
                    picks: Sequence[int]) -> str | None:
    """**strict-priority** (Cohen 2003, "Strict Priority"): every offered partial piece comes
    before the first new piece of the answer, so what was started is finished (and can be
    verified and shared) before anything else is begun."""
    started = swarm.in_progress
    partial = [i for i in offered(swarm, peer) if i in started]
    for position, index in enumerate(picks):
        if index not in started:
            missing = [i for i in partial if i not in picks[:position]]
            if missing:
                return (f"strict-priority: started new piece {index} while partial piece {missing[0]}, which "
                        f"the peer has, was not picked before it")
            return None
    return None


def sequential(picker: object, swarm: SwarmView, peer: PeerView, count: int, picks: Sequence[int]) -> str | None:
    """**sequential**: the *playhead* is the first piece we lack; the offered pieces of the
    window of ``window`` pieces from it (the picker's attribute; 1 without it, strict file
    order) come before any piece outside the window, and the new pieces picked beyond the
    window are the lowest-indexed ones offered there, in increasing order."""
    have, n = swarm.have, swarm.num_pieces
    playhead = next((i for i in range(n) if not have[i]), n)
    end = min(playhead + int(getattr(picker, "window", 1)), n)
    inside = [i for i in range(playhead, end) if peer.has[i] and not have[i]]
    for position, index in enumerate(picks):
        if not playhead <= index < end:
            missing = [i for i in inside if i not in picks[:position]]
            if missing:
                return (f"sequential: picked piece {index}, outside the window {playhead}..{end - 1}, before "
                        f"piece {missing[0]}, which is inside it and offered")
            break
    started = swarm.in_progress
    beyond = [i for i in picks if i >= end and i not in started]
    in_order = [i for i in offered(swarm, peer) if i >= end and i not in started][: len(beyond)]
    if beyond != in_order:
        return (f"sequential: picked the new pieces {beyond} beyond the window; in file order they would "
                f"be {in_order}")
    return None


def random_choice(make: Callable[[], Any], swarm: SwarmView, peer: PeerView, claim: str = "random") -> str | None:
    """**random** and **random-first**: new pieces are drawn at random with ``swarm.rng``,
    never chosen by their copies; ``random-first`` asks it only in the random-first phase.

    The check asks fresh pickers (``make()``) the same question with different rng seeds,
    ``count`` one more than the offered partial pieces, and notes the first new piece of
    each answer: over ``RANDOM_DRAWS`` seeds per new piece, every offered new piece must
    come first at least once. A picker that always takes the rarest (or most common, or
    lowest) piece fails; a fair draw misses one with a probability below ``k * e^-40``.
    """
    picker = make()
    if claim == "random-first" and not in_random_first_phase(picker, swarm):
        return None
    started = swarm.in_progress
    new = [i for i in offered(swarm, peer) if i not in started]
    if len(new) < 2:
        return None
    count = sum(1 for i in offered(swarm, peer) if i in started) + 1
    draws = RANDOM_DRAWS * len(new)
    seen: set[int] = set()
    for seed in range(draws):
        answer = make().btref_pick_pieces(swarm=swarm._replace(rng=random.Random(seed)), peer=peer, count=count)
        first = next((i for i in answer or () if i in new), None)
        if first is not None:
            seen.add(first)
            if len(seen) == len(new):
                return None
    availability = swarm.availability
    never = ", ".join(f"{i} ({copies(availability[i])})" for i in new if i not in seen)
    always = ", ".join(f"{i} ({copies(availability[i])})" for i in sorted(seen)) or "none"
    phase = (f" in the random-first phase (we have {swarm.have.count} of random_first="
             f"{getattr(picker, 'random_first', '?')} pieces)" if claim == "random-first" else "")
    return (f"{claim}: over {draws} rng seeds{phase} the first new piece picked was always one of [{always}], "
            f"never piece {never}; new pieces must be drawn at random with swarm.rng, not chosen by copies")


# --------------------------------------------------------------------------------------
# Chokers: answers of btref_rechoke(swarm, peers, now), one by one or over a run
# --------------------------------------------------------------------------------------


def answer_keys(answer: object) -> list[Hashable]:
    """The keys a choker unchoked: those of a sequence, or of a ``{key: share}`` mapping."""
    if isinstance(answer, Mapping):
        return list(answer)
    return list(answer) if isinstance(answer, Iterable) else []


@attrs.frozen
class Rechoke:
    """One call of a run: when, the peers shown, and the interested peers it unchoked."""

    now: float
    peers: tuple[PeerView, ...]
    unchoked: tuple[Hashable, ...]


def play(choker: Any, swarm: SwarmView, calls: Iterable[tuple[float, Sequence[PeerView]]]) -> list[Rechoke]:
    """Drive ``choker`` through ``calls`` (``now`` and the peers, in time order) as the
    session does: each peer's ``am_choking`` is what the previous answer left it, and an
    unchoked peer that is not interested stays choked (the engine ignores it)."""
    unchoked: set[Hashable] = set()
    run = []
    for now, peers in calls:
        shown = tuple(p if p.am_choking is (p.key not in unchoked) else p._replace(am_choking=not p.am_choking)
                      for p in peers)
        answer = choker.btref_rechoke(swarm=swarm._replace(now=now), peers=shown, now=now)
        interested = {p.key for p in shown if p.peer_interested}
        keys = tuple(k for k in answer_keys(answer) if k in interested)
        unchoked = set(keys)
        run.append(Rechoke(now, shown, keys))
    return run


def _slots(choker: object, *names: str) -> int:
    """The first of the attributes ``names`` the choker has, as a number of slots."""
    for name in names:
        if hasattr(choker, name):
            return int(getattr(choker, name))
    raise PluginError(f"the choker has none of the attributes {', '.join(names)}")


def _fastest(claim: str, slots: int, peers: Sequence[PeerView], unchoked: Sequence[Hashable],
             rate: Callable[[PeerView], float], verb: str) -> str | None:
    """No interested, not snubbed peer is left choked while fewer than ``slots`` unchoked
    interested peers have at least its rate."""
    held = set(unchoked)
    interested = [p for p in peers if p.peer_interested]
    for p in sorted(interested, key=lambda p: -rate(p)):
        if p.key in held or p.snubbed:
            continue
        as_fast = [q for q in interested if q.key in held and rate(q) >= rate(p)]
        if len(as_fast) < slots:
            shown = ", ".join(f"{q.key!r} {rate(q):.0f} B/s" for q in interested if q.key in held) or "nobody"
            return (f"{claim}: left {p.key!r} choked, which {verb} {rate(p):.0f} B/s, while only {len(as_fast)} "
                    f"of its {slots} slots went to interested peers at least that fast (unchoked: {shown})")
    return None


def tit_for_tat(choker: object, swarm: SwarmView, peers: Sequence[PeerView],
                unchoked: Sequence[Hashable]) -> str | None:
    """**tit-for-tat** (Cohen 2003, "BitTorrent's Choking Algorithm"): while we download,
    the ``regular_slots`` interested peers that send us the most (``download_rate``) are
    unchoked: no interested peer is left choked while fewer than ``regular_slots``
    unchoked interested peers send us at least as much. Snubbed peers may be left out
    (Cohen's "Anti-snubbing"); ties may go either way; more peers may be unchoked (the
    optimistic slots)."""
    if swarm.seeding:
        return None
    return _fastest("tit-for-tat", _slots(choker, "regular_slots"), peers, unchoked,
                    lambda p: p.download_rate, "sends us")


def seed_fastest(choker: object, swarm: SwarmView, peers: Sequence[PeerView],
                 unchoked: Sequence[Hashable]) -> str | None:
    """**seed-fastest** (Cohen 2003, "Upload Only"): once we seed, the same rule by the rate
    peers take data from us (``upload_rate``), over ``seed_slots`` slots (or
    ``regular_slots`` for a choker without ``seed_slots``)."""
    if not swarm.seeding:
        return None
    return _fastest("seed-fastest", _slots(choker, "seed_slots", "regular_slots"), peers, unchoked,
                    lambda p: p.upload_rate, "takes from us")


def optimistic_unchoke(choker: object, run: Sequence[Rechoke]) -> str | None:
    """**optimistic-unchoke** (Cohen 2003, "Optimistic Unchoking"), over a run while we
    download.

    At each call the unchoked interested peers beyond the ``regular_slots`` fastest are the
    optimistic ones (*holders*); the interested peers outside the regular slots are the
    *candidates*. The claim:

    1. *filled*: at least ``optimistic_slots`` (1 without the attribute) holders, or every
       candidate when there are fewer;
    2. *held*: a holder keeps its slot for ``optimistic_interval`` seconds (30 without the
       attribute) of ``now``, not of calls, while it stays interested and outside the
       regular slots;
    3. *rotated*: the holders change at more than half of the intervals the run spans.
       The runs of the conformance suite give at least six candidates, so a fair draw
       every interval changes hands five times in six (and a choker that rotates every
       other interval can never pass).
    """
    slots = _slots(choker, "regular_slots")
    wanted = int(getattr(choker, "optimistic_slots", 1))
    interval = float(getattr(choker, "optimistic_interval", OPTIMISTIC_INTERVAL))
    since: dict[Hashable, float] = {}
    previous: frozenset[Hashable] | None = None
    changes = 0
    for call in run:
        interested = {p.key: p for p in call.peers if p.peer_interested}
        ranked = sorted((interested[k] for k in call.unchoked), key=lambda p: -p.download_rate)
        regular = {p.key for p in ranked[:slots]}
        holders = frozenset(p.key for p in ranked[slots:])
        candidates = [k for k in interested if k not in regular]
        if len(holders) < min(wanted, len(candidates)):
            return (f"optimistic-unchoke: at {call.now:g} s no interested peer beyond the {slots} regular slots "
                    f"was unchoked, while {len(candidates)} waited ({', '.join(map(repr, candidates))})")
        for key, start in since.items():
            if key not in holders and key in interested and key not in regular and call.now < start + interval:
                return (f"optimistic-unchoke: {key!r} got the optimistic slot at {start:g} s and lost it at "
                        f"{call.now:g} s, before its {interval:g} s were up")
        since = {key: since.get(key, call.now) for key in holders}
        if previous is not None and holders != previous:
            changes += 1
        previous = holders
    span = run[-1].now - run[0].now if run else 0.0
    rotations = int(span // interval) if interval > 0 else 0
    if rotations >= 2 and 2 * changes <= rotations:
        return (f"optimistic-unchoke: over {span:g} s ({rotations} intervals of {interval:g} s) the optimistic "
                f"slot changed hands {changes} times; it must go to a peer drawn anew every {interval:g} s")
    return None


def seed_round_robin(choker: object, run: Sequence[Rechoke]) -> str | None:
    """**seed-round-robin** (mainline 4.x's seed choking, libtorrent's ``round_robin``),
    over a run while we seed. A peer's *served* time is the seconds it was unchoked so far
    in the run (between one call and the next, a peer unchoked at the first is served).
    A *turn* starts when a peer is unchoked, and again when it keeps its slot past a full
    turn. The claim, at every call:

    1. *held*: a peer keeps its slot for ``turn`` seconds (30 without the attribute) while
       it stays interested;
    2. *filled*: ``max_unchoked`` interested peers are unchoked, or all of them;
    3. *fair*: a peer starting a turn has been served no longer than any interested peer
       left waiting.
    """
    limit = _slots(choker, "max_unchoked")
    turn = float(getattr(choker, "turn", TURN))
    served: dict[Hashable, float] = {}
    started: dict[Hashable, float] = {}
    before: Rechoke | None = None
    for call in run:
        if before is not None:
            for key in before.unchoked:
                served[key] = served.get(key, 0.0) + call.now - before.now
        interested = [p.key for p in call.peers if p.peer_interested]
        unchoked = set(call.unchoked)
        for key, start in started.items():
            if key in interested and key not in unchoked and call.now < start + turn:
                return (f"seed-round-robin: choked {key!r} at {call.now:g} s, {call.now - start:g} s into its "
                        f"turn of {turn:g} s, although it was still interested")
        if len(unchoked) < min(limit, len(interested)):
            return (f"seed-round-robin: at {call.now:g} s unchoked {len(unchoked)} of {len(interested)} interested "
                    f"peers with {limit} slots")
        starting = [k for k in call.unchoked if k not in started or call.now >= started[k] + turn]
        waiting = [k for k in interested if k not in unchoked]
        for key in starting:
            for other in waiting:
                if served.get(key, 0.0) > served.get(other, 0.0) + 1e-6:
                    return (f"seed-round-robin: at {call.now:g} s gave a turn to {key!r} (served "
                            f"{served.get(key, 0.0):g} s) while {other!r} (served {served.get(other, 0.0):g} s) "
                            f"waited; free slots go to the peers served least")
        started = {k: started[k] if k in started and call.now < started[k] + turn else call.now
                   for k in call.unchoked}
        before = call
    return None


def deficit_bound(choker: object, swarm: SwarmView, peers: Sequence[PeerView],
                  unchoked: Sequence[Hashable]) -> str | None:
    """**deficit-bound** (Bharambe, Herley and Padmanabhan 2006, block-level tit for tat):
    while we download, no unchoked interested peer owes us ``threshold`` bytes or more,
    where a peer's debt is ``bytes_uploaded - bytes_downloaded`` (what we sent it minus
    what it sent us). Which of the peers within the bound are unchoked is not judged."""
    if swarm.seeding:
        return None
    limit = float(getattr(choker, "threshold"))
    shown = {p.key: p for p in peers}
    for key in unchoked:
        p = shown[key]
        owed = p.bytes_uploaded - p.bytes_downloaded
        if owed >= limit:
            return (f"deficit-bound: unchoked {key!r}, which owes us {owed} bytes (we sent it {p.bytes_uploaded}, "
                    f"it sent us {p.bytes_downloaded}), while the threshold is {limit:.0f} bytes")
    return None
