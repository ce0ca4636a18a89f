"""Answer sheets: the ``answers.toml`` a student fills in for a lab whose questions have
one right value (Labs 1 and 2), read for the lab's grader.

Each getter fails the test with a hint when an answer is missing or of the wrong kind,
and :func:`judge` fails it when the answer is wrong; neither ever shows the right value
(the message of :func:`pytest.fail` is all a failure prints, also under ``-v``). The
graders compute the right values with btref at grade time; this module knows none.

A grader's ``conftest.py`` puts ``tutorials/`` on ``sys.path`` to import this module.
"""

from __future__ import annotations

import contextlib
import tomllib
from pathlib import Path
from typing import Any

import pytest

#: What the starter has in place of an answer.
UNANSWERED = "?"


class Answers:
    """The student's ``answers.toml``; each getter fails the test with a hint when the
    answer is missing or of the wrong kind, and never says what the right one is."""

    def __init__(self, folder: Path) -> None:
        path = folder / "answers.toml"
        if not path.is_file():
            pytest.fail(f"no answers.toml in {folder}: start with `btref lab start N {folder}`")
        try:
            self.values: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            pytest.fail(f"answers.toml is not valid TOML: {exc}")

    def raw(self, key: str) -> Any:
        if key not in self.values:
            pytest.fail(f"{key} is missing from answers.toml (the starter has every key)")
        value = self.values[key]
        if value == UNANSWERED:
            pytest.fail(f"{key} is not answered yet (it is still \"?\")")
        return value

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, str) and value.strip().replace(",", "").replace("_", "").isdigit():
            value = int(value.strip().replace(",", "").replace("_", ""))
        if not isinstance(value, int) or isinstance(value, bool):
            pytest.fail(f"{key} = {value!r}: write a whole number, e.g. {key} = 7")
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value.strip())
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            pytest.fail(f"{key} = {value!r}: write a number, e.g. {key} = 12.5")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
            value = value.strip().lower() in ("yes", "true")
        if not isinstance(value, bool):
            pytest.fail(f"{key} = {value!r}: write true or false (no quotes)")
        return value

    def hex_digest(self, key: str, digits: int) -> str:
        value = self.raw(key)
        text = value.strip().lower() if isinstance(value, str) else ""
        if len(text) != digits or any(c not in "0123456789abcdef" for c in text):
            pytest.fail(f"{key} = {value!r}: write the {digits} hex digits in quotes, as btref prints them")
        return text

    def integers(self, key: str) -> list[int]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            pytest.fail(f"{key} = {value!r}: write a list of whole numbers, e.g. {key} = [1, 2]")
        return list(value)

    def words(self, key: str) -> set[str]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            pytest.fail(f"{key} = {value!r}: write a list of strings, e.g. {key} = [\"name\", \"length\"]")
        return {v.strip() for v in value}


def judge(key: str, right: bool, advice: str) -> None:
    """Fail with ``advice`` (and without the right answer) unless ``right``."""
    if not right:
        pytest.fail(f"{key}: not what btref says. {advice}")


@pytest.fixture(scope="session")
def answers(lab_dir: Path) -> Answers:
    """The student's ``answers.toml`` (a fixture for the graders' conftest.py to import)."""
    return Answers(lab_dir)
