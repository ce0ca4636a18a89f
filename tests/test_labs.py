"""Every lab's grader is honest: it fails the untouched starter and gives the reference
solution full marks (``tutorials/labN/``; the machinery is tested in tests/test_lab_kit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from btref.commands import lab as labkit

GRADED = [lab for lab in labkit.load_labs() if lab.graded]


def test_the_labs_are_numbered_one_to_eight() -> None:
    assert [lab.number for lab in labkit.load_labs()] == list(range(1, 9))


@pytest.mark.parametrize("lab", GRADED, ids=lambda lab: f"lab{lab.number}")
def test_the_untouched_starter_fails(lab: labkit.Lab, tmp_path: Path) -> None:
    work = tmp_path / "work"
    if (lab.folder / "starter").is_dir():
        labkit.start(lab, work)
    else:
        work.mkdir()
    scores = labkit.grade(lab, work)
    assert all(s.total > 0 for s in scores), labkit.table(lab, work, scores)
    assert sum(s.points for s in scores) < lab.points, labkit.table(lab, work, scores)


@pytest.mark.parametrize("lab", GRADED, ids=lambda lab: f"lab{lab.number}")
def test_the_reference_solution_gets_full_marks(lab: labkit.Lab) -> None:
    reference = lab.folder / "reference"
    scores = labkit.grade(lab, reference)
    assert all(s.total > 0 for s in scores), labkit.table(lab, reference, scores)
    assert sum(s.points for s in scores) == lab.points, labkit.table(lab, reference, scores)
