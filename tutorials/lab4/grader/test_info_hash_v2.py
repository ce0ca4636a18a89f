"""The v2 info hash (BEP 52): SHA-256 of the same info bytes, for the torrents with
'meta version' 2 among the vendored test torrents."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import pytest
from lab4_grading import btref_info_bytes, torrent_files

from btref import bencode

V2 = [p for p in torrent_files()
      if (info := btref_info_bytes(p.read_bytes())) is not None
      and bencode.decode(info, strict=False).get(b"meta version") == 2]  # type: ignore[union-attr]



@pytest.mark.parametrize("path", V2, ids=[p.name for p in V2])
def test_info_hash_v2(lab: ModuleType, path: Path) -> None:
    """info_hash_v2: SHA-256 (32 bytes) of the very bytes info_hash hashes with SHA-1"""
    data = path.read_bytes()
    info = btref_info_bytes(data)
    assert info is not None
    start, end = lab.info_span(data)
    assert data[start:end] == info, f"{path.name}: info_span returned ({start}, {end}), not the info dict's bytes"
    got = lab.info_hash_v2(data)
    assert got == hashlib.sha256(info).digest(), f"{path.name}: info_hash_v2 returned {got!r}"
