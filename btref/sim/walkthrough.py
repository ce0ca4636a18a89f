"""The walkthrough: a tiny swarm told round by round (BEP 3 "peer messages"; Cohen 2003).

One seed S and three empty peers A, B, C share a 4-piece file. Every peer uploads one
piece per *round* (the time S needs to send one piece), so the story reads like the
pictures in a textbook: who sent which piece to whom, round after round, until the peers
hold every piece *between them*. From that moment the seed could leave and the swarm would
still finish: the file survives its first source. That is the whole point of BitTorrent.
With so few pieces the engine is in end game almost at once (BEP 3 "end game"), so a
block may come twice: the story marks such duplicates.

:func:`rounds` groups the recorded transfers (``Swarm.transfers``) by round;
:func:`story` turns them into the text ``btref sim walkthrough`` prints.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["rounds", "story"]


def rounds(transfers: list[tuple[float, str, str, int]], round_length: float) -> list[list[tuple[str, str, int]]]:
    """Transfers ``(time, src, dst, index)`` grouped into rounds of ``round_length`` seconds.

    A transfer finishing at time *t* belongs to round ``ceil(t / round_length)`` (latency,
    a small fraction of a round, is ignored by rounding down what lies just past a border).
    """
    out: list[list[tuple[str, str, int]]] = []
    for time, src, dst, index in transfers:
        number = max(1, math.ceil(round(time / round_length - 0.05, 6)))
        while len(out) < number:
            out.append([])
        out[number - 1].append((src, dst, index))
    return out


def story(metrics: dict[str, Any], transfers: list[tuple[float, str, str, int]], round_length: float) -> str:
    """The round-by-round text of a walkthrough run."""
    pieces = metrics["pieces"]
    seeds = {p["name"] for p in metrics["peers"] if p["seed"]}
    leechers = sorted(p["name"] for p in metrics["peers"] if not p["seed"])
    held: dict[str, set[int]] = {name: set() for name in leechers}
    lines = [f"{len(seeds)} seed ({', '.join(sorted(seeds))}) and {len(leechers)} empty peers "
             f"({', '.join(leechers)}); {pieces} pieces; one piece per peer per round", ""]
    leave_round = None
    for number, moves in enumerate(rounds(transfers, round_length), 1):
        said = []
        for src, dst, index in moves:
            late = " (a duplicate: end game)" if index in held[dst] else ""
            said.append(f"{src} -> {dst}: piece {index}{late}")
            held[dst].add(index)
        lines.append(f"round {number}: {', '.join(said) or '(nothing sent)'}")
        have = "  ".join(f"{name}{{{','.join(map(str, sorted(held[name])))}}}" for name in leechers)
        lines.append(f"         peers now hold: {have}")
        if leave_round is None and len(set().union(*held.values())) == pieces:
            leave_round = number
            lines.append(f"         -> the peers hold all {pieces} pieces between them: "
                         f"{', '.join(sorted(seeds))} could leave now")
    finished = [p for p in metrics["peers"] if p["download_time"] is not None]
    lines.append("")
    if leave_round is not None:
        lines.append(f"the seed was needed for {leave_round} rounds; "
                     f"{len(finished)} of {len(leechers)} peers completed after "
                     f"{metrics['summary']['last_completion'] / round_length:.1f} rounds")
    up = {p["name"]: p["bytes_up"] // metrics["piece_length"] for p in metrics["peers"]}
    lines.append("pieces uploaded: " + ", ".join(f"{name} {count}" for name, count in sorted(up.items())))
    return "\n".join(lines)
