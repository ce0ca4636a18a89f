"""The behavioural claims of the lab's chokers (:mod:`btref.claims`), checked by the
chokers conformance suite's claim tests (``conformance/chokers/test_choker_claims.py``):
``tit-for-tat`` for all three (the four regular slots go to the interested peers that send
us the most) and ``optimistic-unchoke`` for the two with an optimistic slot (Cohen 2003,
"Choking Algorithms")."""

from __future__ import annotations

import pytest
from lab3_grading import CHOKERS, claim_tests

from btref import claims, plugins

#: What each of the lab's chokers claims (the starter declares it: keep it).
CLAIMED = {"top4": ("tit-for-tat",), "top4-opt": ("tit-for-tat", "optimistic-unchoke"),
           "mini-propshare": ("tit-for-tat", "optimistic-unchoke")}
SUITE, BY_CLAIM = claim_tests()


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize("name, claim", [(name, claim) for name, names in CLAIMED.items() for claim in names])
def test_claim(name: str, claim: str) -> None:
    """claims: the class declares the claim (keep the starter's line) and keeps it on runs of rechokes hypothesis makes up"""
    declared = claims.declared(plugins.create("chokers", name))
    assert claim in declared, f"{CHOKERS[name]}.claims is {declared!r}; the lab's {name} claims {claim!r}"
    SUITE.test_declared_claims_are_known(choker_name=name)
    BY_CLAIM[claim](choker_name=name)
