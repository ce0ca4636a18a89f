"""The pytest plugin behind ``btref lab grade``: put the student's folder on the path, record
every test's outcome.

``btref lab grade N DIR`` runs a lab's grader (a plain pytest folder,
``tutorials/labN/grader/``) in a fresh Python process with ``-p btref.commands.grading
--lab-dir DIR --lab-report FILE``. This plugin then

* puts ``DIR`` first on ``sys.path``, so the grader's ``import bencode_lab`` finds the
  student's package (the reference solution's, when ``make test`` checks the grader);
* offers the fixture ``lab_dir`` (``DIR`` as a :class:`~pathlib.Path`), for graders that read
  files (an answer sheet) or start the student's program;
* writes ``FILE``: a JSON list with one record per test, ``{"file", "name", "outcome",
  "doc", "message"}``, where ``doc`` is the first line of the test's docstring (graders
  write it as the hint a student sees when the test fails) and ``message`` the first line
  of the failure.

:mod:`btref.commands.lab` turns the records into the table of groups and points. The
plugin grades nothing itself, so a grader stays an ordinary pytest folder that an
instructor can also run by hand: ``pytest tutorials/lab4/grader -p btref.commands.grading
--lab-dir ~/lab4``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["lab_dir", "Recorder"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("btref-lab", "btref lab grading")
    group.addoption("--lab-dir", metavar="DIR", default=None, help="the student's lab folder (put first on sys.path)")
    group.addoption("--lab-report", metavar="FILE", default=None, help="write each test's outcome to FILE as JSON")


def pytest_configure(config: pytest.Config) -> None:
    folder = config.getoption("--lab-dir")
    if folder:
        sys.path.insert(0, str(Path(folder).resolve()))
    config.pluginmanager.register(Recorder(config.getoption("--lab-report")), "btref-lab-recorder")


@pytest.fixture(scope="session")
def lab_dir(request: pytest.FixtureRequest) -> Path:
    """The folder being graded (``--lab-dir``)."""
    folder = request.config.getoption("--lab-dir")
    if not folder:
        pytest.fail("this grader needs --lab-dir DIR (run it with `btref lab grade N DIR`)")
    return Path(folder).resolve()


class Recorder:
    """Collects one record per test (and per grader file that failed to import)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A grader file that cannot be imported (the student's package has a syntax error or
        # lacks a name) holds tests that never run: record why, under that file's name.
        if report.failed and report.nodeid.endswith(".py"):
            self.records[report.nodeid] = {
                "file": Path(report.nodeid).name, "name": "(import)", "outcome": "failed",
                "doc": "this group's tests could not even be loaded", "message": _failure_line(report)}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        record = self.records.setdefault(item.nodeid, {
            "file": Path(str(item.fspath)).name,
            "name": item.name,
            "outcome": "passed",
            "doc": _first_line(getattr(getattr(item, "function", None), "__doc__", None)),
            "message": "",
        })
        # A test counts as passed only if set-up, call and tear-down all passed; a skip is not a pass.
        if report.outcome != "passed" and record["outcome"] == "passed":
            record["outcome"] = "skipped" if report.skipped else "failed"
            record["message"] = _failure_line(report)

    def pytest_sessionfinish(self) -> None:
        if self.path:
            Path(self.path).write_text(json.dumps(list(self.records.values()), indent=1), encoding="utf-8")


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().splitlines()[0].split()) if text and text.strip() else ""


def _failure_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = str(crash.message)
    elif isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
        text = str(report.longrepr[2])
    else:
        text = str(report.longrepr or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(report, pytest.CollectReport):  # an import error's last line says what went wrong
        lines = lines[-1:]
    line = lines[0] if lines else ""
    return line if len(line) <= 200 else line[:197] + "..."
