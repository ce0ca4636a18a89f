"""Lab 6's grader (BEP 3; Cohen 2003, section 2): the student's picker, built from DIR.

``btref lab grade 6 DIR`` puts DIR first on ``sys.path``, so ``import picker_lab`` finds
the student's package. Nothing is installed: for the parts of btref that find a picker
by name (the conformance suite, the simulator), :func:`published` writes the metadata
``pip install`` would write, an entry point in the group ``btref``, into a scratch folder
and puts that folder on the path. The plugin is then ``lab6-graded``, whatever the
student's own ``pyproject.toml`` calls it. :func:`suite` runs btref's pickers conformance
suite on it once, contract and claims, for the groups "contract" and "claims" to read.
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


@attrs.frozen
class Outcome:
    """One test of the conformance suite: ``passed``, ``failed`` or ``skipped``, and the first lines of why."""

    outcome: str
    #: The suite's test module, e.g. ``test_picker_contract``.
    module: str
    message: str = ""


@pytest.fixture(scope="session")
def suite(published: Published, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """btref's pickers conformance suite (what ``btref conformance pickers NAME`` runs) on the
    student's picker, once: each test's outcome by its name without the ``[plugin]`` part.
    Claim tests of claims the picker does not declare are deselected, so they are absent."""
    import subprocess
    import xml.etree.ElementTree as ElementTree

    from btref.commands.common import CommandError
    from btref.commands.conformance import command

    try:
        cmd = command("pickers", [published.name])
    except CommandError as exc:
        pytest.fail(f"cannot run the pickers conformance suite: {exc}")
    folder = tmp_path_factory.mktemp("suite")
    report = folder / "junit.xml"
    subprocess.run([*cmd, f"--junitxml={report}"], cwd=folder, env=published.env, capture_output=True,
                   text=True, timeout=600, check=False)
    if not report.is_file():
        pytest.fail("the pickers conformance suite did not run (no report); try btref conformance pickers yourself")
    results = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name, module = case.get("name", "").split("[")[0], case.get("classname", "").split(".")[-1]
        problem = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if problem is None:
            results[name] = Outcome("passed", module)
        else:
            text = " ".join((problem.get("message") or problem.text or "").split()).removeprefix("Failed: ")
            results[name] = Outcome("skipped" if problem.tag == "skipped" else "failed", module, text[:400])
    return results
