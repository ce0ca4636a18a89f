"""Conformance: the bittorrent.org BEP 52 reference torrents (v2-only and hybrid).

Expected values come from ``tests/vectors/bep52-test-torrents/bep52_test_torrents.json``
(computed and cross-checked there, e.g. the v2-only file's well-known magnet hash).
Both files are canonical and complete, so they must also load with ``strict=True``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btref.metainfo import parse

_NAMES = ["bittorrent-v2-test.torrent", "bittorrent-v2-hybrid-test.torrent"]


@pytest.mark.parametrize("name", _NAMES)
def test_reference_torrent(vectors: Path, name: str) -> None:
    folder = vectors / "bep52-test-torrents"
    want = json.loads((folder / "bep52_test_torrents.json").read_text())["torrents"][name]
    t = parse((folder / name).read_bytes(), strict=True)
    assert t.info_hash_v2.hex() == want["info_hash_v2_sha256"]
    assert t.info_hash.hex() == (want["info_hash_v1_sha1"] or want["info_hash_v2_truncated_20"])
    assert (t.info_hash_v1.hex() if t.info_hash_v1 else None) == want["info_hash_v1_sha1"]
    assert t.version == ("hybrid" if want["hybrid"] else "v2")
    assert (t.name, t.piece_length) == (want["name"], want["piece_length"])
    assert len(t.piece_layers) == want["num_piece_layer_entries"] and not t.missing_piece_layers
    real = [f for f in t.files if not f.pad]
    assert len(real) == want["num_v2_files"]
    for entry, expected in zip(real, want["files"]):
        assert "/".join(entry.path[1:]) == expected["path"]
        assert entry.length == expected["length"]
        assert entry.pieces_root.hex() == expected["pieces_root"]
        assert entry.offset % t.piece_length == 0
        layer = t.piece_layers.get(entry.pieces_root, b"")
        assert len(layer) // 32 == expected["piece_layer_hashes"]
