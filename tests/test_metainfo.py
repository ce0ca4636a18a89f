"""Tests for btref.metainfo and btref.filetree: v1, v2 and hybrid parsing, geometry,
limits and every rejection path (each must name its field)."""

from __future__ import annotations

import hashlib
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import metainfo
from btref.bencode import encode
from btref.errors import BencodeError, MetainfoError
from btref.filetree import FileEntry, layer_root, pad_hash
from btref.wire import BLOCK_SIZE
from btref.io.torrent_file import load
from btref.metainfo import Torrent, from_info, parse

KIB = 1024


# -- building torrents by hand (independent of btref.io.create) ---------------------------


def merkle(data: bytes, piece_length: int) -> tuple[bytes, bytes]:
    """(pieces root, piece layer) of ``data`` computed from the full BEP 52 tree."""
    leaves = [hashlib.sha256(data[i : i + BLOCK_SIZE]).digest() for i in range(0, len(data), BLOCK_SIZE)]
    per_piece = piece_length // BLOCK_SIZE
    width = max(1 << math.ceil(math.log2(len(leaves))), per_piece)
    level = leaves + [bytes(32)] * (width - len(leaves))
    layer = b""
    pieces = -(-len(data) // piece_length)
    while True:
        if len(level) * per_piece == width:  # each node now covers one piece
            layer = b"".join(level[:pieces])
        if len(level) == 1:
            return level[0], layer
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]


def blob(n: int, seed: int = 1) -> bytes:
    return bytes((seed * 31 + i * 7) % 251 for i in range(n))


def v1_torrent(files: dict[str, bytes] | bytes, piece_length: int = 16 * KIB, name: str = "t", **outer) -> bytes:
    if isinstance(files, bytes):
        data = files
        info = {"name": name, "piece length": piece_length, "length": len(files)}
    else:
        data = b"".join(files.values())
        info = {"name": name, "piece length": piece_length,
                "files": [{"length": len(v), "path": k.split("/")} for k, v in files.items()]}
    info["pieces"] = b"".join(hashlib.sha1(data[i : i + piece_length]).digest()
                              for i in range(0, len(data), piece_length))
    return encode({"info": info, **outer})


def v2_parts(files: dict[str, bytes], piece_length: int) -> tuple[dict, dict]:
    tree: dict = {}
    layers = {}
    for path, data in files.items():
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})
        leaf: dict = {"length": len(data)}
        if data:
            root, layer = merkle(data, piece_length)
            leaf["pieces root"] = root
            if len(data) > piece_length:
                layers[root] = layer
        node[""] = leaf
    return tree, layers


def v2_torrent(files: dict[str, bytes], piece_length: int = 16 * KIB, name: str = "t", *, layers=True) -> bytes:
    tree, piece_layers = v2_parts(files, piece_length)
    info = {"name": name, "piece length": piece_length, "meta version": 2, "file tree": tree}
    outer = {"info": info}
    if layers:
        outer["piece layers"] = piece_layers
    return encode(outer)


def hybrid_torrent(files: dict[str, bytes], piece_length: int = 16 * KIB, name: str = "t") -> bytes:
    tree, piece_layers = v2_parts(files, piece_length)
    v1_files, stream = [], b""
    items = list(files.items())
    for i, (path, data) in enumerate(items):
        v1_files.append({"length": len(data), "path": path.split("/")})
        stream += data
        gap = -len(stream) % piece_length
        if gap and i != len(items) - 1:
            v1_files.append({"attr": "p", "length": gap, "path": [".pad", str(gap)]})
            stream += bytes(gap)
    pieces = b"".join(hashlib.sha1(stream[i : i + piece_length]).digest() for i in range(0, len(stream), piece_length))
    info = {"name": name, "piece length": piece_length, "meta version": 2, "file tree": tree,
            "files": v1_files, "pieces": pieces}
    return encode({"info": info, "piece layers": piece_layers})


def info_of(raw: bytes) -> bytes:
    """The info-dict bytes of a canonical torrent built above."""
    from btref.bencode import decode_with_spans

    _, spans = decode_with_spans(raw)
    return raw[slice(*spans[b"info"])]


# -- v1 -------------------------------------------------------------------------------


def test_v1_single_file() -> None:
    data = blob(40000)
    raw = v1_torrent(data, name="movie.mkv", announce="http://t/announce", comment="hi",
                     **{"created by": "me", "creation date": 1700000000})
    t = parse(raw)
    assert t.version == "v1" and t.name == "movie.mkv"
    assert t.info_hash_v1 == hashlib.sha1(info_of(raw)).digest() == t.info_hash
    assert t.info_hash_v2 is None and t.info_bytes == info_of(raw)
    assert t.files == (FileEntry(("movie.mkv",), 40000, 0),)
    assert (t.num_pieces, t.total_length, t.end) == (3, 40000, 40000)
    assert [t.piece_size(i) for i in range(3)] == [16384, 16384, 40000 - 32768]
    assert t.piece_hashes[2] == hashlib.sha1(data[32768:]).digest()
    assert t.trackers == (("http://t/announce",),)
    assert (t.comment, t.created_by, t.creation_date, t.private) == ("hi", "me", 1700000000, False)
    assert not t.missing_piece_layers and dict(t.piece_layers) == {}


def test_v1_multi_file_paths_offsets_and_attributes() -> None:
    info = {
        "name": "album", "piece length": 16 * KIB, "private": 1,
        "files": [
            {"length": 10, "path": ["cd1", "01.flac"], "attr": "x", "mtime": 99},
            {"length": 16374, "path": [".pad", "16374"], "attr": "p"},
            {"length": 5, "path": ["cover.jpg"], "attr": "h"},
            {"path": ["link"], "attr": "l", "symlink path": ["cd1", "01.flac"]},
            {"length": 3, "path": ["_____padding_file_0"]},
            {"length": 2, "path": ["bad"], "path.utf-8": ["good"]},
            {"length": 1, "path": ["kept"], "path.utf-8": [7]},
        ],
        "pieces": bytes(40),
    }
    t = parse(encode({"info": info}))
    assert [f.path for f in t.files] == [
        ("album", "cd1", "01.flac"), ("album", ".pad", "16374"), ("album", "cover.jpg"),
        ("album", "link"), ("album", "_____padding_file_0"), ("album", "good"), ("album", "kept"),
    ]
    assert [f.offset for f in t.files] == [0, 10, 16384, 16389, 16389, 16392, 16394]
    assert [f.pad for f in t.files] == [False, True, False, False, True, False, False]
    assert t.files[0].executable and t.files[0].mtime == 99 and t.files[2].hidden
    assert t.files[3].symlink == ("album", "cd1", "01.flac") and t.files[3].length == 0
    assert t.private and t.total_length == 16395 and t.num_pieces == 2


def test_pad_file_without_path_and_single_file_attributes() -> None:
    info = {"name": "n", "piece length": 16 * KIB, "pieces": bytes(20),
            "files": [{"length": 4, "path": ["a"]}, {"length": 9, "attr": "p"}]}
    assert parse(encode({"info": info})).files[1].path == ("n", ".pad", "9")
    single = {"name": "run.sh", "piece length": 16 * KIB, "pieces": bytes(20), "length": 5, "attr": "xh"}
    f = parse(encode({"info": single})).files[0]
    assert f.executable and f.hidden


def test_hostile_paths_are_sanitized_and_deduplicated() -> None:
    info = {"name": "../../evil", "piece length": 16 * KIB, "pieces": bytes(20),
            "files": [{"length": 1, "path": ["..", "..", "etc", "passwd"]},
                      {"length": 1, "path": ["/", "etc", "passwd"]},
                      {"length": 1, "path": ["etc", "passwd"]},
                      {"length": 1, "path": ["."]}]}
    t = parse(encode({"info": info}))
    assert t.name == "....evil"
    assert [f.path for f in t.files] == [("....evil", "etc", "passwd"), ("....evil", "_", "etc", "passwd"),
                                         ("....evil", "etc", "passwd.1"), ("....evil", "_.1")]


def test_name_falls_back_to_info_hash_and_prefers_name_utf8() -> None:
    raw = encode({"info": {"name": "..", "piece length": 16 * KIB, "pieces": bytes(20), "length": 1}})
    t = parse(raw)
    assert t.name == t.info_hash.hex() and t.files[0].path == (t.name,)
    raw = encode({"info": {"name": "x", "name.utf-8": "y", "piece length": 16 * KIB, "pieces": bytes(20), "length": 1}})
    assert parse(raw).name == "y"
    raw = encode({"info": {"name": "x", "name.utf-8": "", "piece length": 16 * KIB, "pieces": bytes(20), "length": 1}})
    assert parse(raw).name == "x"


def test_trackers_tiers() -> None:
    base = {"name": "n", "piece length": 16 * KIB, "pieces": bytes(20), "length": 1}
    raw = encode({"info": base, "announce": "http://ignored",
                  "announce-list": [[" http://a ", "http://a", "udp://b"], [], [7], "http://flat", [""]]})
    assert parse(raw).trackers == (("http://a", "udp://b"), ("http://flat",))
    raw = encode({"info": base, "announce": "\t udp://x/announce", "announce-list": []})
    assert parse(raw).trackers == (("udp://x/announce",),)
    assert parse(encode({"info": base, "announce": 5})).trackers == ()


@pytest.mark.parametrize(
    ("url_list", "expected"),
    [
        ("http://one/", ("http://one/",)),
        (["http://a", "", "http://a", 5, ["x"], " http://b "], ("http://a", "http://b")),
        (7, ()),
    ],
)
def test_web_seeds(url_list: object, expected: tuple[str, ...]) -> None:
    base = {"name": "n", "piece length": 16 * KIB, "pieces": bytes(20), "length": 1}
    assert parse(encode({"info": base, "url-list": url_list})).web_seeds == expected


def test_to_dict() -> None:
    raw = v1_torrent({"a.txt": blob(10), "d/b.bin": blob(20000)}, announce="http://t/a",
                     **{"url-list": ["http://ws/"]})
    d = parse(raw).to_dict()
    assert d == {
        "name": "t", "info_hash_v1": hashlib.sha1(info_of(raw)).hexdigest(), "info_hash_v2": None,
        "version": "v1", "piece_length": 16384, "num_pieces": 2, "total_length": 20010, "private": False,
        "trackers": [["http://t/a"]], "web_seeds": ["http://ws/"],
        "files": [{"path": "t/a.txt", "length": 10, "pad": False}, {"path": "t/d/b.bin", "length": 20000, "pad": False}],
        "comment": None, "created_by": None, "creation_date": None,
    }


# -- v2 and hybrid --------------------------------------------------------------------


def test_v2_multi_file_geometry_and_layers() -> None:
    files = {"a.bin": blob(40000, 1), "empty": b"", "sub/c.bin": blob(16 * KIB, 3), "z": blob(5, 4)}
    raw = v2_torrent(files)
    t = parse(raw, strict=True)
    assert t.version == "v2" and t.info_hash_v1 is None and t.piece_hashes == ()
    assert t.info_hash_v2 == hashlib.sha256(info_of(raw)).digest() and t.info_hash == t.info_hash_v2[:20]
    assert [(f.path, f.offset, f.length) for f in t.files] == [
        (("t", "a.bin"), 0, 40000), (("t", "empty"), 49152, 0),
        (("t", "sub", "c.bin"), 49152, 16384), (("t", "z"), 65536, 5),
    ]
    assert t.num_pieces == 5
    assert [t.piece_size(i) for i in range(5)] == [16384, 16384, 40000 - 32768, 16384, 5]
    root = t.files[0].pieces_root
    assert root == merkle(files["a.bin"], 16 * KIB)[0] and set(t.piece_layers) == {root}
    assert t.files[1].pieces_root is None and not t.missing_piece_layers
    assert t.to_dict()["info_hash_v2"] == t.info_hash_v2.hex()


def test_v2_single_file_uses_the_tree_key_as_path() -> None:
    t = parse(v2_torrent({"only.iso": blob(100000)}, piece_length=32 * KIB, name="only.iso"))
    assert t.files[0].path == ("only.iso",) and t.num_pieces == 4


def test_v2_symlink_and_attributes() -> None:
    tree = {"f": {"": {"length": 20, "pieces root": merkle(blob(20), 16 * KIB)[0], "attr": "xh", "mtime": 5}},
            "l": {"": {"attr": "l", "symlink path": ["f"], "length": 0}}}
    info = {"name": "d", "piece length": 16 * KIB, "meta version": 2, "file tree": tree}
    t = parse(encode({"info": info}))
    assert t.files[0].executable and t.files[0].hidden and t.files[0].mtime == 5
    assert t.files[1].symlink == ("d", "f") and t.files[1].pieces_root is None


def test_v2_missing_layers_lenient_versus_strict() -> None:
    raw = v2_torrent({"big": blob(50000)}, layers=False)
    assert parse(raw).missing_piece_layers
    with pytest.raises(MetainfoError, match="'piece layers' lacks"):
        parse(raw, strict=True)


def test_hybrid() -> None:
    files = {"a": blob(20000, 1), "b": b"", "c": blob(40000, 2)}
    raw = hybrid_torrent(files)
    t = parse(raw, strict=True)
    assert t.version == "hybrid" and t.info_hash == t.info_hash_v1
    assert t.info_hash_v2 == hashlib.sha256(info_of(raw)).digest()
    assert [(f.path[-1], f.offset, f.pad, f.pieces_root is not None) for f in t.files] == [
        ("a", 0, False, True), ("12768", 20000, True, False), ("b", 32768, False, False), ("c", 32768, False, True)]
    assert t.num_pieces == len(t.piece_hashes) == 5 and t.piece_size(4) == 40000 - 32768


def test_from_info_for_metadata_exchange() -> None:
    raw = v2_torrent({"big": blob(50000)})
    t = from_info(info_of(raw))
    assert t.info_hash_v2 == parse(raw).info_hash_v2 and t.missing_piece_layers and t.trackers == ()
    with pytest.raises(MetainfoError, match="not a dictionary"):
        from_info(b"le")


# -- strictness -----------------------------------------------------------------------


def test_trailing_bytes_lenient_only() -> None:
    raw = v1_torrent(blob(10)) + b"junk"
    assert parse(raw).total_length == 10
    with pytest.raises(BencodeError, match="trailing"):
        parse(raw, strict=True)


def test_unsorted_keys_lenient_for_v1_but_not_v2() -> None:
    info = b"d6:pieces20:" + bytes(20) + b"4:name1:t12:piece lengthi16384e6:lengthi10ee"
    unsorted = b"d4:info" + info + b"e"
    t = parse(unsorted)
    assert t.info_hash_v1 == hashlib.sha1(info).digest() and t.total_length == 10
    with pytest.raises(BencodeError, match="order"):
        parse(unsorted, strict=True)
    v2 = v2_torrent({"a": blob(5)})
    bad = v2.replace(b"12:meta versioni2e", b"").replace(b"d9:file tree", b"d12:meta versioni2e9:file tree", 1)
    assert bad != v2
    with pytest.raises(BencodeError, match="order"):
        parse(bad)


# -- rejections -----------------------------------------------------------------------

V1 = {"name": "n", "piece length": 16 * KIB, "pieces": bytes(20), "length": 10}
V1M = {"name": "n", "piece length": 16 * KIB, "pieces": bytes(20), "files": [{"length": 10, "path": ["a"]}]}
ROOT = merkle(blob(20), 16 * KIB)[0]
V2 = {"name": "n", "piece length": 16 * KIB, "meta version": 2, "file tree": {"a": {"": {"length": 20, "pieces root": ROOT}}}}


def _with(base: dict, **changes: object) -> dict:
    out = {k.replace("_", " "): v for k, v in changes.items()}
    info = {**base, **{k: v for k, v in out.items() if v is not None}}
    return {k: v for k, v in info.items() if out.get(k, 0) is not None}


@pytest.mark.parametrize(
    ("info", "match"),
    [
        (_with(V1, name=None), "'name' is missing"),
        (_with(V1, name=5), "'name' is missing"),
        (_with(V1, name=b"\0\0"), "'name' is empty"),
        (_with(V1, piece_length=None), "'piece length'"),
        (_with(V1, piece_length=0), "'piece length'"),
        (_with(V1, piece_length=b"16384"), "'piece length'"),
        (_with(V1, piece_length=1 << 30), "'piece length' .* limit"),
        (_with(V1, pieces=None), "'pieces' is missing"),
        (_with(V1, pieces=5), "'pieces' must be"),
        (_with(V1, pieces=bytes(21)), "'pieces' must be"),
        (_with(V1, pieces=bytes(40)), "'pieces' holds 2 hashes, but the files need 1"),
        (_with(V1, length=None), "neither 'length' nor 'files'"),
        (_with(V1, length=-1), "'length' is missing or not"),
        (_with(V1, length=1 << 45), "'length' .* limit"),
        (_with(V1, length=0, pieces=b""), "holds no data"),
        (_with(V1, length=1 << 40), "over the limit"),
        (_with(V1M, files=[]), "'files' must be a non-empty list"),
        (_with(V1M, files="x"), "'files' must be a non-empty list"),
        (_with(V1M, files=[5]), r"'files'\[0\] is not a dictionary"),
        (_with(V1M, files=[{"length": 1}]), r"'files'\[0\] 'path'"),
        (_with(V1M, files=[{"length": 1, "path": ["a", 5]}]), r"'files'\[0\] 'path'"),
        (_with(V1M, files=[{"length": 1, "path": ["a"] * 65}]), "more than 64 elements"),
        (_with(V1M, files=[{"length": [1], "path": ["a"]}]), r"'files'\[0\] 'length'"),
        (_with(V1M, files=[{"attr": "l", "path": ["a"], "symlink path": [4]}]), "'symlink path'"),
        (_with(V1M, files=[{"length": 1, "path": ["a"]}, {"length": 1, "path": ["a", "b"]}]), "below a file"),
        (_with(V2, meta_version=3), "'meta version' 3"),
        (_with(V2, piece_length=3 * 16 * KIB), "power of two"),
        (_with(V2, piece_length=8 * KIB), "power of two"),
        (_with(V2, file_tree=None), "'file tree' must be"),
        (_with(V2, file_tree={}), "'file tree' must be"),
        (_with(V2, file_tree={"a": 5}), "'file tree' entry 'a' is not"),
        (_with(V2, file_tree={"": {"": {"length": 1}}}), "empty file name in 'its root'"),
        (_with(V2, file_tree={"d": {"": {"length": 0}, "x": {"": {"length": 0}}}}), "both a file and a directory"),
        (_with(V2, file_tree={"a": {"": 5}}), "'file tree' entry 'a' is not a dictionary"),
        (_with(V2, file_tree={"a": {"": {"length": -1}}}), "'length' must be"),
        (_with(V2, file_tree={"a": {"": {"length": 1, "attr": "p"}}}), "pad files"),
        (_with(V2, file_tree={"a": {"": {"attr": "l", "symlink path": "x"}}}), "'symlink path'"),
        (_with(V2, file_tree={"a": {"": {"length": 1}}}), "'pieces root' must be 32 bytes"),
        (_with(V2, file_tree={"a": {"": {"length": 1, "pieces root": bytes(32)}}}), "all zeros"),
        (_with(V2, file_tree={"a": {"": {"length": 0}}}), "holds no data"),
    ],
)
def test_rejections_name_their_field(info: dict, match: str) -> None:
    with pytest.raises(MetainfoError, match=match):
        parse(encode({"info": info}))


def test_deep_file_tree_rejected() -> None:
    tree: dict = {"f": {"": {"length": 20, "pieces root": ROOT}}}
    for _ in range(70):
        tree = {"d": tree}
    with pytest.raises(MetainfoError, match="deeper than"):
        parse(encode({"info": _with(V2, file_tree=tree)}))


def test_too_many_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metainfo, "MAX_FILES", 2)
    files = [{"length": 1, "path": [str(i)]} for i in range(3)]
    with pytest.raises(MetainfoError, match="more than 2 files"):
        parse(encode({"info": _with(V1M, files=files)}))
    tree = {str(i): {"": {"length": 0}} for i in range(3)}
    with pytest.raises(MetainfoError, match="more than 2 files"):
        parse(encode({"info": _with(V2, file_tree=tree)}))


def test_not_a_torrent() -> None:
    with pytest.raises(MetainfoError, match="bencoded dictionary"):
        parse(b"10:libtorrent")
    with pytest.raises(MetainfoError, match="'info' is missing"):
        parse(encode({"info": "files"}))
    with pytest.raises(BencodeError):
        parse(b"d4:infod")


def _layers_case(layers: object) -> bytes:
    data = blob(50000)
    root = merkle(data, 16 * KIB)[0]
    info = {"name": "n", "piece length": 16 * KIB, "meta version": 2,
            "file tree": {"a": {"": {"length": 50000, "pieces root": root}},
                          "s": {"": {"length": 20, "pieces root": ROOT}}}}
    return encode({"info": info, "piece layers": layers(root) if callable(layers) else layers})


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        ([], "'piece layers' must be a dictionary"),
        (lambda r: {r[:31] + b"x": bytes(128)}, "unknown root"),
        (lambda r: {r: 7}, "not a string of 32-byte hashes"),
        (lambda r: {r: bytes(127)}, "not a string of 32-byte hashes"),
        (lambda r: {r: bytes(96)}, "has 3 hashes, expected 4"),
        (lambda r: {r: bytes(128)}, "does not hash to its pieces root"),
        (lambda r: {ROOT: bytes(32)}, "has 1 hashes, expected 1"),
    ],
)
def test_piece_layer_rejections(layers: object, match: str) -> None:
    with pytest.raises(MetainfoError, match=match):
        parse(_layers_case(layers))


def test_hybrid_rejections() -> None:
    raw = hybrid_torrent({"a": blob(20000), "c": blob(40000, 2)})
    with pytest.raises(MetainfoError, match="disagree on file 2"):
        parse(raw.replace(b"1:c", b"1:d", 1))  # the v1 list comes first in the info dict
    misaligned = raw.replace(b"i12768e4:pathl4:.pad5:12768e", b"i12767e4:pathl4:.pad5:12768e")
    with pytest.raises(MetainfoError, match="piece boundary"):
        parse(misaligned)
    info = {**V2, "files": [{"length": 20, "path": ["a"]}, {"length": 1, "path": ["b"]}], "pieces": bytes(20)}
    with pytest.raises(MetainfoError, match="lists 2 files but 'file tree' has 1"):
        parse(encode({"info": info}))


# -- load -----------------------------------------------------------------------------


def test_load(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.torrent"
    path.write_bytes(v1_torrent(blob(100)))
    assert load(path).total_length == 100 and load(str(path), strict=True).name == "t"
    with pytest.raises(MetainfoError, match="cannot read"):
        load(tmp_path / "missing.torrent")
    monkeypatch.setattr(metainfo, "MAX_TORRENT_SIZE", 10)
    with pytest.raises(MetainfoError, match="larger than 10 bytes"):
        load(path)


# -- geometry -------------------------------------------------------------------------


def _naive_piece_size(t: Torrent, index: int) -> int:
    start, stop = index * t.piece_length, (index + 1) * t.piece_length
    return sum(max(0, min(stop, f.offset + f.length) - max(start, f.offset)) for f in t.files)


@given(st.lists(st.integers(0, 70000), min_size=1, max_size=6), st.sampled_from([16 * KIB, 32 * KIB]),
       st.sampled_from(["v1", "v2"]))
def test_piece_size_matches_a_naive_sum(sizes: list[int], piece_length: int, version: str) -> None:
    files, offset = [], 0
    for i, n in enumerate(sizes):
        files.append(FileEntry(("t", str(i)), n, offset))
        offset += n if version == "v1" else -(-n // piece_length) * piece_length
    hashes = (b"\1" * 20, None) if version == "v1" else (None, b"\2" * 32)
    t = Torrent("t", piece_length, tuple(files), (), {}, hashes[0], hashes[1], b"")
    sizes_seen = [t.piece_size(i) for i in range(t.num_pieces)]
    assert sizes_seen == [_naive_piece_size(t, i) for i in range(t.num_pieces)]
    assert sum(sizes_seen) == sum(sizes) == t.total_length
    assert all(0 < s <= piece_length for s in sizes_seen) or not any(sizes)


def test_piece_size_out_of_range() -> None:
    t = parse(v1_torrent(blob(10)))
    with pytest.raises(IndexError):
        t.piece_size(1)
    with pytest.raises(IndexError):
        t.piece_size(-1)


def test_layer_root_helpers() -> None:
    assert pad_hash(16 * KIB) == bytes(32)
    assert pad_hash(32 * KIB) == hashlib.sha256(bytes(64)).digest()
    assert layer_root(b"", 16 * KIB) == bytes(32)
    data = blob(5 * 32 * KIB)
    root, layer = merkle(data, 32 * KIB)
    assert layer_root(layer, 32 * KIB) == root


# -- differential: libtorrent parses the same bytes the same way ----------------------


def test_agrees_with_libtorrent() -> None:
    lt = pytest.importorskip("libtorrent")
    cases = [
        v1_torrent(blob(40000)),
        v1_torrent({"a": blob(10), "b/c": blob(30000)}),
        v2_torrent({"a.bin": blob(40000, 1), "sub/c.bin": blob(16 * KIB, 3), "z": blob(5, 4)}),
        hybrid_torrent({"a": blob(20000, 1), "b": b"", "c": blob(40000, 2)}),
    ]
    for raw in cases:
        ours = parse(raw)
        theirs = lt.torrent_info(raw)
        hashes = theirs.info_hashes()
        if ours.info_hash_v1:
            assert hashes.v1.to_bytes() == ours.info_hash_v1
        if ours.info_hash_v2:
            assert hashes.v2.to_bytes() == ours.info_hash_v2
        assert theirs.num_pieces() == ours.num_pieces
        assert theirs.total_size() == ours.total_length or ours.version == "v2"
        with warnings.catch_warnings():  # files() is deprecated in the bindings, not replaced
            warnings.simplefilter("ignore", DeprecationWarning)
            fs = theirs.files()
        pad = lt.file_storage.flag_pad_file
        real = [(fs.file_path(i).replace("\\", "/"), fs.file_size(i))
                for i in range(fs.num_files()) if not fs.file_flags(i) & pad]
        assert real == [("/".join(f.path), f.length) for f in ours.files if not f.pad]


def test_symlink_targets_root_relative_or_beside_the_link() -> None:
    info = {"name": "F", "piece length": 16 * KIB, "pieces": bytes(20),
            "files": [{"length": 5, "path": ["V", "A", "lib"]},
                      {"attr": "l", "path": ["V", "Cur"], "symlink path": ["A"]},
                      {"attr": "l", "path": ["top"], "symlink path": ["V", "A", "lib"]},
                      {"attr": "l", "path": ["V", "dangling"], "symlink path": ["nowhere"]}]}
    links = [f.symlink for f in parse(encode({"info": info})).files]
    assert links == [None, ("F", "V", "A"), ("F", "V", "A", "lib"), ("F", "nowhere")]


def test_lone_top_file_v2_versus_hybrid() -> None:
    data = blob(100)
    tree = {"0": {"": {"length": 100, "pieces root": merkle(data, 16 * KIB)[0]}}}
    v2 = {"name": "root", "piece length": 16 * KIB, "meta version": 2, "file tree": tree}
    assert parse(encode({"info": v2})).files[0].path == ("0",)  # as libtorrent loads it
    hybrid = {**v2, "files": [{"length": 100, "path": ["0"]}], "pieces": hashlib.sha1(data).digest()}
    assert parse(encode({"info": hybrid})).files[0].path == ("root", "0")  # v1 says: a folder
    single = {**v2, "name": "0", "length": 100, "pieces": hashlib.sha1(data).digest()}
    assert parse(encode({"info": single})).files[0].path == ("0",)


# -- untrusted input: whatever the bytes, only BtrefError comes out ----------------------

_SEEDS = [
    v1_torrent(blob(40000), announce="http://t/a"),
    v1_torrent({"a": blob(10), "d/b": blob(20000)}),
    v2_torrent({"a.bin": blob(40000, 1), "sub/c.bin": blob(100, 3)}),
    hybrid_torrent({"a": blob(20000, 1), "c": blob(40000, 2)}),
]


@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=4),
       st.integers(0, 1 << 20), st.binary(max_size=8))
def test_mutated_torrents_fail_cleanly(seed: bytes, flips: list, cut: int, insert: bytes) -> None:
    data = bytearray(seed)
    for pos, value in flips:
        data[pos % len(data)] = value
    at = cut % len(data)
    data[at:at] = insert
    for strict in (False, True):
        try:
            torrent = parse(bytes(data), strict=strict)
        except (MetainfoError, BencodeError):
            continue
        assert torrent.num_pieces >= 1 and torrent.total_length > 0
        assert sum(torrent.piece_size(i) for i in range(torrent.num_pieces)) == sum(
            f.length for f in torrent.files)


_values = st.recursive(
    st.integers(-5, 70000) | st.binary(max_size=24) | st.sampled_from([b"..", b"/", b"p", b"l", b"x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from([b"", b"length", b"path", b"attr", b"pieces root", b"symlink path", b"a"]), inner, max_size=3),
    max_leaves=12,
)
_info_keys = st.sampled_from([b"name", b"piece length", b"pieces", b"length", b"files", b"meta version",
                              b"file tree", b"private", b"name.utf-8", b"attr"])


@given(st.dictionaries(_info_keys, _values, max_size=8), st.dictionaries(
    st.sampled_from([b"announce", b"announce-list", b"url-list", b"piece layers", b"comment", b"creation date"]),
    _values, max_size=4))
def test_random_structures_fail_cleanly(info: dict, outer: dict) -> None:
    try:
        torrent = parse(encode({**outer, b"info": info}))
    except (MetainfoError, BencodeError):
        return
    assert torrent.files and torrent.to_dict()["name"]
