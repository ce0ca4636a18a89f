"""Lab 3's grader: the student's chokers, as plugins and as plain classes (BEP 3 choking;
the hook ``btref_rechoke`` of :mod:`btref.hookspecs`).

The chokers are never installed. :func:`register` writes the entry points of the lab's
three plugins into a throwaway ``*.dist-info`` folder and puts it first on ``sys.path``,
where :mod:`importlib.metadata` finds it, so :func:`btref.plugins.create` builds the
student's classes by name, imported from the graded folder (first on ``sys.path`` too).
The chokers conformance suite (``conformance/chokers``: the contract, and the claims of
:mod:`btref.claims`) then runs unchanged: its test functions are called with
``choker_name``, exactly as ``btref conformance chokers top4`` would run them on an
installed plugin.

The behaviour checks build the classes directly and ask them with views made by hand
(:func:`btref.views.peer_view`), as the suite does.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from btref import plugins
from btref.commands.conformance import suites_root
from btref.views import PeerView, peer_view, swarm_view

#: The lab's plugins: entry-point name -> class name in lab3_chokers.py.
CHOKERS = {"top4": "Top4", "top4-opt": "Top4Optimistic", "mini-propshare": "MiniPropShare"}
N = 16  # pieces in the torrents the views describe


def suite_module(name: str) -> ModuleType:
    """``conformance/chokers/NAME.py``, imported as a module."""
    path = suites_root() / "chokers" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"chokers_{name}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"lab 3's grader needs the chokers conformance suite at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contract_suite() -> ModuleType:
    """The suite's contract tests (``test_choker_contract.py``)."""
    return suite_module("test_choker_contract")


def claim_tests() -> tuple[ModuleType, dict[str, Callable[..., None]]]:
    """The suite's claim tests (``test_choker_claims.py``), and each claim's test by the
    claim it is marked with (``@pytest.mark.claim(NAME)``)."""
    module = suite_module("test_choker_claims")
    tests = {}
    for value in vars(module).values():
        for mark in getattr(value, "pytestmark", ()):
            if mark.name == "claim":
                tests[mark.args[0]] = value
    return module, tests


def register(folder: Path) -> None:
    """Publish the lab's plugins from a dist-info in ``folder`` (put first on ``sys.path``)."""
    info = folder / "lab3_chokers_grading-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab3-chokers-grading\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[btref]\n" + "".join(f"{name} = lab3_chokers:{cls}\n" for name, cls in CHOKERS.items()))
    sys.path.insert(0, str(folder))
    plugins.available(refresh=True)


def unregister(folder: Path) -> None:
    sys.path.remove(str(folder))
    plugins.available(refresh=True)


def peers(*rates: float, interested: bool | Sequence[bool] = True, prefix: str = "p") -> list[PeerView]:
    """Connected peers ``p0, p1, ...`` sending us ``rates`` bytes per second."""
    flags = [interested] * len(rates) if isinstance(interested, bool) else list(interested)
    return [peer_view(f"{prefix}{i}", N, peer_interested=flag, download_rate=float(rate))
            for i, (rate, flag) in enumerate(zip(rates, flags))]


class Asker:
    """Asks one choker, as a session does: one ``swarm.rng`` for all its calls."""

    def __init__(self, choker: Any, seed: int = 0, seeding: bool = False) -> None:
        self.choker = choker
        self.rng = random.Random(seed)
        self.seeding = seeding

    def __call__(self, peer_list: Sequence[PeerView], now: float) -> Any:
        swarm = swarm_view(N, rng=self.rng, now=now, seeding=self.seeding, have=range(N) if self.seeding else ())
        return self.choker.btref_rechoke(swarm=swarm, peers=list(peer_list), now=now)


def keys(answer: Any) -> list[Any]:
    """The keys an answer unchokes (a sequence, or a mapping's keys)."""
    return list(answer.keys()) if isinstance(answer, Mapping) else list(answer or [])
