"""``btref lab``: list, start and grade, on a small lab made here (the real labs are
checked by tests/test_labs.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from btref.cli import main

LAB_TOML = """\
number = 9
title = "add two numbers"
text = "lab9-add.md"

[[groups]]
name = "add"
file = "test_add.py"
points = 10
hint = "read the docstring of adder.add"

[[groups]]
name = "sign"
file = "test_sign.py"
points = 5
"""

STARTER = '''\
def add(a, b):
    """The sum of a and b."""
    raise NotImplementedError


def sign(x):
    """-1, 0 or 1."""
    raise NotImplementedError
'''

SOLVED = '''\
def add(a, b):
    return a + b


def sign(x):
    return (x > 0) - (x < 0)
'''


@pytest.fixture
def labs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tutorials"
    lab = root / "lab9"
    (lab / "starter" / "adder").mkdir(parents=True)
    (lab / "starter" / "adder" / "__init__.py").write_text(STARTER)
    (lab / "grader").mkdir()
    (lab / "grader" / "test_add.py").write_text(textwrap.dedent('''\
        import adder

        def test_small():
            """1 + 2 is 3"""
            assert adder.add(1, 2) == 3

        def test_negative():
            """-1 + 1 is 0"""
            assert adder.add(-1, 1) == 0
        '''))
    (lab / "grader" / "test_sign.py").write_text(textwrap.dedent('''\
        import adder

        def test_sign(lab_dir):
            """the sign of -5 is -1"""
            assert lab_dir.is_dir()
            assert adder.sign(-5) == -1
        '''))
    (lab / "lab.toml").write_text(LAB_TOML)
    (root / "lab1").mkdir()
    (root / "lab1" / "lab.toml").write_text('number = 1\ntitle = "read a torrent"\ntext = "lab1.md"\n')
    monkeypatch.setenv("BTREF_LABS_DIR", str(root))
    monkeypatch.chdir(tmp_path)
    return root


def test_list_shows_every_lab_and_which_are_graded(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    assert "  1  no " in out and "read a torrent" in out
    assert "  9  starter+grader" in out and "add two numbers" in out


def test_start_copies_the_starter_and_refuses_a_full_folder(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for junk in ("__pycache__", ".mypy_cache", "adder.egg-info", ".pytest_cache"):  # a dev checkout's leftovers
        (labs / "lab9" / "starter" / junk).mkdir()
        (labs / "lab9" / "starter" / junk / "x").write_text("x")
    assert main(["lab", "start", "9"]) == 0
    assert (Path("lab9") / "adder" / "__init__.py").read_text() == STARTER
    assert sorted(p.name for p in Path("lab9").iterdir()) == ["adder"]
    assert "next: read tutorials/lab9-add.md" in capsys.readouterr().out
    assert main(["lab", "start", "9", "lab9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists and is not empty" in err


def test_the_starter_fails_with_a_table_and_hints(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lab", "start", "9", "work"])
    capsys.readouterr()
    assert main(["lab", "grade", "9", "work"]) == 1
    out = capsys.readouterr().out
    assert "add        0/2     0/10  <-" in out
    assert "sign       0/1      0/5  <-" in out
    assert "total              0/15\n" in out
    assert "add: read the docstring of adder.add" in out
    assert "- 1 + 2 is 3" in out and "NotImplementedError" in out


def test_partial_work_earns_points_in_proportion(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lab", "start", "9", "work"])
    (Path("work") / "adder" / "__init__.py").write_text(STARTER.replace(
        '"""The sum of a and b."""\n    raise NotImplementedError', "return a + b if a > 0 else 99"))
    capsys.readouterr()
    assert main(["lab", "grade", "9", "work"]) == 1
    out = capsys.readouterr().out
    assert "add        1/2     5/10  <-" in out and "- -1 + 1 is 0" in out


def test_a_solution_gets_full_marks_and_exit_0(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lab", "start", "9", "work"])
    (Path("work") / "adder" / "__init__.py").write_text(SOLVED)
    (Path("work") / "conftest.py").write_text("raise SystemExit('the student conftest is never loaded')\n")
    capsys.readouterr()
    assert main(["lab", "grade", "9", "work"]) == 0
    out = capsys.readouterr().out
    assert "total             15/15\n" in out and "full marks" in out and "<-" not in out


@pytest.mark.parametrize("argv, words", [
    (["lab", "start", "3"], "there is no lab 3 (labs: 1, 9)"),
    (["lab", "grade", "1", "."], "lab 1 has no grader"),
    (["lab", "start", "1"], "lab 1 has no starter"),
    (["lab", "grade", "9", "missing"], "missing is not a folder"),
    (["lab", "grade"], "needs the lab's number"),
])
def test_bad_requests_are_one_line_and_exit_2(labs: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str], words: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_a_package_that_does_not_import_shows_why(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lab", "start", "9", "work"])
    (Path("work") / "adder" / "__init__.py").write_text("def add(a, b)\n    return a + b\n")
    capsys.readouterr()
    assert main(["lab", "grade", "9", "work"]) == 1
    out = capsys.readouterr().out
    assert "add        0/1     0/10  <-" in out
    assert "- this group's tests could not even be loaded" in out and "SyntaxError" in out


def test_start_says_to_run_pytest_only_when_the_starter_has_tests(labs: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["lab", "start", "9", "work"])
    assert "run `pytest` in work" not in capsys.readouterr().out
    (labs / "lab9" / "starter" / "test_adder.py").write_text("def test_x():\n    pass\n")
    main(["lab", "start", "9", "work2"])
    assert "run `pytest` in work2" in capsys.readouterr().out


def test_a_broken_grader_is_one_line(labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (labs / "lab9" / "grader" / "conftest.py").write_text("raise ValueError('broken on purpose')\n")
    main(["lab", "start", "9", "work"])
    capsys.readouterr()
    assert main(["lab", "grade", "9", "work"]) == 2
    assert "the grader of lab 9 did not run" in capsys.readouterr().err
