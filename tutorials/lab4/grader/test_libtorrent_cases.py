"""libtorrent's bdecode cases (test_bdecode.cpp, vendored in tests/vectors/): the same
bytes must give the same value, or be refused, in strict and in lenient mode."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from lab4_grading import btref_outcome, raises_lab_error, show, vector_cases

CASES = vector_cases("bdecode")

#: Refusing bad input counts only once valid input decodes (the fixture ``decoder``).
pytestmark = pytest.mark.usefixtures("decoder")



def _check(lab: ModuleType, data: bytes, strict: bool) -> None:
    kind, expected = btref_outcome(data, strict=strict)
    mode = "strict" if strict else "lenient (strict=False)"
    if kind == "ok":
        got = lab.decode(data, strict=strict)
        assert got == expected, f"{mode} decode({show(data)}) returned {show(repr(got).encode())}, expected {expected!r}"
    else:
        ok, what = raises_lab_error(lab, lab.decode, data, strict=strict)
        assert ok, f"{mode} decode({show(data)}) {what}; it must raise BencodeError"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_strict(lab: ModuleType, case: dict[str, Any]) -> None:
    """strict decode: canonical bencoding only; no unsorted or repeated keys, no leading zeros, 64-bit integers"""
    _check(lab, bytes.fromhex(case["input_hex"]), strict=True)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_lenient(lab: ModuleType, case: dict[str, Any]) -> None:
    """strict=False accepts unsorted and repeated keys (the last one wins), leading zeros and -0; nothing else"""
    _check(lab, bytes.fromhex(case["input_hex"]), strict=False)
