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
    import btref.sim.swarm

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
    #: The peers (seeds aside) that held the piece just before it arrived.
    holders: tuple[str, ...]
    #: ``dst``'s hash check: ``True`` passed, ``False`` failed, ``None`` none (a duplicate).
    check: bool | None

    @property
    def kind(self) -> str:
        """``"new"``: no peer held the piece yet; ``"copy"``: another peer did;
        ``"duplicate"``: ``dst`` already had it (end game), so it was wasted."""
        if self.dst in self.holders:
            return "duplicate"
        return "copy" if self.holders else "new"


@attrs.frozen
class Walkthrough:
    """A walkthrough run read round by round."""

    #: The moves of each round, round 1 first, in the order the pieces arrived.
    rounds: list[list[Move]]
    #: What each peer (seeds aside) held at the end of each round.
    held: list[dict[str, tuple[int, ...]]]
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

    def first_draws(self) -> list[Move]:
        """What the seeds sent in round 1: each peer's blind draw."""
        return [move for move in self.rounds[0] if move.src in self.seeds] if self.rounds else []

    def draws_differ(self) -> bool:
        """In round 1 the seeds sent every peer a piece, and no two the same."""
        first = self.first_draws()
        return (sorted(move.dst for move in first) == self.leechers
                and len({move.index for move in first}) == len(first))

    def tells_the_article_story(self) -> bool:
        """The article's story: round 1's draws differ, no piece arrives twice, the seeds
        are needed for at most 2 rounds and every peer is done within 4."""
        return (self.draws_differ() and not self.duplicates() and self.seed_needed is not None
                and self.seed_needed <= 2 and self.done is not None and self.done <= 4)


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


def read(swarm: btref.sim.swarm.Swarm, metrics: dict[str, Any], round_length: float = ROUND) -> Walkthrough:
    """Read a walkthrough run (a swarm played with ``record_transfers=True``) into rounds."""
    seeds = [p["name"] for p in metrics["peers"] if p["seed"]]
    leechers = sorted(p["name"] for p in metrics["peers"] if not p["seed"])
    checks = {(peer, index): passed for _, peer, index, passed in swarm.checks or ()}
    held: dict[str, set[int]] = {name: set() for name in leechers}
    grouped: list[list[Move]] = []
    at_end: list[dict[str, tuple[int, ...]]] = []
    for time, src, dst, index in swarm.transfers or ():
        number = round_of(time, round_length)
        while len(grouped) < number:  # a round closes: what the peers hold now
            at_end.append({name: tuple(sorted(pieces)) for name, pieces in held.items()})
            grouped.append([])
        holders = tuple(name for name in leechers if index in held[name])
        check = None if dst in holders else checks.get((dst, index))
        if check:
            held[dst].add(index)
        grouped[number - 1].append(Move(time, src, dst, index, holders, check))
    at_end = at_end[1:] + [{name: tuple(sorted(pieces)) for name, pieces in held.items()}]
    seed_needed = next((number for number, holding in enumerate(at_end, 1)
                        if len(set().union(*holding.values())) == metrics["pieces"]), None)
    last = metrics["summary"]["last_completion"]
    done = round_of(last, round_length) if metrics["summary"]["completed"] == len(leechers) and last else None
    uploads = {p["name"]: p["bytes_up"] // metrics["piece_length"] for p in metrics["peers"]}
    return Walkthrough(grouped, at_end, metrics["pieces"], seeds, leechers, seed_needed, done, uploads,
                       metrics.get("picker", ""), metrics.get("choker", ""), swarm.seed)


def story(walk: Walkthrough) -> str:
    """The round-by-round text of a walkthrough run."""
    seeds, leechers = " and ".join(walk.seeds), ", ".join(walk.leechers)
    lines = [f"Seed {seeds} and {len(walk.leechers)} empty peers ({leechers}) share {walk.pieces} pieces; "
             f"each peer sends and receives up to {PIECES_PER_ROUND} pieces a round.",
             f"Picker {walk.picker}, choker {walk.choker}, seed {walk.seed}. "
             "Every piece is checked with SHA-1 on arrival.", ""]
    for number, (moves, held) in enumerate(zip(walk.rounds, walk.held), 1):
        lines.append(f"round {number}:" + ("" if moves else " nothing arrived"))
        lines += [f"  {move.src} -> {move.dst}: {_said(move, walk.seeds)}" for move in moves]
        lines.append("  the peers hold  " + "  ".join(f"{name}{{{','.join(map(str, pieces))}}}"
                                                    for name, pieces in held.items()))
        if number == 1:
            lines += [f"  {line}" for line in _first_draws(walk)]
        if number == walk.seed_needed:
            lines.append(f"  -> the peers hold all {walk.pieces} pieces between them: {seeds} could leave now")
    lines.append("")
    if walk.seed_needed is not None:
        done = f"the last peer completed in round {walk.done}." if walk.done else "not every peer completed."
        lines.append(f"{seeds} was needed for {_rounds(walk.seed_needed)}; {done}")
    wasted = walk.duplicates()
    lines.append(f"{len(wasted)} piece{'s' if len(wasted) != 1 else ''} arrived twice (end game)." if wasted
                 else "No piece arrived twice.")
    for name in walk.seeds:
        sent = [move for move in walk.moves() if move.src == name]
        new = sum(1 for move in sent if move.kind == "new")
        lines.append(f"{name} sent {len(sent)} pieces: {new} new to the peers, {len(sent) - new} they had already.")
    lines.append("pieces uploaded: " + ", ".join(f"{name} {count}" for name, count in sorted(walk.uploads.items())))
    return "\n".join(lines)


def play(*, seed: int | None = None, picker: str | None = None, choker: str = "tit-for-tat", peers: int | None = None,
         pieces: int | None = None) -> tuple[Walkthrough, btref.sim.swarm.Swarm, dict[str, Any]]:
    """Run the ``walkthrough`` scenario (its own picker and seed unless given) and read it."""
    from btref.sim import scenarios  # scenarios imports this module for its constants

    swarm, metrics = scenarios.run("walkthrough", seed=seed, picker=picker, choker=choker, peers=peers,
                                   pieces=pieces, record_transfers=True)
    return read(swarm, metrics), swarm, metrics


def _said(move: Move, seeds: list[str]) -> str:
    if move.kind == "duplicate":
        return f"piece {move.index} again: {move.dst} already had it (a duplicate: end game)"
    check = {True: "ok: sha1 matches", False: "FAILED the sha1 check", None: "not checked"}[move.check]
    if move.kind == "new":
        return f"piece {move.index} {check} (no peer had it yet)"
    if move.src not in seeds:  # a peer passing on what it has
        return f"piece {move.index} {check}"
    return f"piece {move.index} {check} (a copy: {' and '.join(move.holders)} had it)"


def _first_draws(walk: Walkthrough) -> list[str]:
    """What round 1 shows: the peers picked blind, and whether their picks differed."""
    drawn = [move.index for move in walk.first_draws()]
    if not drawn:
        return []
    odds = Fraction(math.perm(walk.pieces, len(drawn)), walk.pieces ** len(drawn))
    how = f"{odds.numerator} times in {odds.denominator}"
    seeds = " and ".join(walk.seeds)
    said = [f"All pieces were on {seeds} alone, and no peer sees what the others ask for: each picked blind."]
    if len(set(drawn)) == len(drawn):
        said.append(f"The {len(drawn)} picks differ (random picks among {walk.pieces} pieces do, {how}): "
                    f"no piece left {seeds} twice.")
    else:
        twice = ", ".join(str(index) for index in sorted(set(drawn)) if drawn.count(index) > 1)
        odds_said = (f"random picks among {walk.pieces} pieces differ only {how}" if odds
                     else f"{len(drawn)} picks among {walk.pieces} pieces cannot all differ")
        said.append(f"Piece {twice} was picked more than once, so {seeds} sent it more than once ({odds_said}).")
    return said


def _rounds(count: int) -> str:
    return f"{count} round{'s' if count != 1 else ''}"
