"""Lab 6's grader (BEP 3; Cohen 2003, section 2): the student's picker, built from DIR.

``btref lab grade 6 DIR`` puts DIR first on ``sys.path``, so ``import picker_lab`` finds
the student's package. Nothing is installed: for the parts of btref that find a picker
by name (the conformance suite, the simulator), :func:`plugin_name` writes the metadata
``pip install`` would write, an entry point in the group ``btref``, into a scratch folder
and puts that folder on the path. The plugin is then ``lab6-graded``, whatever the
student's own ``pyproject.toml`` calls it.
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings

#: The name the grader publishes the student's picker under.
NAME = "lab6-graded"

settings.register_profile("lab6", max_examples=60, deadline=None, derandomize=True, report_multiple_bugs=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("lab6")


def describe(exc: BaseException) -> str:
    """An exception in one line: its type, and its message or what a bare one means."""
    if isinstance(exc, NotImplementedError) and not str(exc):
        return "NotImplementedError (a method of the starter is still to be written)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@pytest.fixture(scope="session")
def picker_class() -> type[Any]:
    """The student's ``picker_lab.RarestFirstPicker``."""
    try:
        return importlib.import_module("picker_lab").RarestFirstPicker  # type: ignore[no-any-return]
    except Exception as exc:  # a student's package may fail to import in any way
        pytest.fail(f"cannot import picker_lab.RarestFirstPicker: {describe(exc)}")


@pytest.fixture(scope="session")
def picker(picker_class: type[Any]) -> Callable[..., Any]:
    """Build a fresh picker (keyword arguments are its parameters), failing at once, with
    one line, while ``btref_pick_pieces`` cannot answer a plain question yet: the property
    tests then do not spend their time shrinking an exception."""
    from btref.views import peer_view, swarm_view

    def make(**params: Any) -> Any:
        return picker_class(**params)

    try:
        answer = make().btref_pick_pieces(swarm=swarm_view(8, availability=[1] * 8, rng=random.Random(0)),
                                          peer=peer_view("p", 8, has=range(8)), count=2)
        list(answer)
    except Exception as exc:  # the student's code may raise anything
        pytest.fail(f"btref_pick_pieces does not answer yet: {describe(exc)}")
    return make


@attrs.frozen
class Published:
    """The student's picker as an installed plugin: its name, and the environment a
    ``python`` started by the grader needs to find it."""

    name: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, lab_dir: Path, picker: Callable[..., Any]) -> Published:
    """The student's picker published as plugin :data:`NAME`, in this process and for the
    processes it starts."""
    import sys

    from btref import plugins

    site = tmp_path_factory.mktemp("site")
    meta = site / "lab6_graded-0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {NAME}\nVersion: 0\n", encoding="utf-8")
    (meta / "entry_points.txt").write_text(f"[btref]\n{NAME} = picker_lab:RarestFirstPicker\n", encoding="utf-8")
    sys.path.insert(1, str(site))
    plugins.available(refresh=True)
    paths = [str(site), str(lab_dir), os.environ.get("PYTHONPATH", "")]
    return Published(NAME, {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)})
