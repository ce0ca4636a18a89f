"""Lab 6, group "swarm": the student's picker inside btref's engine, in simulated swarms (BEP 3).

The simulator finds pickers by name, as ``btref sim --picker NAME`` does; the grader's
conftest publishes the student's picker as ``lab6-graded`` for it. Every peer of the
swarm, the seed included, runs the picker.
"""

from __future__ import annotations

from typing import Any

from btref.sim import scenarios


def run(scenario: str, picker: str, **options: Any) -> dict[str, Any]:
    _, metrics = scenarios.run(scenario, picker=picker, **options)
    return metrics


def test_a_flash_crowd_completes(published: Any) -> None:
    """in a simulated flash crowd (10 peers, 20 pieces, one seed) every peer completes with your picker"""
    summary = run("flash-crowd", published.name, peers=10, pieces=20)["summary"]
    assert summary["completed"] == summary["leechers"] == 10, f"{summary['completed']} of 10 peers completed"


def test_a_weak_seed_swarm_completes(published: Any) -> None:
    """with a weak seed (20 peers, 30 pieces) every peer completes, and every piece leaves the seed"""
    summary = run("weak-seed", published.name, peers=20, pieces=30)["summary"]
    assert summary["completed"] == 20, f"{summary['completed']} of 20 peers completed"
    assert summary["all_replicated_at"] is not None, "some piece never left the seed"


def test_a_run_repeats_exactly(published: Any) -> None:
    """the same --seed gives the same run, event for event: the picker draws from swarm.rng only"""
    first, second = (run("flash-crowd", published.name, peers=8, pieces=16, seed=3) for _ in range(2))
    assert first["events"] == second["events"] and first["summary"] == second["summary"]


def test_the_parameter_can_be_set_by_name(published: Any) -> None:
    """the simulator sets random_first from a choice such as lab6-graded:random_first=0, as the command line does"""
    metrics = run("flash-crowd", f"{published.name}:random_first=0", peers=6, pieces=12)
    assert metrics["picker_params"] == {"random_first": 0}
    assert metrics["summary"]["completed"] == 6
