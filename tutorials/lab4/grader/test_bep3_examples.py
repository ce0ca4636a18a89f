"""BEP 3's examples of bencoding, decoded and encoded (BEP 3, "bencoding")."""

from __future__ import annotations

from types import ModuleType

import pytest
from lab4_grading import btref_outcome, raises_lab_error, show, vector_cases

#: BEP 3's own examples (vendored), then the other shapes its text describes.
EXAMPLES = [bytes.fromhex(c["input_hex"]) for c in vector_cases("bep3_examples")] + [
    b"0:", b"le", b"de", b"i-1e", b"i4294967296e", b"li1ei2ei3ee", b"lli1eee", b"d1:ad1:bi1eee",
    b"d9:publisher3:bob17:publisher-webpage15:www.example.com18:publisher.location4:homee",
    b"ie", b"i1", b"4:spa", b"l", b"d", b"x", b"i1.5e", b"d3:cowe",
]



@pytest.mark.usefixtures("decoder")
@pytest.mark.parametrize("data", EXAMPLES, ids=[d.decode("latin-1")[:30] for d in EXAMPLES])
def test_decode(lab: ModuleType, data: bytes) -> None:
    """decode as BEP 3 says: i<digits>e, <length>:<bytes>, l...e, d...e; anything else raises BencodeError"""
    kind, expected = btref_outcome(data, strict=True)
    if kind == "ok":
        got = lab.decode(data)
        assert got == expected, f"decode({show(data)}) returned {got!r}; BEP 3 says {expected!r}"
    else:
        ok, what = raises_lab_error(lab, lab.decode, data)
        assert ok, f"decode({show(data)}) {what}; it is not valid bencoding, so it must raise BencodeError"


@pytest.mark.parametrize("value, expected", [
    (b"spam", b"4:spam"), (3, b"i3e"), (-3, b"i-3e"), (0, b"i0e"), (b"", b"0:"),
    ([b"spam", b"eggs"], b"l4:spam4:eggse"), ({b"cow": b"moo", b"spam": b"eggs"}, b"d3:cow3:moo4:spam4:eggse"),
    ({b"spam": [b"a", b"b"]}, b"d4:spaml1:a1:bee"), ("text", b"4:text"), ((1, 2), b"li1ei2ee"),
    ({"b": 1, "a": 2}, b"d1:ai2e1:bi1ee"), ([], b"le"), ({}, b"de"),
])
def test_encode(lab: ModuleType, value: object, expected: bytes) -> None:
    """encode writes the one valid encoding: str as UTF-8 bytes, tuples as lists, keys sorted"""
    got = lab.encode(value)
    assert got == expected, f"encode({value!r}) returned {got!r}, expected {expected!r}"
