"""The walkthrough: a four-piece swarm told round by round (BEP 3 "peer messages", "pieces";
Cohen 2003, "Incentives Build Robustness in BitTorrent", section 2.4, "piece selection").

The story the popular articles tell: a seed S holds a file of four pieces, and three peers
A, B, C start empty. In round 1 S hands out three *different* pieces, one to each; from
round 2 the peers trade among themselves while S feeds in the piece nobody has yet; every
piece is hash-checked on arrival; and once the peers hold every piece between them, S
could leave. Here that swarm is not told but *run*: the ``walkthrough`` scenario of
:mod:`btref.sim.scenarios` plays it in the simulator with the real
:class:`~btref.session.Session`, the picker and the choker named on the command line, and
the real ``sha1`` hash scheme. :func:`play` runs it, :func:`read` turns the run into
rounds of :class:`Move` objects, and :func:`story` into the text ``btref sim walkthrough``
prints.

The model: a round lasts :data:`ROUND` seconds; every peer, the seed too, sends and
receives at most :data:`PIECES_PER_ROUND` pieces a round (one per neighbour among four);
a peer asks each neighbour for one piece at a time; a piece is one 16 KiB block.

What no client can promise, and the story says so. In round 1 every piece is on S alone,
all equally rare, so rarest first has nothing to go on: each peer draws one at random, and
three draws among four pieces all differ 3 times in 8. The scenario's default seed
(:data:`SEED`) is a run where they do; ``--seed 0`` shows two peers drawing the same piece.
From round 2 on each peer sees the others' ``have`` messages and asks S only for what no
peer holds. With so few pieces a peer is in end game (BEP 3) as soon as it has asked for
everything it lacks, so a piece can arrive twice: the story marks such duplicates.

Invariants: every delivered piece appears in exactly one round; a move's ``kind`` is
judged against what the peers held just before it (earlier moves of the same round
included); :attr:`Walkthrough.seed_needed` is the first round after which the peers (the
seeds left out) hold every piece between them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.sim.swarm import Swarm

__all__ = ["ROUND", "PIECES_PER_ROUND", "PICKER", "SEED", "Move", "Walkthrough", "rounds", "round_of", "read",
           "story", "play"]

#: Seconds in a round.
ROUND = 1.0
#: Pieces a peer can send, and receive, in a round.
PIECES_PER_ROUND = 3
#: The walkthrough's picker: rarest first from the first piece. Its default random phase
#: (``random_first=4``) would cover the whole four-piece file and make it ``random``.
PICKER = "rarest-first:random_first=0"
#: The walkthrough's default run seed: one where the three blind draws of round 1 differ.
SEED = 21


@attrs.frozen
class Move:
    """One piece crossing one connection."""

    time: float
    src: str
    dst: str
    index: int
    #: ``"new"``: no peer (seeds aside) held the piece yet; ``"copy"``: another peer did;
    #: ``"duplicate"``: ``dst`` already had it (end game), so it was wasted.
    kind: str
    #: ``dst``'s hash check: ``True`` passed, ``False`` failed, ``None`` none (a duplicate).
    check: bool | None


@attrs.frozen
class Walkthrough:
    """A walkthrough run read round by round."""

    #: The moves of each round, round 1 first, in the order the pieces arrived.
    rounds: list[list[Move]]
    pieces: int
    seeds: list[str]
    leechers: list[str]
    #: The round after which the peers held every piece between them (the seeds could
    #: leave), or ``None``.
    seed_needed: int | None
    #: The round in which the last peer completed, or ``None`` if one did not.
    done: int | None
    #: Pieces sent, by peer.
    uploads: dict[str, int]
    picker: str = ""
    choker: str = ""
    seed: int = 0

    def moves(self) -> list[Move]:
        """Every move, round 1 first."""
        return [move for moves in self.rounds for move in moves]

    def duplicates(self) -> list[Move]:
        """The pieces that reached a peer that had them already."""
        return [move for move in self.moves() if move.kind == "duplicate"]


def round_of(time: float, round_length: float = ROUND) -> int:
    """The round a piece arriving at ``time`` belongs to: ``ceil(time / round_length)``, at
    least 1. Latency (a small fraction of a round) is forgiven: what lands up to 5% of a
    round past a border still counts for the round before."""
    return max(1, math.ceil(round(time / round_length - 0.05, 6)))


def rounds(transfers: list[tuple[float, str, str, int]], round_length: float) -> list[list[tuple[str, str, int]]]:
    """Transfers ``(time, src, dst, index)`` grouped into rounds of ``round_length`` seconds
    (:func:`round_of`); a round with no transfer is an empty list."""
    out: list[list[tuple[str, str, int]]] = []
    for time, src, dst, index in transfers:
        number = round_of(time, round_length)
        while len(out) < number:
            out.append([])
        out[number - 1].append((src, dst, index))
    return out


def read(swarm: Swarm, metrics: dict[str, Any], round_length: float = ROUND) -> Walkthrough:
    """Read a walkthrough run (a swarm played with ``record_transfers=True``) into rounds."""
    seeds = [p["name"] for p in metrics["peers"] if p["seed"]]
    leechers = sorted(p["name"] for p in metrics["peers"] if not p["seed"])
    checks = {(peer, index): passed for _, peer, index, passed in swarm.checks or ()}
    held: dict[str, set[int]] = {name: set() for name in leechers}
    grouped: list[list[Move]] = []
    for time, src, dst, index in swarm.transfers or ():
        if index in held[dst]:
            kind, check = "duplicate", None
        else:
            kind = "copy" if any(index in pieces for pieces in held.values()) else "new"
            check = checks.get((dst, index))
            if check:
                held[dst].add(index)
        number = round_of(time, round_length)
        while len(grouped) < number:
            grouped.append([])
        grouped[number - 1].append(Move(time, src, dst, index, kind, check))
    seed_needed = None
    together: set[int] = set()
    for number, moves in enumerate(grouped, 1):
        together.update(move.index for move in moves if move.check)
        if len(together) == metrics["pieces"]:
            seed_needed = number
            break
    last = metrics["summary"]["last_completion"]
    done = round_of(last, round_length) if metrics["summary"]["completed"] == len(leechers) and last else None
    uploads = {p["name"]: p["bytes_up"] // metrics["piece_length"] for p in metrics["peers"]}
    return Walkthrough(grouped, metrics["pieces"], seeds, leechers, seed_needed, done, uploads,
                       metrics.get("picker", ""), metrics.get("choker", ""), swarm.seed)


def story(walk: Walkthrough) -> str:
    """The round-by-round text of a walkthrough run."""
    seeds, leechers = " and ".join(walk.seeds), ", ".join(walk.leechers)
    lines = [f"Seed {seeds} and {len(walk.leechers)} empty peers ({leechers}) share {walk.pieces} pieces; "
             f"each peer sends and receives up to {PIECES_PER_ROUND} pieces a round.",
             f"Picker {walk.picker}, choker {walk.choker}, seed {walk.seed}. "
             "Every piece is checked with SHA-1 on arrival.", ""]
    held: dict[str, set[int]] = {name: set() for name in walk.leechers}
    for number, moves in enumerate(walk.rounds, 1):
        lines.append(f"round {number}:" + ("" if moves else " nothing arrived"))
        for move in moves:
            lines.append(f"  {move.src} -> {move.dst}: {_said(move, held)}")
            if move.check:
                held[move.dst].add(move.index)
        lines.append("  the peers hold  " + "  ".join(f"{name}{{{','.join(map(str, sorted(held[name])))}}}"
                                                    for name in walk.leechers))
        if number == 1:
            lines += [f"  {line}" for line in _first_draws(walk, moves)]
        if number == walk.seed_needed:
            lines.append(f"  -> the peers hold all {walk.pieces} pieces between them: {seeds} could leave now")
    lines.append("")
    if walk.seed_needed is not None:
        lines.append(f"{seeds} was needed for {_rounds(walk.seed_needed)}; "
                     + (f"the last peer completed in round {walk.done}." if walk.done else "not every peer completed."))
    wasted = walk.duplicates()
    lines.append(f"{len(wasted)} piece{'s' if len(wasted) != 1 else ''} arrived twice (end game)." if wasted
                 else "No piece arrived twice.")
    for name in walk.seeds:
        sent = [move for move in walk.moves() if move.src == name]
        new = sum(1 for move in sent if move.kind == "new")
        lines.append(f"{name} sent {len(sent)} pieces: {new} new to the peers, {len(sent) - new} they had already.")
    lines.append("pieces uploaded: " + ", ".join(f"{name} {count}" for name, count in sorted(walk.uploads.items())))
    return "\n".join(lines)


def play(*, seed: int | None = None, picker: str | None = None, choker: str = "tit-for-tat",
         peers: int | None = None) -> tuple[Walkthrough, Swarm, dict[str, Any]]:
    """Run the ``walkthrough`` scenario (its own picker and seed unless given) and read it."""
    from btref.sim import scenarios  # scenarios imports this module for its constants

    swarm, metrics = scenarios.run("walkthrough", seed=seed, picker=picker, choker=choker, peers=peers,
                                   record_transfers=True)
    return read(swarm, metrics), swarm, metrics


def _said(move: Move, held: dict[str, set[int]]) -> str:
    if move.kind == "duplicate":
        return f"piece {move.index} again: {move.dst} already had it (a duplicate: end game)"
    check = {True: "ok: sha1 matches", False: "FAILED the sha1 check", None: "not checked"}[move.check]
    if move.kind == "new":
        return f"piece {move.index} {check} (no peer had it yet)"
    if move.src in held:  # a peer passing on what it has
        return f"piece {move.index} {check}"
    others = [name for name, pieces in held.items() if move.index in pieces]
    return f"piece {move.index} {check} (a copy: {' and '.join(others)} had it)"


def _first_draws(walk: Walkthrough, moves: list[Move]) -> list[str]:
    """What round 1 shows: the peers drew blind, and whether their draws differed."""
    from_seed = [move for move in moves if move.src in walk.seeds]
    if not from_seed:
        return []
    drawn = [move.index for move in from_seed]
    odds = Fraction(math.perm(walk.pieces, len(drawn)), walk.pieces ** len(drawn))
    how = f"{odds.numerator} times in {odds.denominator}" if odds else "never"
    said = [f"Every piece was on {' and '.join(walk.seeds)} alone, so all were equally rare: "
            "each peer drew one at random."]
    if len(set(drawn)) == len(drawn):
        said.append(f"The {len(drawn)} draws differ (among {walk.pieces} pieces they do {how}): "
                    "no piece left the seed twice.")
    else:
        twice = sorted({index for index in drawn if drawn.count(index) > 1})
        said.append(f"Some peers drew the same piece ({', '.join(map(str, twice))}): the {len(drawn)} draws "
                    f"differ only {how}. Try another --seed.")
    return said


def _rounds(count: int) -> str:
    return f"{count} round{'s' if count != 1 else ''}"
