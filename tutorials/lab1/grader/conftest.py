"""Lab 1's grader: the fixtures ``answers`` (the student's sheet) and ``facts`` (what
btref says); both are described in lab1_grading.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab1_grading import Answers, Facts


@pytest.fixture(scope="session")
def answers(lab_dir: Path) -> Answers:
    return Answers(lab_dir)


@pytest.fixture(scope="session")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Facts:
    return Facts(tmp_path_factory.mktemp("lab1"))
