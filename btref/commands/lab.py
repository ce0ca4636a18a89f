"""``btref lab``: list the labs, start one from its starter, grade a student's work.

A lab is a folder ``tutorials/labN/`` beside the lab's text (``tutorials/labN-*.md``)::

    lab.toml     number, title, the text's file name, and the grader's groups:
                 [[groups]] name, file (a test file of the grader), points, hint
    starter/     what ``btref lab start N DIR`` copies into DIR: a package with the
                 signatures and docstrings and a failing test file (or, for a question
                 sheet, an answers file to fill in); nothing solved
    grader/      a plain pytest folder, run on DIR by ``btref lab grade N DIR``
    reference/   a full-marks solution (btref's own code behind the lab's interface);
                 ``make test`` grades it and the untouched starter, so every grader is
                 shown to fail the starter and to pass a correct answer

Each test file of the grader is one *group* of ``lab.toml``; a group earns its points in
proportion to its tests that pass, and a failing test's hint is the first line of its
docstring. Grading runs pytest in a fresh process with the plugin
:mod:`btref.commands.grading`, which puts DIR first on ``sys.path`` and records each
test's outcome; this module reads the records and prints the table. Exit status 0 only
with full marks, 1 otherwise, 2 when it cannot grade (no such lab, no DIR).

The labs are found beside the ``btref`` package in a source checkout, or in the folder
named by the environment variable ``BTREF_LABS_DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

import btref
from btref.commands.common import CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

__all__ = ["Lab", "Group", "labs_root", "load_labs", "find_lab", "start", "grade", "Score"]

HELP = "the course labs: list them, start one, grade your work"
DESCRIPTION = """\
The course labs, each a chapter of tutorials/ with a starter and a grader.

  btref lab list               the labs, and which ones are graded
  btref lab start N [DIR]      copy lab N's starter into DIR (default: labN)
  btref lab grade N [DIR]      grade the work in DIR: a table of groups with points,
                               and a hint for every failing test

Grading runs the lab's tests on your code; exit status 0 means full marks.
"""
EPILOG = """\
examples:
  btref lab list
  btref lab start 4 ~/lab4         then read tutorials/lab4-*.md and fill in the starter
  btref lab grade 4 ~/lab4         how far along you are
  btref lab grade 4 ~/lab4 -v      the same, with pytest's full output

next: run the starter's own tests with `pytest` in DIR while you work; grade when
they pass.
"""


@attrs.frozen
class Group:
    """A group of graded tests: one test file of the grader, worth ``points``."""

    name: str
    file: str
    points: int
    hint: str = ""


@attrs.frozen
class Lab:
    """One lab, as its ``lab.toml`` describes it."""

    number: int
    title: str
    text: str  #: the lab's Markdown file, in tutorials/
    folder: Path
    groups: tuple[Group, ...] = ()

    @property
    def graded(self) -> bool:
        return bool(self.groups) and (self.folder / "grader").is_dir()

    @property
    def points(self) -> int:
        return sum(g.points for g in self.groups)


@attrs.frozen
class Score:
    """What one group earned: tests passed of its total, points of its points."""

    group: Group
    passed: int
    total: int
    failures: tuple[dict[str, Any], ...]

    @property
    def points(self) -> int:
        if self.total == 0:
            return 0
        return self.group.points if self.passed == self.total else self.group.points * self.passed // self.total


def labs_root() -> Path:
    """Where the ``labN/`` folders are."""
    env = os.environ.get("BTREF_LABS_DIR")
    return Path(env) if env else Path(btref.__file__).resolve().parent.parent / "tutorials"


def _load(folder: Path) -> Lab:
    path = folder / "lab.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        groups = tuple(Group(name=str(g["name"]), file=str(g["file"]), points=int(g["points"]),
                             hint=str(g.get("hint", ""))) for g in data.get("groups", []))
        return Lab(number=int(data["number"]), title=str(data["title"]), text=str(data.get("text", "")),
                   folder=folder, groups=groups)
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"lab description {path} is broken: {exc}") from exc


def load_labs(root: Path | None = None) -> list[Lab]:
    """Every lab under ``root`` (default :func:`labs_root`), by number."""
    root = labs_root() if root is None else root
    labs = [_load(p.parent) for p in sorted(root.glob("lab*/lab.toml"))]
    return sorted(labs, key=lambda lab: lab.number)


def find_lab(number: int, root: Path | None = None) -> Lab:
    labs = load_labs(root)
    for lab in labs:
        if lab.number == number:
            return lab
    have = ", ".join(str(lab.number) for lab in labs) or "none"
    raise CommandError(f"there is no lab {number} (labs: {have})")


def start(lab: Lab, dest: Path) -> list[Path]:
    """Copy ``lab``'s starter into ``dest`` (which must be absent or empty); the files made."""
    starter = lab.folder / "starter"
    if not starter.is_dir():
        raise CommandError(f"lab {lab.number} has no starter: it is done with btref itself; "
                           f"read tutorials/{lab.text}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CommandError(f"{dest} already exists and is not empty; pick a new folder, "
                           f"or grade what is there with `btref lab grade {lab.number} {dest}`")
    shutil.copytree(starter, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache",
                                                  "*.egg-info", ".hypothesis"))
    return sorted(p for p in dest.rglob("*") if p.is_file())


def grade(lab: Lab, folder: Path, *, verbose: bool = False) -> list[Score]:
    """Run ``lab``'s grader on ``folder``; one :class:`Score` per group."""
    if not lab.graded:
        raise CommandError(f"lab {lab.number} has no grader: it is done with btref itself; read tutorials/{lab.text}")
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder; start the lab with `btref lab start {lab.number} {folder}`")
    with tempfile.TemporaryDirectory(prefix="btref-grade-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pytest", str(lab.folder / "grader"), "-p", "btref.commands.grading",
               "-p", "no:cacheprovider", "--lab-dir", str(folder.resolve()), "--lab-report", str(report),
               "-q" if verbose else "-qq", "--no-header", "-rN"]
        # cwd: a scratch folder, so the student's own files (a stray conftest.py) are never
        # collected, and nothing the grader writes lands in their work.
        result = subprocess.run(cmd, cwd=tmp, check=False, capture_output=not verbose, text=True)
        if not report.is_file():
            tail = (result.stdout or "") + (result.stderr or "")
            last = [line for line in tail.splitlines() if line.strip()][-1:] or ["no output"]
            raise CommandError(f"the grader of lab {lab.number} did not run (pytest exit {result.returncode}): "
                               f"{last[0]}")
        records: list[dict[str, Any]] = json.loads(report.read_text(encoding="utf-8"))
    scores = []
    for group in lab.groups:
        mine = [r for r in records if r["file"] == group.file]
        failed = tuple(r for r in mine if r["outcome"] != "passed")
        scores.append(Score(group=group, passed=len(mine) - len(failed), total=len(mine), failures=failed))
    return scores


def table(lab: Lab, folder: Path, scores: Sequence[Score]) -> str:
    """The report a student reads: one row per group, then a hint per failing test."""
    width = max([len(s.group.name) for s in scores] + [5])
    lines = [f"lab {lab.number}: {lab.title}", f"graded: {folder}", "",
             f"{'group':<{width}}  {'tests':>7}  {'points':>7}"]
    for s in scores:
        mark = "" if s.points == s.group.points else "  <-"
        lines.append(f"{s.group.name:<{width}}  {f'{s.passed}/{s.total}':>7}  {f'{s.points}/{s.group.points}':>7}{mark}")
    earned, total = sum(s.points for s in scores), lab.points
    lines.append(f"{'total':<{width}}  {'':>7}  {f'{earned}/{total}':>7}")
    failing = [s for s in scores if s.failures or s.total == 0]
    if failing:
        lines.append("")
        lines.append("to do:")
    for s in failing:
        if s.total == 0:
            lines.append(f"  {s.group.name}: no test ran (is {s.group.file} in the grader?)")
            continue
        if s.group.hint:
            lines.append(f"  {s.group.name}: {s.group.hint}")
        for r in s.failures[:5]:
            what = r["doc"] or r["name"]
            lines.append(f"    - {what}")
            if r["message"]:
                lines.append(f"      {r['message']}")
        if len(s.failures) > 5:
            lines.append(f"    ... and {len(s.failures) - 5} more failing test(s) in this group")
    lines.append("")
    if earned == total:
        lines.append("full marks. next: the lab's questions and exercises.")
    else:
        lines.append(f"next: fix the first group marked <-, then `btref lab grade {lab.number} {folder}` again "
                     f"(-v shows pytest's full output).")
    return "\n".join(lines)


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("lab", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["list", "start", "grade"], metavar="ACTION", help="list, start or grade")
    p.add_argument("number", nargs="?", type=int, metavar="N", help="the lab's number (start, grade)")
    p.add_argument("folder", nargs="?", metavar="DIR", help="your lab folder (default: labN)")
    p.add_argument("-v", "--verbose", action="store_true", help="grade: show pytest's full output too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list()
    if args.number is None:
        raise CommandError(f"`btref lab {args.action}` needs the lab's number, e.g. btref lab {args.action} 4")
    lab = find_lab(args.number)
    folder = Path(args.folder or f"lab{lab.number}")
    if args.action == "start":
        made = start(lab, folder)
        print(f"lab {lab.number}: {lab.title}")
        print(f"made {folder}/ with {len(made)} file(s):")
        for path in made:
            print(f"  {path.relative_to(folder)}")
        tests = f", run `pytest` in {folder}" if any(p.name.startswith("test_") for p in made) else ""
        print(f"\nnext: read tutorials/{lab.text}, fill in the starter{tests}, "
              f"then `btref lab grade {lab.number} {folder}`")
        return 0
    scores = grade(lab, folder, verbose=args.verbose)
    print(table(lab, folder, scores))
    return 0 if sum(s.points for s in scores) == lab.points else 1


def _list() -> int:
    labs = load_labs()
    if not labs:
        raise CommandError(f"no labs found in {labs_root()} (set BTREF_LABS_DIR to the tutorials folder)")
    print(f"{'lab':>3}  {'graded':<14}  title")
    for lab in labs:
        kind = "no" if not lab.graded else ("starter+grader" if (lab.folder / "starter").is_dir() else "grader")
        print(f"{lab.number:>3}  {kind:<14}  {lab.title}")
    print("\nnext: btref lab start N DIR, then read the lab's text in tutorials/")
    return 0
