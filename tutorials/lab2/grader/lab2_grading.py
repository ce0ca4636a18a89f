"""Lab 2's grader: what the simulator says the answers are (BEP 3; the swarm model of
:mod:`btref.sim`); the student's sheet is read by ``tutorials/answer_sheet.py``.

Nothing here knows an answer: :class:`Facts` runs the lab's commands (``btref sim``, into
a temporary folder) or the walkthrough's own functions when a test first asks, so the
grader follows the simulator and the walkthrough wherever they go.
"""

from __future__ import annotations

import contextlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from btref.cli import main as btref
from btref.sim import scenarios, walkthrough


class Facts:
    """What the simulator says about the lab's runs, each computed the first time it is asked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sim = cache(self._sim)
        self.story = cache(self._story)

    def _sim(self, scenario: str, *options: str) -> dict[str, Any]:
        """``btref sim SCENARIO OPTIONS --out DIR --no-plots``: the metrics.json it writes."""
        out = self.folder / "-".join((scenario, *options)).replace("--", "")
        with contextlib.redirect_stdout(io.StringIO()):
            btref(["sim", scenario, *options, "--out", str(out), "--no-plots"])
        metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())
        return metrics

    def _story(self, seed: int = 0, picker: str = "rarest-first") -> tuple[list[list[tuple[str, str, int]]], int]:
        """``btref sim walkthrough --seed SEED --picker PICKER``, as the walkthrough groups it:
        the rounds (who sent which piece to whom), and the number of pieces."""
        swarm, metrics = scenarios.run("walkthrough", seed=seed, picker=picker, record_transfers=True)
        seed_peer = next(p for p in swarm.peers.values() if p.spec.seed)
        rounds = walkthrough.rounds(swarm.transfers or [], metrics["piece_length"] / seed_peer.spec.upload)
        return rounds, metrics["pieces"]

    def seed_needed(self, seed: int = 0, picker: str = "rarest-first") -> int | None:
        """The round after which the peers hold every piece between them (the seed could leave)."""
        rounds, pieces = self.story(seed, picker)
        held: set[int] = set()
        for number, moves in enumerate(rounds, 1):
            held.update(index for _, _, index in moves)
            if len(held) == pieces:
                return number
        return None

    def rounds(self, seed: int = 0, picker: str = "rarest-first") -> int:
        """How many rounds the story has: the last peer completes in the last one."""
        return len(self.story(seed, picker)[0])

    def mean_download(self, metrics: dict[str, Any], free_riders: bool) -> float:
        """The mean download time of the peers tagged ``free-rider`` (or of the others)."""
        times: list[float] = [p["download_time"] for p in metrics["peers"]
                 if not p["seed"] and ("free-rider" in p["tags"]) == free_riders]
        return sum(times) / len(times)
