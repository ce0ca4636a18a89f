"""BEP 52 merkle math (btref.hashing) and the two hash-scheme plugins, against naive references."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import hashing
from btref.wire import BLOCK_SIZE
from btref.metainfo import FileEntry, Torrent
from btref_hashes.merkle_sha256 import MerkleHasher, MerkleSHA256
from btref_hashes.sha1 import SHA1, SHA1Hasher

B = BLOCK_SIZE


# -- a naive reference: build the whole padded tree, leaf by leaf -------------------------


def naive_root(data: bytes, leaves_wanted: int | None = None) -> bytes:
    leaves = [hashlib.sha256(data[i : i + B]).digest() for i in range(0, len(data), B)]
    width = 1
    while width < max(len(leaves), leaves_wanted or 1):
        width *= 2
    layer = leaves + [bytes(32)] * (width - len(leaves))
    while len(layer) > 1:
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0]


def naive_layer(data: bytes, piece_length: int) -> list[bytes]:
    return [naive_root(data[i : i + piece_length], piece_length // B) for i in range(0, len(data), piece_length)]


def content(case: dict) -> bytes:
    if case["name"] == "one_byte_a":
        return b"a"
    if case["name"] == "three_blocks_pattern":
        return bytes(i & 0xFF for i in range(case["length"]))
    return bytes(case["length"])


sizes = st.integers(min_value=1, max_value=9 * B + 7)
piece_lengths = st.sampled_from([B, 2 * B, 4 * B])


@given(size=sizes, seed=st.integers(0, 255))
def test_file_root_matches_naive(size: int, seed: int) -> None:
    data = bytes((i * 7 + seed) & 0xFF for i in range(size))
    assert hashing.file_root(data) == naive_root(data)


@given(size=sizes, piece_length=piece_lengths)
def test_piece_layer_and_root_match_naive(size: int, piece_length: int) -> None:
    data = bytes((i * 31) & 0xFF for i in range(size))
    leaves = hashing.leaf_hashes(data)
    layer = hashing.piece_layer(leaves, piece_length)
    assert layer == naive_layer(data, piece_length)
    assert [hashing.piece_root(data[i : i + piece_length], piece_length) for i in range(0, size, piece_length)] == layer
    if size > piece_length:
        assert hashing.root_from_piece_layer(layer, piece_length) == naive_root(data)


@given(size=st.integers(0, 6 * B + 5), cuts=st.lists(st.integers(0, 6 * B + 5), max_size=6), piece_length=piece_lengths)
def test_incremental_file_merkle_any_chunking(size: int, cuts: list[int], piece_length: int) -> None:
    data = bytes((i * 13) & 0xFF for i in range(size))
    fm = hashing.FileMerkle(piece_length)
    points = sorted({0, size, *(c for c in cuts if c < size)})
    for lo, hi in zip(points, points[1:]):
        fm.update(memoryview(data)[lo:hi])
    root, layer = fm.finish()
    if size == 0:
        assert (root, layer) == (None, [])
        return
    assert root == naive_root(data)
    assert layer == (naive_layer(data, piece_length) if size > piece_length else [])


def test_zero_roots_and_cases_from_vectors(vectors) -> None:
    spec = json.loads((vectors / "bep52_merkle.json").read_text())
    for entry in spec["zero_subtree_roots"]:
        assert hashing.zero_root(entry["height"]).hex() == entry["hash"]
    for case in spec["cases"]:
        data = content(case)
        if case["pieces_root"] is None:
            with pytest.raises(ValueError, match="empty file"):
                hashing.file_root(data)
            continue
        assert hashing.file_root(data).hex() == case["pieces_root"], case["name"]
        layer = hashing.piece_layer(hashing.leaf_hashes(data), case["piece_length"])
        expected = case["piece_layer"]
        if isinstance(expected, dict):
            assert len(layer) == expected["count"] and {h.hex() for h in layer} == set(expected["distinct"])
        else:
            assert [h.hex() for h in layer] == expected, case["name"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="power of two"):
        hashing.piece_root(b"x", 3 * B)
    with pytest.raises(ValueError, match="power of two"):
        hashing.FileMerkle(B // 2)
    with pytest.raises(ValueError, match="cannot fit"):
        hashing.merkle_root([bytes(32)] * 3, 2)
    assert hashing.merkle_root([], 4) == hashing.zero_root(2)


# -- the plugins on hand-built torrents -----------------------------------------------


def v2_torrent(files: list[bytes], piece_length: int, *, hybrid: bool = False, layers: bool = True) -> tuple[Torrent, bytes]:
    """A Torrent for ``files`` (v2 or hybrid geometry) and the piece-space bytes."""
    entries, space, layer_map, offset = [], bytearray(), {}, 0
    for i, data in enumerate(files):
        if data and not hybrid:
            offset = -(-offset // piece_length) * piece_length
            space += bytes(offset - len(space))
        root = hashing.file_root(data) if data else None
        if root and len(data) > piece_length and layers:
            layer_map[root] = b"".join(naive_layer(data, piece_length))
        entries.append(FileEntry(path=("t", f"f{i}"), length=len(data), offset=offset, pieces_root=root))
        space += data
        offset += len(data)
        gap = -offset % piece_length
        if hybrid and gap and i < len(files) - 1:
            entries.append(FileEntry(path=("t", ".pad", str(gap)), length=gap, offset=offset, pad=True))
            space += bytes(gap)
            offset += gap
    pieces = tuple(hashlib.sha1(space[i : i + piece_length]).digest() for i in range(0, len(space), piece_length))
    torrent = Torrent(
        name="t", piece_length=piece_length, files=tuple(entries),
        piece_hashes=pieces if hybrid else (), piece_layers=layer_map,
        info_hash_v1=b"1" * 20 if hybrid else None, info_hash_v2=b"2" * 32, info_bytes=b"",
    )
    return torrent, bytes(space)


def piece(torrent: Torrent, space: bytes, index: int) -> bytes:
    start = index * torrent.piece_length
    return space[start : start + torrent.piece_size(index)]


@pytest.mark.parametrize("hybrid", [False, True])
def test_merkle_verifies_every_piece_and_rejects_flips(hybrid: bool) -> None:
    files = [b"\x01" * (3 * B + 5), b"", b"\x02" * 100, b"\x03" * (2 * B), b"\x04" * (5 * B)]
    torrent, space = v2_torrent(files, 2 * B, hybrid=hybrid)
    scheme = MerkleSHA256()
    sha1 = SHA1()
    for i in range(torrent.num_pieces):
        data = piece(torrent, space, i)
        assert scheme.btref_verify_piece(torrent=torrent, index=i, data=memoryview(data)) is True, i
        assert sha1.btref_verify_piece(torrent=torrent, index=i, data=memoryview(data)) is (True if hybrid else None)
        bad = bytearray(data)
        bad[len(bad) // 3] ^= 0x10
        assert scheme.btref_verify_piece(torrent=torrent, index=i, data=memoryview(bad)) is False
        if hybrid:
            assert sha1.btref_verify_piece(torrent=torrent, index=i, data=memoryview(bad)) is False
        assert scheme.btref_verify_piece(torrent=torrent, index=i, data=memoryview(data[:-1])) is False
        if len(data) < torrent.piece_length:
            assert scheme.btref_verify_piece(torrent=torrent, index=i, data=memoryview(data + b"\0")) is False
        if hybrid and data.endswith(b"\0"):
            assert scheme.btref_verify_piece(torrent=torrent, index=i, data=memoryview(data[:-1] + b"\1")) is False


def test_merkle_answers_none_or_false_where_it_cannot_check() -> None:
    torrent, space = v2_torrent([b"x" * (5 * B)], B, layers=False)
    scheme = MerkleSHA256()
    assert scheme.btref_verify_piece(torrent=torrent, index=0, data=memoryview(space[:B])) is None
    assert scheme.btref_verify_piece(torrent=torrent, index=99, data=memoryview(b"")) is False
    v1 = Torrent(name="t", piece_length=B, files=(FileEntry(("t",), 5, 0),), piece_hashes=(bytes(20),),
                 piece_layers={}, info_hash_v1=b"1" * 20, info_hash_v2=None, info_bytes=b"")
    assert scheme.btref_verify_piece(torrent=v1, index=0, data=memoryview(b"12345")) is None
    assert SHA1().btref_verify_piece(torrent=v1, index=7, data=memoryview(b"12345")) is False
    no_root = attrs_evolve_first_file(torrent, pieces_root=None)
    assert scheme.btref_verify_piece(torrent=no_root, index=0, data=memoryview(space[:B])) is None


def attrs_evolve_first_file(torrent: Torrent, **changes) -> Torrent:
    import attrs

    return attrs.evolve(torrent, files=(attrs.evolve(torrent.files[0], **changes), *torrent.files[1:]))


def test_hashers_by_version() -> None:
    assert SHA1().btref_piece_hasher(version="v2", piece_length=B) is None
    assert MerkleSHA256().btref_piece_hasher(version="v1", piece_length=B) is None
    assert isinstance(SHA1().btref_piece_hasher(version="hybrid", piece_length=B), SHA1Hasher)
    assert isinstance(MerkleSHA256().btref_piece_hasher(version="v2", piece_length=B), MerkleHasher)


@given(sizes=st.lists(st.integers(0, 4 * B + 3), min_size=1, max_size=4), chunk=st.integers(1, 3 * B))
def test_hashers_stream_matches_whole_data(sizes: list[int], chunk: int) -> None:
    piece_length = 2 * B
    files = [bytes((i + j) & 0xFF for j in range(size)) for i, size in enumerate(sizes)]
    sha1, merkle = SHA1Hasher(piece_length), MerkleHasher(piece_length)
    roots = []
    for i, data in enumerate(files):
        entry = FileEntry(path=("t", str(i)), length=len(data), offset=0)
        for h in (sha1, merkle):
            h.start_file(entry)
        for lo in range(0, len(data), chunk):
            for h in (sha1, merkle):
                h.update(memoryview(data)[lo : lo + chunk])
        assert sha1.end_file() == {}
        roots.append(merkle.end_file().get("pieces root"))
    # a pad file passes through the merkle hasher without a trace
    merkle.start_file(FileEntry(path=("t", ".pad", "3"), length=3, offset=0, pad=True))
    merkle.update(memoryview(bytes(3)))
    assert merkle.end_file() == {}
    whole = b"".join(files)
    info, outer = sha1.finish()
    assert info == {"pieces": b"".join(hashlib.sha1(whole[i : i + piece_length]).digest() for i in range(0, len(whole), piece_length))}
    assert outer == {}
    info, outer = merkle.finish()
    assert info == {}
    layers = outer["piece layers"]
    for data, root in zip(files, roots):
        assert root == (naive_root(data) if data else None)
        if len(data) > piece_length:
            assert layers[root] == b"".join(naive_layer(data, piece_length))
    assert len(layers) == len({r for d, r in zip(files, roots) if len(d) > piece_length})


@pytest.mark.parametrize("name", ["bittorrent-v2-test.torrent", "bittorrent-v2-hybrid-test.torrent"])
def test_reference_torrents_piece_layers_hash_up_to_their_roots(vectors, name: str) -> None:
    from btref.io import torrent_file

    torrent = torrent_file.load(vectors / "bep52-test-torrents" / name)
    expected = json.loads((vectors / "bep52-test-torrents" / "bep52_test_torrents.json").read_text())["torrents"][name]
    checked = 0
    for entry in torrent.files:
        layer = torrent.piece_layers.get(entry.pieces_root) if entry.pieces_root else None
        if layer is None:
            assert entry.pad or entry.length <= torrent.piece_length
            continue
        hashes = [layer[i : i + 32] for i in range(0, len(layer), 32)]
        assert len(hashes) == -(-entry.length // torrent.piece_length)
        assert hashing.root_from_piece_layer(hashes, torrent.piece_length) == entry.pieces_root
        checked += 1
    assert checked == expected.get("num_piece_layer_entries", checked) and checked > 0
