"""btref.bencode against public vectors: the BEP 3 examples and libtorrent's bdecode cases.

The cases are in ``tests/vectors/libtorrent-bdecode-cases.json`` (transcribed from
libtorrent's test_bdecode.cpp; sources and licenses in ``tests/vectors/PROVENANCE``). What each outcome means for btref:

* ``ok``: lenient mode decodes to the listed value; strict mode agrees exactly when the
  input is canonical (``encode(value) == input``), and rejects it otherwise.
* ``soft_error`` (libtorrent parses but flags it): strict rejects, lenient accepts.
* ``error``: both modes reject, at the same byte offset as libtorrent, give or take one
  (btref notices an over-long string length at the colon, libtorrent at the last digit).
* ``ok_lazy``: libtorrent parses a u64 integer it cannot represent and reads it as 0;
  btref refuses integers outside 64 signed bits (see the module docstring).
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from btref.bencode import decode, decode_with_spans, encode
from btref.errors import BencodeError

FILE = "libtorrent-bdecode-cases.json"


def _cases(section: str) -> list[dict[str, Any]]:
    # Read at collection time to name the cases. The vectors are part of the repository,
    # so a missing file is an error here, never an empty (skipped) parameter set.
    path = Path(__file__).resolve().parent / "vectors" / FILE
    return json.loads(path.read_text())[section]


def _expected(value: Any) -> Any:
    """The JSON rendering of a value as btref decodes it (strings as bytes)."""
    if isinstance(value, str):
        # One case writes its NUL byte as the escaped text "\\u0000": undo that escape.
        if "\\" in value:
            value = codecs.decode(value, "unicode_escape")
        return value.encode("utf-8")
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, dict):
        return {_expected(k): _expected(v) for k, v in value.items()}
    return value


@pytest.fixture
def data_dir(vectors: Path) -> Path:
    assert (vectors / FILE).is_file()
    return vectors


BDECODE = _cases("bdecode")
BEP3 = _cases("bep3_examples")


def test_vector_file_has_all_cases(data_dir: Path) -> None:
    assert len(BDECODE) == 44
    assert len(BEP3) == 9


@pytest.mark.parametrize("case", BEP3, ids=[c["input_ascii"] for c in BEP3])
def test_bep3_examples(case: dict[str, Any], data_dir: Path) -> None:
    data = bytes.fromhex(case["input_hex"])
    if case["outcome"] == "ok":
        assert decode(data) == _expected(case["value"])
        assert encode(decode(data)) == data
    else:
        with pytest.raises(BencodeError, match="non-canonical"):
            decode(data)
        # ... but its meaning is clear, so lenient mode reads it.
        assert decode(data, strict=False) in (0, 3)


@pytest.mark.parametrize("case", BDECODE, ids=[c["name"] for c in BDECODE])
def test_libtorrent_bdecode_cases(case: dict[str, Any], data_dir: Path) -> None:
    data = bytes.fromhex(case["input_hex"])
    outcome = case["libtorrent_outcome"]
    if outcome == "ok":
        lenient = decode(data, strict=False)
        if "value" in case:
            assert lenient == _expected(case["value"])
        if encode(lenient) == data:
            assert decode(data) == lenient
        else:
            with pytest.raises(BencodeError, match="out-of-order"):
                decode(data)
    elif outcome == "soft_error":
        with pytest.raises(BencodeError, match="duplicate|out-of-order|non-canonical"):
            decode(data)
        value = decode(data, strict=False)
        if isinstance(value, dict):
            # Even a non-canonical dictionary's values keep their exact original bytes.
            _, spans = decode_with_spans(data, strict=False)
            for key, (start, end) in spans.items():
                assert decode(data[start:end], strict=False) == value[key]
    elif outcome == "ok_lazy":
        with pytest.raises(BencodeError, match="64 bits"):
            decode(data, strict=False)
    else:
        assert outcome == "error"
        for strict in (True, False):
            with pytest.raises(BencodeError) as info:
                decode(data, strict=strict)
            if "error_offset" in case:
                assert abs(info.value.offset - case["error_offset"]) <= 1, str(info.value)
            assert f"(at byte {info.value.offset})" in str(info.value)
