"""Lab 1's grader: the fixtures ``answers`` (the student's sheet, read by
``tutorials/answer_sheet.py``) and ``facts`` (what btref says, lab1_grading.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tutorials/, for answer_sheet
from answer_sheet import answers  # noqa: E402,F401 - a fixture, used by name
from lab1_grading import Facts  # noqa: E402


@pytest.fixture(scope="session")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Facts:
    return Facts(tmp_path_factory.mktemp("lab1"))
