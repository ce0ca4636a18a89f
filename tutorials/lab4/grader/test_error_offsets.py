"""Where decoding failed: ``BencodeError.offset`` names the byte that cannot be right
(give or take one), in the caller's frame, also when decoding starts mid-data."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from lab4_grading import btref_outcome, show, vector_cases

#: libtorrent's cases that say where they fail, and a few more.
CASES = [(bytes.fromhex(c["input_hex"]), c["error_offset"]) for c in vector_cases("bdecode")
         if c["libtorrent_outcome"] == "error" and "error_offset" in c] + [
    (data, None) for data in (b"i12", b"l4:spami1e", b"d3:cow3:moo", b"li1ei2e3:abe", b"i03e", b"d1:bi1e1:ai2ee",
                              b"d1:ai1e1:ai2ee", b"lx", b"i1-e", b"5:abc", b"l" * 101 + b"e" * 101)]

#: Refusing bad input counts only once valid input decodes (the fixture ``decoder``).
pytestmark = pytest.mark.usefixtures("decoder")


def _offset(lab: ModuleType, call: Any, *args: Any, **kwargs: Any) -> int | None:
    try:
        call(*args, **kwargs)
    except lab.BencodeError as exc:
        return getattr(exc, "offset", None)
    pytest.fail(f"no BencodeError for {show(args[0])}")


def _near(got: int | None, *expected: int | None) -> bool:
    return got is not None and any(e is not None and abs(got - e) <= 1 for e in expected)


@pytest.mark.parametrize("data, libtorrent", CASES, ids=[show(d, 24) for d, _ in CASES])
def test_offset(lab: ModuleType, data: bytes, libtorrent: int | None) -> None:
    """BencodeError(message, offset): the offset of the first byte that cannot be right"""
    _, expected = btref_outcome(data, strict=True)
    got = _offset(lab, lab.decode, data)
    assert _near(got, expected, libtorrent), (
        f"decode({show(data)}) raised BencodeError with offset {got}; the data goes wrong at byte {expected}")


@pytest.mark.parametrize("data, libtorrent", CASES[:12], ids=[show(d, 24) for d, _ in CASES[:12]])
def test_offset_after_a_start(lab: ModuleType, data: bytes, libtorrent: int | None) -> None:
    """decode_prefix(data, start): offsets count from the start of data, not from start"""
    _, expected = btref_outcome(data, strict=True)
    padded = b"junk" + data
    got = _offset(lab, lab.decode_prefix, padded, 4)
    assert _near(got, expected + 4, None if libtorrent is None else libtorrent + 4), (
        f"decode_prefix({show(padded)}, 4) raised BencodeError with offset {got}; the data goes wrong at byte "
        f"{expected + 4} of what you were given")
