"""Step 2 of Lab 2: one server against a swarm (Kurose and Ross, "P2P file distribution").
The last completion of each run, as ``btref sim`` prints it (seconds, one decimal)."""

from __future__ import annotations

import pytest
from answer_sheet import Answers, judge
from lab2_grading import Facts

RUNS = {"client_server_10": ("client-server", "10"), "client_server_40": ("client-server", "40"),
        "flash_crowd_10": ("flash-crowd", "10"), "flash_crowd_40": ("flash-crowd", "40")}


@pytest.mark.parametrize("key", list(RUNS))
def test_last_completion(answers: Answers, facts: Facts, key: str) -> None:
    """Q4: the last completion of each of the four runs, in seconds, as btref sim prints it"""
    given = answers.number(f"last_completion_{key}")
    scenario, peers = RUNS[key]
    metrics = facts.sim(scenario, "--peers", peers, "--pieces", "40")
    judge(f"last_completion_{key}", abs(given - metrics["summary"]["last_completion"]) <= 0.051,
          f"Read `last completion` in the output of `btref sim {scenario} --peers {peers} --pieces 40`.")
