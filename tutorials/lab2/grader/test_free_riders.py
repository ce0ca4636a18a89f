"""Step 4 of Lab 2, Q9: free riders under tit for tat (Cohen 2003). The mean download
time of the peers tagged ``free-rider`` in lab2/fr/metrics.json, and of the others."""

from __future__ import annotations

import pytest
from answer_sheet import Answers, judge
from lab2_grading import Facts


@pytest.mark.parametrize("free_riders", [True, False], ids=["free-riders", "contributors"])
def test_mean_download_time(answers: Answers, facts: Facts, free_riders: bool) -> None:
    """Q9: the mean download_time of the free riders, and of the other leechers (the seed has none), in seconds"""
    key = "free_riders_mean_download" if free_riders else "contributors_mean_download"
    given = answers.number(key)
    metrics = facts.sim("free-riders", "--peers", "16", "--pieces", "30")
    judge(key, abs(given - facts.mean_download(metrics, free_riders)) <= 0.051,
          "Average download_time over the peers of lab2/fr/metrics.json whose tags "
          + ("hold" if free_riders else "do not hold") + " \"free-rider\" (leave the seed out); two decimals do.")
