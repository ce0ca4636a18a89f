"""Lab 4's grader: the fixture ``lab``, the student's package (helpers: lab4_grading.py)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def lab(lab_dir: Path) -> ModuleType:
    """The student's package ``bencode_lab``."""
    try:
        return importlib.import_module("bencode_lab")
    except Exception as exc:  # the student's code: any error is theirs to see
        pytest.fail(f"cannot import bencode_lab from {lab_dir}: {type(exc).__name__}: {exc}")


#: Valid bencoding that any decoder worth grading reads (BEP 3's examples).
_WORKING = {b"i3e": 3, b"i-3e": -3, b"4:spam": b"spam", b"le": [], b"l4:spami1ee": [b"spam", 1],
            b"d3:cow3:moo4:spam4:eggse": {b"cow": b"moo", b"spam": b"eggs"}}


@pytest.fixture(scope="session")
def decoder(lab: ModuleType) -> ModuleType:
    """The student's package, once its decoder reads BEP 3's examples. Tests that check bad
    input is refused use this one: a decoder that refuses everything earns nothing there."""
    for data, value in _WORKING.items():
        for strict in (True, False):
            try:
                got = lab.decode(data, strict=strict)
            except NotImplementedError:
                raise
            except Exception as exc:  # the student's code: any error is theirs to see
                pytest.fail(f"decode({data!r}, strict={strict}) raised {type(exc).__name__}: {exc}; refusing bad "
                            f"input counts only once valid input decodes")
            if got != value:
                pytest.fail(f"decode({data!r}, strict={strict}) returned {got!r}, not {value!r}; refusing bad input "
                            f"counts only once valid input decodes")
    return lab


@pytest.fixture(scope="session")
def torrent_reader(decoder: ModuleType) -> ModuleType:
    """The student's package, once its info_span finds the info dict of a small torrent."""
    data = b"d8:announce3:url4:infod6:lengthi1e4:name1:xee"
    try:
        span = tuple(decoder.info_span(data))
    except NotImplementedError:
        raise
    except Exception as exc:  # the student's code
        pytest.fail(f"info_span({data!r}) raised {type(exc).__name__}: {exc}; refusing bad input counts only once a "
                    f"valid torrent is read")
    if span != (22, 44):
        pytest.fail(f"info_span({data!r}) returned {span}, not (22, 44); refusing bad input counts only once a valid "
                    f"torrent is read")
    return decoder


@pytest.fixture(scope="session")
def encoder(lab: ModuleType) -> ModuleType:
    """The student's package, once its encoder writes BEP 3's examples."""
    for data, value in _WORKING.items():
        try:
            got = lab.encode(value)
        except NotImplementedError:
            raise
        except Exception as exc:  # the student's code
            pytest.fail(f"encode({value!r}) raised {type(exc).__name__}: {exc}; refusing what bencoding cannot say "
                        f"counts only once valid values encode")
        if got != data:
            pytest.fail(f"encode({value!r}) returned {got!r}, not {data!r}; refusing what bencoding cannot say counts "
                        f"only once valid values encode")
    return lab
