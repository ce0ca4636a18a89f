"""Lab 2's grader: what the simulator says the answers are (BEP 3; the swarm model of
:mod:`btref.sim`); the student's sheet is read by ``tutorials/answer_sheet.py``.

Nothing here knows an answer: :class:`Facts` runs the lab's commands (``btref sim``, into
a temporary folder) or the walkthrough's own reading of its run
(:func:`btref.sim.walkthrough.play`) when a test first asks, so the grader follows the
simulator and the walkthrough wherever they go.
"""

from __future__ import annotations

import contextlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from btref.cli import main as btref
from btref.sim import walkthrough


class Facts:
    """What the simulator says about the lab's runs, each computed the first time it is asked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sim = cache(self._sim)
        self.walk = cache(self._walk)

    def _sim(self, scenario: str, *options: str) -> dict[str, Any]:
        """``btref sim SCENARIO OPTIONS --out DIR --no-plots``: the metrics.json it writes."""
        out = self.folder / "-".join((scenario, *options)).replace("--", "")
        with contextlib.redirect_stdout(io.StringIO()):
            btref(["sim", scenario, *options, "--out", str(out), "--no-plots"])
        metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())
        return metrics

    def _walk(self, seed: int | None = None, picker: str | None = None) -> walkthrough.Walkthrough:
        """``btref sim walkthrough [--seed SEED] [--picker PICKER]``, read round by round as
        the walkthrough reads it (its own seed and picker unless given)."""
        return walkthrough.play(seed=seed, picker=picker)[0]

    def mean_download(self, metrics: dict[str, Any], free_riders: bool) -> float:
        """The mean download time of the peers tagged ``free-rider`` (or of the others)."""
        times: list[float] = [p["download_time"] for p in metrics["peers"]
                 if not p["seed"] and ("free-rider" in p["tags"]) == free_riders]
        return sum(times) / len(times)
