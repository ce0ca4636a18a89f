"""btref.io.create: file trees in, .torrent bytes out; parsed back with btref.metainfo and verified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btref import bencode, metainfo, plugins
from btref.io.create import MAX_PIECE_LENGTH, MIN_PIECE_LENGTH, create_torrent, default_piece_length
from btref.errors import CreateError
from btref.hookspecs import hookimpl

KIB = 1024


def write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def piece_space(torrent: metainfo.Torrent, data_dir: Path) -> bytes:
    space = bytearray()
    for f in torrent.files:
        space += bytes(max(0, f.offset - len(space)))
        space += bytes(f.length) if f.pad else data_dir.joinpath(*f.path).read_bytes()
    return bytes(space)


def all_pieces_good(torrent: metainfo.Torrent, data_dir: Path) -> bool:
    hook = plugins.plugin_manager({"hashes": plugins.HASH_SCHEMES[torrent.version]}).hook
    space = memoryview(piece_space(torrent, data_dir))
    for i in range(torrent.num_pieces):
        start = i * torrent.piece_length
        answers = hook.btref_verify_piece(torrent=torrent, index=i, data=space[start : start + torrent.piece_size(i)])
        if not answers or False in answers:
            return False
    return True


# -- piece length ------------------------------------------------------------------------


def test_default_piece_length_examples() -> None:
    assert default_piece_length(0) == MIN_PIECE_LENGTH
    assert default_piece_length(2000 * 16 * KIB) == 16 * KIB
    assert default_piece_length(2000 * 16 * KIB + 1) == 32 * KIB
    assert default_piece_length(10**15) == MAX_PIECE_LENGTH


@given(st.integers(0, 2**45))
def test_default_piece_length_aims_at_1000_to_2000_pieces(total: int) -> None:
    length = default_piece_length(total)
    assert MIN_PIECE_LENGTH <= length <= MAX_PIECE_LENGTH and length & (length - 1) == 0
    pieces = -(-total // length)
    if length not in (MIN_PIECE_LENGTH, MAX_PIECE_LENGTH):
        assert 1000 < pieces <= 2000


# -- what the torrent says ------------------------------------------------------------------


def test_multi_file_hybrid_layout(tmp_path: Path) -> None:
    tree = write(tmp_path / "album", {"b.txt": b"b" * 100, "a/2": b"x" * (40 * KIB), "a/1": b"", "a.txt": b"y" * 5})
    data = create_torrent(tree, version="hybrid", piece_length=16 * KIB)
    top = bencode.decode(data)
    info = top[b"info"]
    paths = [(f[b"path"], f[b"length"], f.get(b"attr")) for f in info[b"files"]]
    # sorted like the v2 file tree (raw bytes per component); pads after every unaligned file but the last
    assert paths == [
        ([b"a", b"1"], 0, None),
        ([b"a", b"2"], 40 * KIB, None),
        ([b".pad", b"8192"], 8 * KIB, b"p"),
        ([b"a.txt"], 5, None),
        ([b".pad", b"16379"], 16379, b"p"),
        ([b"b.txt"], 100, None),
    ]
    assert info[b"file tree"][b"a"][b"1"][b""] == {b"length": 0}
    assert len(info[b"file tree"][b"a"][b"2"][b""][b"pieces root"]) == 32
    assert info[b"meta version"] == 2 and len(info[b"pieces"]) == 20 * 5
    assert list(top[b"piece layers"].values()) == [top[b"piece layers"][info[b"file tree"][b"a"][b"2"][b""][b"pieces root"]]]
    assert top[b"created by"] == b"btref 0.1.0" and b"creation date" not in top
    torrent = metainfo.parse(data)
    assert torrent.version == "hybrid" and torrent.name == "album"
    assert torrent.info_hash_v1 == hashlib.sha1(bencode.encode(info)).digest()
    assert all_pieces_good(torrent, tmp_path)


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_single_file(tmp_path: Path, version: str) -> None:
    path = tmp_path / "movie.bin"
    path.write_bytes(os.urandom(70 * KIB))
    torrent = metainfo.parse(create_torrent(path, version=version, piece_length=32 * KIB))
    assert torrent.version == version
    assert [(f.path, f.length) for f in torrent.files if not f.pad] == [(("movie.bin",), 70 * KIB)]
    assert torrent.num_pieces == 3
    assert all_pieces_good(torrent, tmp_path)


def test_outer_fields(tmp_path: Path) -> None:
    write(tmp_path, {"f": b"data"})
    data = create_torrent(
        tmp_path / "f", version="v1", trackers=[["http://a/announce", "http://b/announce"], [], "udp://c:80"],
        private=True, comment="hello", web_seeds=["http://seed/f"], creation_date=1700000000, created_by=None,
    )
    torrent = metainfo.parse(data)
    assert torrent.trackers == (("http://a/announce", "http://b/announce"), ("udp://c:80",))
    assert torrent.private and torrent.comment == "hello" and torrent.web_seeds == ("http://seed/f",)
    assert torrent.creation_date == 1700000000 and torrent.created_by is None
    one = bencode.decode(create_torrent(tmp_path / "f", trackers=[["http://a/announce"]]))
    assert one[b"announce"] == b"http://a/announce" and b"announce-list" not in one


def test_deterministic_output(tmp_path: Path) -> None:
    write(tmp_path / "t", {"z": b"1" * 70000, "y/x": b"2" * 3})
    assert create_torrent(tmp_path / "t") == create_torrent(tmp_path / "t")


def test_symlink_inside_the_tree_is_read_as_its_target(tmp_path: Path) -> None:
    tree = write(tmp_path / "t", {"real": b"r" * 1000})
    (tree / "link").symlink_to(tree / "real")
    torrent = metainfo.parse(create_torrent(tree, version="v2"))
    assert [(f.path, f.length) for f in torrent.files] == [(("t", "link"), 1000), (("t", "real"), 1000)]
    assert torrent.files[0].pieces_root == torrent.files[1].pieces_root


class _LastWins:
    """hashes plugin whose v1 ``pieces`` replace sha1's (a test double)."""

    family = "hashes"

    @hookimpl
    def btref_piece_hasher(self, version: str, piece_length: int) -> Any:
        outer = self

        class Hasher:
            def start_file(self, entry: Any) -> None: ...
            def update(self, chunk: memoryview) -> None: ...
            def end_file(self) -> dict[str, Any]:
                return {}
            def finish(self) -> tuple[dict[Any, Any], dict[Any, Any]]:
                return {b"pieces": bytes(20)}, {"x-by": type(outer).__name__}

        return Hasher()


def test_later_hash_scheme_fields_win(tmp_path: Path) -> None:
    write(tmp_path, {"f": b"abc"})
    top = bencode.decode(create_torrent(tmp_path / "f", version="v1", hashes=["sha1", _LastWins()]))
    assert top[b"info"][b"pieces"] == bytes(20) and top[b"x-by"] == b"_LastWins"


# -- round trip over random trees ----------------------------------------------------------

names = st.text(alphabet="abcxyz_.-é0", min_size=1, max_size=5).filter(lambda s: s not in (".", ".."))
trees = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map(tuple),
    st.sampled_from([0, 1, 100, 16 * KIB - 1, 16 * KIB, 16 * KIB + 1, 33 * KIB, 70 * KIB]),
    min_size=1, max_size=6,
)


def prefix_free(tree: dict[tuple[str, ...], int]) -> bool:
    """No file is also a folder of another file (impossible on disk)."""
    keys = set(tree)
    return not any(k[:i] in keys for k in keys for i in range(1, len(k)))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def lone_top_file(tree: dict[tuple[str, ...], int]) -> bool:
    return len(tree) == 1 and len(next(iter(tree))) == 1


@given(tree=trees.filter(prefix_free).filter(lambda t: any(t.values())),
       version=st.sampled_from(["v1", "v2", "hybrid"]), piece_kib=st.sampled_from([16, 32, 64]))
def test_round_trip_random_trees(tmp_path_factory: pytest.TempPathFactory, tree: dict[tuple[str, ...], int],
                                 version: str, piece_kib: int) -> None:
    # A folder holding one file: BEP 52 cannot tell it from a single-file torrent, so the
    # v2-only view is the bare file (as in libtorrent); v1 and hybrid keep the folder.
    base = tmp_path_factory.mktemp("rt")
    files = {"/".join(parts): bytes((i * 7 + len(parts)) & 0xFF for i in range(size)) for parts, size in tree.items()}
    write(base / "root", files)
    data = create_torrent(base / "root", version=version, piece_length=piece_kib * KIB)
    torrent = metainfo.parse(data, strict=True)
    assert torrent.version == version
    top = () if version == "v2" and lone_top_file(tree) else ("root",)
    expected = sorted((((*top, *parts), size) for parts, size in tree.items()),
                      key=lambda item: [p.encode() for p in item[0]])
    assert [(f.path, f.length) for f in torrent.files if not f.pad] == expected
    if version == "hybrid":
        for f in torrent.files:
            if f.length and not f.pad:
                assert f.offset % torrent.piece_length == 0
    assert all_pieces_good(torrent, base / "root" if not top else base)


# -- refusals ------------------------------------------------------------------------------


def test_refusals(tmp_path: Path) -> None:
    write(tmp_path / "t", {"f": b"x"})
    with pytest.raises(CreateError, match="no such file"):
        create_torrent(tmp_path / "missing")
    with pytest.raises(CreateError, match="unknown torrent version"):
        create_torrent(tmp_path / "t", version="v3")
    for bad in (1000, 8 * KIB, 48 * KIB, 512 * 1024 * KIB, "16384"):
        with pytest.raises(CreateError, match="power of two"):
            create_torrent(tmp_path / "t", piece_length=bad)  # type: ignore[arg-type]
    (tmp_path / "empty").mkdir()
    with pytest.raises(CreateError, match="holds no files"):
        create_torrent(tmp_path / "empty")
    write(tmp_path / "zeros", {"a": b"", "b/c": b""})
    with pytest.raises(CreateError, match="every file is empty"):
        create_torrent(tmp_path / "zeros")
    with pytest.raises(CreateError, match="file system root"):
        create_torrent("/")


def test_symlinks_out_of_the_tree_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"secret": b"s", "t/f": b"x"})
    (tmp_path / "t" / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(CreateError, match="points out of the tree"):
        create_torrent(tmp_path / "t")
    (tmp_path / "t" / "leak").unlink()
    (tmp_path / "t" / "loop").symlink_to(tmp_path / "t")
    with pytest.raises(CreateError, match="symlinked folders"):
        create_torrent(tmp_path / "t")
    (tmp_path / "t" / "loop").unlink()
    (tmp_path / "t" / "dangling").symlink_to(tmp_path / "t" / "nothing")
    with pytest.raises(CreateError, match="broken symlink"):
        create_torrent(tmp_path / "t")


def test_special_files_and_bad_names(tmp_path: Path) -> None:
    write(tmp_path, {"t/f": b"x"})
    os.mkfifo(tmp_path / "t" / "pipe")
    with pytest.raises(CreateError, match="not a regular file"):
        create_torrent(tmp_path / "t")
    with pytest.raises(CreateError, match="not a regular file or folder"):
        create_torrent(tmp_path / "t" / "pipe")
    os.unlink(tmp_path / "t" / "pipe")
    with open(os.path.join(os.fsencode(tmp_path / "t"), b"bad\xff"), "wb") as fh:
        fh.write(b"x")
    with pytest.raises(CreateError, match="not valid UTF-8"):
        create_torrent(tmp_path / "t")


class _Grower:
    """A hasher that appends to the file being read: the file changes size under us."""

    family = "hashes"

    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def btref_piece_hasher(self, version: str, piece_length: int) -> Any:
        path = self.path

        class Hasher:
            def start_file(self, entry: Any) -> None: ...
            def update(self, chunk: memoryview) -> None:
                with open(path, "ab") as fh:
                    fh.write(b"more")
            def end_file(self) -> dict[str, Any]:
                return {}
            def finish(self) -> tuple[dict[str, Any], dict[str, Any]]:
                return {}, {}

        return Hasher()


def test_file_changing_while_read(tmp_path: Path) -> None:
    write(tmp_path, {"f": b"x" * 10})
    with pytest.raises(CreateError, match="changed size"):
        create_torrent(tmp_path / "f", hashes=["sha1", _Grower(tmp_path / "f")])


def test_io_errors_become_create_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"t/f": b"x"})

    def refuse(*args: object, **kwargs: object) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("btref.io.create.open", refuse, raising=False)
    with pytest.raises(CreateError, match="cannot read: Permission denied"):
        create_torrent(tmp_path / "t")
    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(CreateError, match="cannot list folder"):
        create_torrent(tmp_path / "t")
