"""The v1 info hash of real torrents: libtorrent's test torrents and BEP 52's reference
torrents (vendored in tests/vectors/). The expected hash is btref's, computed here: the
SHA-1 of the info dictionary's bytes exactly as they are in the file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import pytest
from lab4_grading import btref_info_bytes, raises_lab_error, show, torrent_files

FILES = torrent_files()
#: The torrents that have an info dictionary at all (a few of libtorrent's do not).
WITH_INFO = [p for p in FILES if btref_info_bytes(p.read_bytes()) is not None]
WITHOUT_INFO = [p for p in FILES if p not in WITH_INFO]



@pytest.mark.parametrize("path", WITH_INFO, ids=[p.name for p in WITH_INFO])
def test_info_hash(lab: ModuleType, path: Path) -> None:
    """info_hash: SHA-1 of the info dict's bytes as they are in the file (not re-encoded; keys may be unsorted)"""
    data = path.read_bytes()
    info = btref_info_bytes(data)
    assert info is not None
    start, end = lab.info_span(data)
    assert data[start:end] == info, (
        f"{path.name}: info_span returned ({start}, {end}), bytes {show(data[start:end], 40)}; "
        f"the info dict starts with {show(info, 40)} and is {len(info)} bytes long")
    got = lab.info_hash(data)
    assert got == hashlib.sha1(info).digest(), f"{path.name}: info_hash returned {got!r}, expected SHA-1 of the info bytes"


@pytest.mark.usefixtures("torrent_reader")
@pytest.mark.parametrize("path", WITHOUT_INFO, ids=[p.name for p in WITHOUT_INFO])
def test_no_info_dictionary(lab: ModuleType, path: Path) -> None:
    """a file that is no dictionary, has no 'info' dictionary, or nests too deep: info_span raises BencodeError"""
    ok, what = raises_lab_error(lab, lab.info_span, path.read_bytes())
    assert ok, f"{path.name}: info_span {what}; the file has no usable info dictionary"


@pytest.mark.parametrize("data", [b"d4:infod1:xi1eee", b"d4:infod1:xi1eee" + b"junk", b"d1:ai1e4:infod0:0:ee1:zle",
                                  b"d1:zi1e4:infod1:bi1e1:ai2eee", b"d4:infoi1e4:infodee"])
def test_small_torrents(lab: ModuleType, data: bytes) -> None:
    """info_span reads leniently: bytes after the top-level dict are ignored, keys may be out of order or repeated"""
    info = btref_info_bytes(data)
    assert info is not None
    start, end = lab.info_span(data)
    assert data[start:end] == info, f"info_span({show(data)}) returned ({start}, {end}), the info dict is {info!r}"


@pytest.mark.usefixtures("torrent_reader")
@pytest.mark.parametrize("data", [b"", b"le", b"4:info", b"de", b"d4:infoi1ee", b"d4:infol1:xee", b"d4:infod", b"i1e"])
def test_not_a_torrent(lab: ModuleType, data: bytes) -> None:
    """info_span raises BencodeError when there is no top-level dict with an 'info' dict in it"""
    ok, what = raises_lab_error(lab, lab.info_span, data)
    assert ok, f"info_span({show(data)}) {what}; it must raise BencodeError"
