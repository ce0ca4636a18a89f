"""What every hash-scheme plugin must do (hookspecs ``btref_verify_piece``, ``btref_piece_hasher``).

The contract, checked for the plugin named by ``--hash-scheme``:

* a scheme *covers* a torrent version when its ``btref_piece_hasher`` gives a hasher for it;
* a torrent created with the scheme's own hasher (``btref.io.create``) verifies: every piece
  ``True`` (short last pieces, files smaller than a piece, empty files, pad files), and any
  flipped bit, missing or extra byte is never ``True``;
* for a version it does not cover it answers ``None``, never a verdict;
* the BEP 52 vectors (merkle roots, piece layers, v1 piece hashes) come out of its hasher,
  and libtorrent's zero-filled v2 test torrents verify with zeros.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from btref import metainfo, plugins
from btref.io import torrent_file
from btref.io.create import create_torrent
from btref.metainfo import FileEntry, Torrent

VERSIONS = ("v1", "v2", "hybrid")
PIECE = 32 * 1024
#: One tree that has every awkward case: multi-piece files with short tails, a file of
#: exactly one piece, files smaller than a piece and smaller than a block, empty files.
SIZES = {"a/long.bin": 3 * PIECE + 1234, "a/one-piece": PIECE, "b": 0, "c/small": 5000,
         "c/tiny": 1, "d/empty": 0, "e": 2 * PIECE}


@pytest.fixture
def scheme(scheme_name: str) -> Any:
    return plugins.create("hashes", scheme_name)


def covers(scheme: Any, version: str, piece_length: int = PIECE) -> bool:
    return scheme.btref_piece_hasher(version=version, piece_length=piece_length) is not None


def make_tree(root: Path, sizes: dict[str, int], seed: int = 1) -> Path:
    rng = random.Random(seed)
    for rel, size in sizes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    return root


def build(path: Path, version: str, scheme_name: str, scheme: Any, piece_length: int = PIECE) -> Torrent:
    """A torrent of ``version`` whose hashes for this scheme come from the scheme's own hasher."""
    if covers(scheme, version, piece_length):
        others = [n for n in plugins.HASH_SCHEMES[version] if n != scheme_name]
        hashes = [*others, scheme]  # the scheme under test goes last: its fields win
    else:
        hashes = list(plugins.HASH_SCHEMES[version])
    data = create_torrent(path, version=version, piece_length=piece_length, hashes=hashes)
    return metainfo.parse(data)


def pieces(torrent: Torrent, data_dir: Path) -> list[bytes]:
    """Every piece's bytes, pad files as zeros, read from ``data_dir``."""
    space = bytearray()
    for f in torrent.files:
        space += bytes(f.offset - len(space)) if f.offset > len(space) else b""
        space += bytes(f.length) if f.pad else data_dir.joinpath(*f.path).read_bytes()
    return [bytes(space[i * torrent.piece_length :][: torrent.piece_size(i)]) for i in range(torrent.num_pieces)]


def verify(scheme: Any, torrent: Torrent, index: int, data: bytes) -> bool | None:
    return scheme.btref_verify_piece(torrent=torrent, index=index, data=memoryview(data))


def test_good_pieces_pass_and_damaged_pieces_fail(tmp_path: Path, scheme_name: str, scheme: Any,
                                                  covered_version: str) -> None:
    version = covered_version
    tree = make_tree(tmp_path / "tree", SIZES)
    torrent = build(tree, version, scheme_name, scheme)
    rng = random.Random(version)
    for i, data in enumerate(pieces(torrent, tmp_path)):
        assert verify(scheme, torrent, i, data) is True, f"good piece {i} rejected"
        for bit in {0, len(data) * 8 - 1, rng.randrange(len(data) * 8)}:
            bad = bytearray(data)
            bad[bit // 8] ^= 1 << (bit % 8)
            assert verify(scheme, torrent, i, bytes(bad)) is False, f"piece {i} with bit {bit} flipped accepted"
        assert verify(scheme, torrent, i, data[:-1]) is not True, f"piece {i} one byte short accepted"
        if len(data) < torrent.piece_length:
            assert verify(scheme, torrent, i, data + b"\0") is not True, f"piece {i} one byte long accepted"


def test_silent_for_versions_not_covered(tmp_path: Path, scheme_name: str, scheme: Any,
                                         uncovered_version: str) -> None:
    version = uncovered_version
    tree = make_tree(tmp_path / "tree", SIZES)
    torrent = build(tree, version, scheme_name, scheme)
    for i, data in enumerate(pieces(torrent, tmp_path)):
        assert verify(scheme, torrent, i, data) is None


@pytest.mark.parametrize("size", [1, 16 * 1024, PIECE - 1, PIECE + 1, 5 * PIECE])
def test_single_file_sizes(tmp_path: Path, scheme_name: str, scheme: Any, covered_version: str, size: int) -> None:
    version = covered_version
    make_tree(tmp_path, {"f.bin": size}, seed=size)
    torrent = build(tmp_path / "f.bin", version, scheme_name, scheme)
    got = pieces(torrent, tmp_path)
    assert [verify(scheme, torrent, i, d) for i, d in enumerate(got)] == [True] * len(got)
    assert verify(scheme, torrent, len(got) - 1, bytes(len(got[-1]))) is False


def test_hasher_gives_nothing_for_pad_and_empty_files(scheme: Any) -> None:
    for version in VERSIONS:
        hasher = scheme.btref_piece_hasher(version=version, piece_length=PIECE)
        if hasher is None:
            continue
        hasher.start_file(FileEntry(path=("t", "empty"), length=0, offset=0))
        assert not any(k in ("pieces root", b"pieces root") for k in hasher.end_file())
        info, outer = hasher.finish()
        assert isinstance(info, dict) and isinstance(outer, dict)


def feed(hasher: Any, data: bytes) -> dict[Any, Any]:
    hasher.start_file(FileEntry(path=("f",), length=len(data), offset=0))
    for lo in range(0, len(data), 40000):  # chunks that do not line up with blocks
        hasher.update(memoryview(data)[lo : lo + 40000])
    return hasher.end_file()


def vector_content(case: dict[str, Any]) -> bytes:
    if case["name"] == "one_byte_a":
        return b"a"
    if case["name"] == "three_blocks_pattern":
        return bytes(i & 0xFF for i in range(case["length"]))
    return bytes(case["length"])


def test_bep52_merkle_vectors(scheme_name: str, scheme: Any, vectors: Path) -> None:
    spec = json.loads((vectors / "bep52_merkle.json").read_text())
    cases = [c for c in spec["cases"] if c.get("piece_length")]
    checked = 0
    for case in cases:
        data, piece_length = vector_content(case), case["piece_length"]
        hasher = scheme.btref_piece_hasher(version="v2", piece_length=piece_length)
        if hasher is not None:
            fields = {k.encode() if isinstance(k, str) else k: v for k, v in feed(hasher, data).items()}
            assert fields[b"pieces root"].hex() == case["pieces_root"], case["name"]
            _, outer = hasher.finish()
            layers = {k.encode() if isinstance(k, str) else k: v for k, v in outer.items()}.get(b"piece layers", {})
            layer = layers.get(fields[b"pieces root"])
            assert (layer is not None) == case["piece_layer_entry_needed"], case["name"]
            if layer is not None:
                expected = case["piece_layer"]
                got = [layer[i : i + 32].hex() for i in range(0, len(layer), 32)]
                if isinstance(expected, dict):
                    assert len(got) == expected["count"] and set(got) == set(expected["distinct"])
                else:
                    assert got == expected, case["name"]
            checked += 1
        hasher = scheme.btref_piece_hasher(version="v1", piece_length=piece_length)
        if hasher is not None:
            feed(hasher, data)
            info, _ = hasher.finish()
            raw = {k.encode() if isinstance(k, str) else k: v for k, v in info.items()}[b"pieces"]
            assert {raw[i : i + 20].hex() for i in range(0, len(raw), 20)} == set(case["sha1_per_piece_v1"])
            checked += 1
    if not checked:
        pytest.skip(f"{scheme_name} hashes neither v1 nor v2 torrents")


#: libtorrent's test torrents that describe zero-filled files (v1 and v2 hashes alike).
ZERO_FILLED = ["v2.torrent", "v2_multipiece_file.torrent", "v2_only.torrent"]


@pytest.mark.parametrize("name", ZERO_FILLED)
def test_libtorrent_zero_filled_torrents(scheme: Any, vectors: Path, name: str) -> None:
    torrent = torrent_file.load(vectors / "libtorrent-test-torrents" / name)
    covered = covers(scheme, torrent.version, torrent.piece_length)
    for i in range(torrent.num_pieces):
        answer = verify(scheme, torrent, i, bytes(torrent.piece_size(i)))
        assert answer is (True if covered else None), f"{name} piece {i}"
    if covered:
        assert verify(scheme, torrent, 0, b"\1" + bytes(torrent.piece_size(0) - 1)) is False


def test_v2_without_piece_layers_is_not_checked(scheme: Any, vectors: Path) -> None:
    """A v2 torrent whose piece layers are missing (libtorrent accepts it, like a magnet):
    nothing to check multi-piece files against, so no verdict."""
    torrent = torrent_file.load(vectors / "libtorrent-test-torrents" / "v2_no_piece_layers.torrent")
    assert verify(scheme, torrent, 0, bytes(torrent.piece_size(0))) is None


@pytest.mark.parametrize("name", ["bittorrent-v2-test.torrent", "bittorrent-v2-hybrid-test.torrent"])
def test_bep52_reference_torrents_reject_wrong_data(scheme: Any, vectors: Path, name: str) -> None:
    torrent = torrent_file.load(vectors / "bep52-test-torrents" / name)
    covered = covers(scheme, torrent.version, torrent.piece_length)
    for i in (0, torrent.num_pieces - 1):
        answer = verify(scheme, torrent, i, bytes(torrent.piece_size(i)))
        assert answer is (False if covered else None)
