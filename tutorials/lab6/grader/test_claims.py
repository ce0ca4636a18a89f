"""Lab 6, group "claims": btref's behavioural suite on the policies the picker declares
(``conformance/pickers/test_picker_claims.py`` and :mod:`btref.claims`; BEP 3 leaves the
order of pieces to the client, Cohen 2003, section 2, gives these three).

A picker lists the policies it keeps in its ``claims`` attribute, and the suite checks
each declared claim on swarm states that hypothesis generates; a claim it does not
declare is not checked at all. So this group wants the three claims of rarest first
declared, and each one to hold. The suite runs once per grading (conftest.py, ``suite``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from btref import claims

#: The claims of Cohen's rarest first, and the suite's test of each.
CLAIMS = {"strict-priority": "test_strict_priority", "rarest-first": "test_rarest_first",
          "random-first": "test_random_first"}


def held(suite: dict[str, Any], claim: str) -> None:
    test = CLAIMS[claim]
    assert test in suite, f"the suite did not check {claim}: declare it in your picker's claims"
    result = suite[test]
    assert result.outcome == "passed", f"{result.message or result.outcome}"


def test_the_three_claims_are_declared(picker: Callable[..., Any]) -> None:
    """declare claims = ("rarest-first", "strict-priority", "random-first") in your class: what the suite checks"""
    declared = claims.declared(picker())
    missing = [c for c in CLAIMS if c not in declared]
    assert not missing, f"your picker claims {declared}; add {', '.join(missing)}"
    problems = claims.problems(picker(), "pickers")
    assert not problems, problems[0]


def test_the_declaration_is_known_to_the_suite(suite: dict[str, Any]) -> None:
    """the suite's test_declared_claims_are_known passes: every name in claims is a pickers claim"""
    assert "test_declared_claims_are_known" in suite, "the suite has no test_declared_claims_are_known"
    assert suite["test_declared_claims_are_known"].outcome == "passed", suite["test_declared_claims_are_known"].message


def test_strict_priority_holds(suite: dict[str, Any]) -> None:
    """claim strict-priority: every partial piece the peer has is picked before the first new piece"""
    held(suite, "strict-priority")


def test_rarest_first_holds(suite: dict[str, Any]) -> None:
    """claim rarest-first: after the random-first phase, no new piece with more copies than one left out"""
    held(suite, "rarest-first")


def test_random_first_holds(suite: dict[str, Any]) -> None:
    """claim random-first: while we have fewer than random_first pieces, new pieces are drawn with swarm.rng"""
    held(suite, "random-first")
