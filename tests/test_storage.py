"""Tests for btref.layout and btref.io.storage: piece space -> files, safety, recheck."""

from __future__ import annotations

import hashlib
import os
import random
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.io import storage as storage_mod
from btref.errors import StorageError
from btref.hookspecs import hookimpl
from btref.layout import Layout, Span
from btref.wire import BLOCK_SIZE
from btref.metainfo import FileEntry, Torrent
from btref.plugins import plugin_manager
from btref.io.storage import Storage, VerifyReport, piece_is_good, verify

# -- building torrents by hand ----------------------------------------------------------


def make_torrent(sizes, piece_length, version="v1", *, name="t", executable=()):
    """A Torrent with files of ``sizes`` laid out as ``version`` wants, and their contents.

    v1: back to back. v2: every non-empty file on a piece boundary. hybrid: back to back
    with a BEP 47 pad file after every non-empty file but the last, up to a boundary.
    Returns (torrent, {file index: bytes}).
    """
    files = []
    contents = {}
    offset = 0
    last_data = max((i for i, n in enumerate(sizes) if n), default=-1)
    for i, n in enumerate(sizes):
        if version == "v2" and n and offset % piece_length:
            offset += piece_length - offset % piece_length
        entry = FileEntry(path=(name, f"f{i}"), length=n, offset=offset, executable=i in executable)
        contents[len(files)] = random.Random(i * 7919 + n).randbytes(n)
        files.append(entry)
        offset += n
        gap = -offset % piece_length
        if version == "hybrid" and n and i != last_data and gap:
            files.append(FileEntry(path=(name, ".pad", str(gap)), length=gap, offset=offset, pad=True))
            offset += gap
    hashes = (b"\0" * 20, None) if version == "v1" else (None, b"\0" * 32)
    if version == "hybrid":
        hashes = (b"\0" * 20, b"\0" * 32)
    torrent = Torrent(
        name=name, piece_length=piece_length, files=tuple(files), piece_hashes=(), piece_layers={},
        info_hash_v1=hashes[0], info_hash_v2=hashes[1], info_bytes=b"",
    )
    return torrent, contents


def expected_piece(torrent, contents, index):
    """Piece ``index`` built straight from the file contents (an oracle independent of Layout)."""
    start = index * torrent.piece_length
    stop = start + torrent.piece_length
    out = b""
    for i, f in sorted(enumerate(torrent.files), key=lambda x: x[1].offset):
        lo, hi = max(start, f.offset), min(stop, f.offset + f.length)
        if hi > lo:
            out += bytes(hi - lo) if f.pad else contents[i][lo - f.offset:hi - f.offset]
    return out


class ExpectedSHA256:
    """A stand-in hash scheme: SHA-256 of each piece, from a list the test computed."""

    def __init__(self, hashes):
        self.hashes = hashes

    @hookimpl
    def btref_verify_piece(self, torrent, index, data):
        assert isinstance(data, memoryview)
        return hashlib.sha256(data).digest() == self.hashes[index]


class Answer:
    """A scheme that always gives the same answer (True, False or None)."""

    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def btref_verify_piece(self, torrent, index, data):
        return self.answer


def hook_for(torrent, contents):
    hashes = [hashlib.sha256(expected_piece(torrent, contents, i)).digest() for i in range(torrent.num_pieces)]
    return plugin_manager(extra=[ExpectedSHA256(hashes)]).hook


def write_all(torrent, contents, data_dir):
    with Storage(torrent, data_dir) as s:
        for i in range(torrent.num_pieces):
            s.write_piece(i, expected_piece(torrent, contents, i))


# -- layout -------------------------------------------------------------------------------


def test_v1_pieces_span_file_boundaries():
    t, _ = make_torrent([5, 20, 3, 40], 16)
    lay = Layout(t)
    assert lay.num_pieces == 5
    assert lay.piece_spans(0) == [Span(0, 0, 5), Span(1, 0, 11)]
    assert lay.piece_spans(1) == [Span(1, 11, 9), Span(2, 0, 3), Span(3, 0, 4)]
    assert lay.piece_spans(4) == [Span(3, 36, 4)]  # the short last piece
    assert [lay.piece_size(i) for i in range(5)] == [16, 16, 16, 16, 4]
    assert lay.block_spans(1, 8, 6) == [Span(1, 19, 1), Span(2, 0, 3), Span(3, 0, 2)]


def test_v2_pieces_are_aligned_to_files():
    t, _ = make_torrent([20, 3, 32], 16, "v2")
    lay = Layout(t)
    assert [lay.piece_spans(i) for i in range(t.num_pieces)] == [
        [Span(0, 0, 16)], [Span(0, 16, 4)], [Span(1, 0, 3)], [Span(2, 0, 16)], [Span(2, 16, 16)],
    ]
    assert [lay.piece_size(i) for i in range(t.num_pieces)] == [16, 4, 3, 16, 16]


def test_hybrid_pad_spans_are_flagged():
    t, _ = make_torrent([20, 3], 16, "hybrid")
    assert t.files[1].pad and t.files[1].length == 12
    assert Layout(t).piece_spans(1) == [Span(0, 16, 4), Span(1, 0, 12, pad=True)]


@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6).filter(any),
    piece_length=st.integers(1, 70),
    version=st.sampled_from(["v1", "v2", "hybrid"]),
)
def test_layout_piece_size_matches_metainfo(sizes, piece_length, version):
    t, _ = make_torrent(sizes, piece_length, version)
    lay = Layout(t)
    for i in range(t.num_pieces):
        assert lay.piece_size(i) == t.piece_size(i) > 0


@pytest.mark.parametrize(
    ("index", "begin", "length", "match"),
    [
        (-1, 0, 1, "out of range"),
        (5, 0, 1, "out of range"),
        (0, -1, 1, "bad block"),
        (0, 0, 0, "bad block"),
        (4, 0, 5, "past the end of piece 4"),
        (0, 10, 7, "past the end"),
        (0, 0, BLOCK_SIZE + 1, "limit"),
    ],
)
def test_block_requests_are_bounds_checked(tmp_path, index, begin, length, match):
    t, contents = make_torrent([5, 20, 3, 40], 16)
    write_all(t, contents, tmp_path)
    with Storage(t, tmp_path) as s, pytest.raises(StorageError, match=match):
        s.read_block(index, begin, length)


def entry(path, length=1, offset=0, **kw):
    return FileEntry(path=path, length=length, offset=offset, **kw)


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ((entry(("t", "..", "x")),), "unsafe path component '..'"),
        ((entry(("/etc", "passwd")),), "unsafe path component"),
        ((entry(("t", "a/b")),), "unsafe"),
        ((entry(("t", "")),), "unsafe"),
        ((entry(("t", "a\0")),), "unsafe"),
        ((entry(()),), "empty path"),
        ((entry(("a",), length=-1),), "negative"),
        ((entry(("a",)), entry(("a",), offset=1)), "appears twice"),
        ((entry(("a", "b")), entry(("a",), offset=1)), "also the directory"),
        ((entry(("a",), length=4), entry(("b",), offset=2)), "overlaps"),
        ((entry(("a",), symlink=("b",)),), "symlink entry"),
    ],
)
def test_layout_refuses_bad_file_lists(files, match):
    t = Torrent(name="t", piece_length=16, files=files, piece_hashes=(), piece_layers={},
                info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    with pytest.raises(StorageError, match=match):
        Layout(t)


def test_pad_files_may_share_names_and_symlinks_carry_no_data(tmp_path):
    files = (entry(("t", "a"), 3), entry(("t", ".pad"), 13, 3, pad=True), entry(("t", "b"), 2, 16),
             entry(("t", ".pad"), 14, 18, pad=True), entry(("t", "c"), 1, 32),
             entry(("t", "link"), 0, 33, symlink=("t", "a")))
    t = Torrent(name="t", piece_length=16, files=files, piece_hashes=(), piece_layers={},
                info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    with Storage(t, tmp_path) as s:
        s.write_piece(0, b"abc" + bytes(13))
        assert s.read_piece(0) == b"abc" + bytes(13)
    assert sorted(os.listdir(tmp_path / "t")) == ["a"]  # no pad file, no symlink made


# -- reading and writing ----------------------------------------------------------------


@given(
    sizes=st.lists(st.integers(0, 200), min_size=1, max_size=5).filter(any),
    piece_length=st.integers(1, 64),
    version=st.sampled_from(["v1", "v2", "hybrid"]),
    block=st.integers(1, 64),
    max_open=st.integers(1, 3),
)
def test_round_trip_write_pieces_read_blocks(tmp_path_factory, sizes, piece_length, version, block, max_open):
    t, contents = make_torrent(sizes, piece_length, version)
    data_dir = tmp_path_factory.mktemp("rt")
    with Storage(t, data_dir, max_open_files=max_open) as s:
        for i in range(t.num_pieces):
            s.write_piece(i, expected_piece(t, contents, i))
        for i in range(t.num_pieces):
            size = t.piece_size(i)
            got = b"".join(s.read_block(i, b, min(block, size - b)) for b in range(0, size, block))
            assert got == s.read_piece(i) == expected_piece(t, contents, i)
    for i, f in enumerate(t.files):
        path = data_dir.joinpath(*f.path)
        if f.pad:
            assert not path.exists()
        else:
            assert path.read_bytes() == contents[i]  # empty files included


def test_pieces_written_out_of_order_and_blocks_of_16k(tmp_path):
    t, contents = make_torrent([100_000, 1, 70_000], 32 * 1024, "v1")
    with Storage(t, tmp_path / "new" / "dir") as s:
        for i in reversed(range(t.num_pieces)):
            s.write_piece(i, memoryview(expected_piece(t, contents, i)))
        s.flush()
        s.flush()  # nothing left to sync: a no-op
        assert s.read_block(3, BLOCK_SIZE, BLOCK_SIZE) == expected_piece(t, contents, 3)[BLOCK_SIZE:]
    assert (tmp_path / "new" / "dir" / "t" / "f2").read_bytes() == contents[2]


def test_empty_files_are_created_with_their_folders(tmp_path):
    files = (entry(("t", "a"), 4), entry(("t", "empty", "deep", "e"), 0, 4), entry(("t", "z"), 0, 4))
    t = Torrent(name="t", piece_length=16, files=files, piece_hashes=(), piece_layers={},
                info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    s = Storage(t, tmp_path)
    assert not (tmp_path / "t").exists()  # constructing creates nothing
    s.write_piece(0, b"data")
    s.close()
    assert (tmp_path / "t" / "empty" / "deep" / "e").read_bytes() == b""
    assert (tmp_path / "t" / "z").read_bytes() == b""


def test_create_empty_files_alone(tmp_path):
    t = Torrent(name="e", piece_length=16, files=(entry(("e",), 0),), piece_hashes=(), piece_layers={},
                info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    with Storage(t, tmp_path) as s:
        s.create_empty_files()
    assert (tmp_path / "e").read_bytes() == b""


def test_write_piece_wants_exactly_the_piece(tmp_path):
    t, _ = make_torrent([5, 20], 16)
    with Storage(t, tmp_path) as s:
        with pytest.raises(StorageError, match="piece 1 is 9 bytes, got 16"):
            s.write_piece(1, bytes(16))
        with pytest.raises(StorageError, match="out of range"):
            s.write_piece(2, b"")
    assert not (tmp_path / "t").exists()


def test_read_missing_or_short_data(tmp_path):
    t, contents = make_torrent([5, 20], 16)
    with Storage(t, tmp_path) as s:
        with pytest.raises(StorageError, match=r"cannot open t/f0 for reading: No such file"):
            s.read_piece(0)
    write_all(t, contents, tmp_path)
    with open(tmp_path / "t" / "f1", "r+b") as fh:
        fh.truncate(12)
    with Storage(t, tmp_path) as s:
        assert s.read_block(0, 0, 5) == contents[0]
        with pytest.raises(StorageError, match=r"t/f1 is too short: wanted 9 bytes at 11, got 1"):
            s.read_piece(1)


def test_a_directory_where_a_file_should_be(tmp_path):
    t, _ = make_torrent([5], 16)
    (tmp_path / "t" / "f0").mkdir(parents=True)
    with Storage(t, tmp_path) as s:
        assert s.file_size(0) is None
        with pytest.raises(StorageError, match="cannot read t/f0"):
            s.read_piece(0)
        with pytest.raises(StorageError, match="cannot open t/f0 for writing"):
            s.write_piece(0, bytes(5))


def test_a_file_where_a_folder_should_be(tmp_path):
    t, _ = make_torrent([5], 16)
    (tmp_path / "t").write_bytes(b"in the way")
    with Storage(t, tmp_path) as s:
        assert s.file_size(0) is None
        with pytest.raises(StorageError, match="cannot open t/f0 for writing"):
            s.write_piece(0, bytes(5))


def test_stat_failure_is_a_storage_error(tmp_path):
    t = Torrent(name="n", piece_length=16, files=(entry(("n" * 300,), 1),), piece_hashes=(),
                piece_layers={}, info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    with Storage(t, tmp_path) as s, pytest.raises(StorageError, match="cannot stat"):
        s.file_size(0)


def test_read_only_descriptor_is_reopened_for_writing(tmp_path):
    t, contents = make_torrent([5, 20], 16)
    write_all(t, contents, tmp_path)
    with Storage(t, tmp_path) as s:
        assert s.read_piece(0) == expected_piece(t, contents, 0)  # opens read-only
        s.write_piece(0, bytes(16))  # must reopen both files for writing
        assert s.read_piece(0) == bytes(16)
    assert (tmp_path / "t" / "f0").read_bytes() == bytes(5)


def test_executable_files_get_the_x_bit(tmp_path):
    t, contents = make_torrent([3, 3], 16, executable={1})
    write_all(t, contents, tmp_path)
    assert not os.stat(tmp_path / "t" / "f0").st_mode & stat.S_IXUSR
    assert os.stat(tmp_path / "t" / "f1").st_mode & stat.S_IXUSR


def test_close_is_idempotent_and_final(tmp_path):
    t, contents = make_torrent([5], 16)
    write_all(t, contents, tmp_path)
    s = Storage(t, tmp_path)
    s.read_piece(0)
    s.close()
    s.close()
    with pytest.raises(StorageError, match="closed"):
        s.read_piece(0)


def test_short_pwrites_are_completed(tmp_path, monkeypatch):
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, off: real_pwrite(fd, data[:3], off))
    t, contents = make_torrent([10, 10], 16)
    write_all(t, contents, tmp_path)
    assert (tmp_path / "t" / "f0").read_bytes() == contents[0]
    assert (tmp_path / "t" / "f1").read_bytes() == contents[1]


def test_disk_errors_become_storage_errors(tmp_path, monkeypatch):
    t, contents = make_torrent([10], 16)

    def fail(*args):
        raise OSError(28, "No space left on device")

    s = Storage(t, tmp_path)
    monkeypatch.setattr(os, "pwrite", fail)
    with pytest.raises(StorageError, match="cannot write t/f0: No space left"):
        s.write_piece(0, contents[0])
    monkeypatch.undo()
    s.write_piece(0, contents[0])
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(StorageError, match="cannot flush"):
        s.close()
    monkeypatch.undo()
    with pytest.raises(StorageError, match="closed"):  # closed anyway, descriptors released
        s.read_piece(0)


def test_flush_syncs_new_folders(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    t, contents = make_torrent([10], 16)
    with Storage(t, tmp_path / "a" / "b") as s:
        s.write_piece(0, contents[0])
        s.flush()
        assert len(synced) == 1 + 4  # the file, then t/, b/, a/ and tmp_path (new entries)
        s.write_piece(0, contents[0])
        s.flush()
        assert len(synced) == 6  # just the file this time


# -- safety ------------------------------------------------------------------------------


def test_symlinked_folder_pointing_outside_is_refused(tmp_path):
    data_dir, outside = tmp_path / "data", tmp_path / "outside"
    data_dir.mkdir()
    outside.mkdir()
    (data_dir / "t").symlink_to(outside)
    t, contents = make_torrent([5, 20], 16)
    with Storage(t, data_dir) as s:
        with pytest.raises(StorageError, match="t is a symbolic link"):
            s.write_piece(0, expected_piece(t, contents, 0))
        with pytest.raises(StorageError, match="t is a symbolic link"):
            s.read_block(0, 0, 1)
    with pytest.raises(StorageError, match="t is a symbolic link"):
        verify(t, data_dir, plugin_manager(extra=[Answer(True)]).hook)
    assert os.listdir(outside) == []


def test_symlinked_file_pointing_outside_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "t").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    (data_dir / "t" / "f0").symlink_to(victim)
    (data_dir / "t" / "f1").symlink_to(data_dir)  # DATA_DIR itself
    t, contents = make_torrent([5, 20], 16)
    with Storage(t, data_dir) as s:
        with pytest.raises(StorageError, match="t/f0 is a symbolic link"):
            s.write_piece(0, expected_piece(t, contents, 0))
        with pytest.raises(StorageError, match="t/f1 is a symbolic link"):
            s.file_size(1)
        assert s.path(1) == str(data_dir / "t" / "f1")
    assert victim.read_bytes() == b"keep me"


@pytest.mark.parametrize("where", ["file", "folder"])
def test_links_inside_the_folder_are_refused_too(tmp_path, where):
    """A link to another file (or folder) of the same torrent would put pieces in the wrong
    file, and a recheck would then find the other file's bytes good: refused, nothing written."""
    t, contents = make_torrent([20, 20], 16, name="t")
    nested = Torrent(name="t", piece_length=16, piece_hashes=(), piece_layers={}, info_hash_v1=b"\0" * 20,
                     info_hash_v2=None, info_bytes=b"",
                     files=(entry(("t", "a", "f0"), 20), entry(("t", "b", "f1"), 20, 20)))
    if where == "file":
        (tmp_path / "t").mkdir()
        (tmp_path / "t" / "f1").symlink_to("f0")  # relative: t/f1 -> t/f0
        target, link_name = tmp_path / "t" / "f0", "t/f1"
    else:
        t = nested
        (tmp_path / "t" / "a").mkdir(parents=True)
        (tmp_path / "t" / "b").symlink_to("a")  # t/b/f1 would be t/a/f1
        target, link_name = tmp_path / "t" / "a", "t/b"
    with Storage(t, tmp_path) as s:
        with pytest.raises(StorageError, match=f"{link_name} is a symbolic link"):
            s.write_piece(2, bytes(8))  # bytes 32..40: the second file only
        with pytest.raises(StorageError, match=f"{link_name} is a symbolic link"):
            s.file_size(1)
    if where == "file":
        assert not target.exists() or target.read_bytes() == b""
    else:
        assert os.listdir(target) == []


def test_a_link_planted_after_the_storage_was_made_is_refused(tmp_path):
    t, contents = make_torrent([5, 20], 16)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "data").mkdir()
    with Storage(t, tmp_path / "data") as s:
        (tmp_path / "data" / "t").symlink_to(outside)
        with pytest.raises(StorageError, match="t is a symbolic link"):
            s.write_piece(0, expected_piece(t, contents, 0))
    assert os.listdir(outside) == []


def test_the_download_folder_itself_may_be_reached_through_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "data").symlink_to(tmp_path / "real")
    t, contents = make_torrent([5, 20], 16)
    write_all(t, contents, tmp_path / "data")
    assert (tmp_path / "real" / "t" / "f1").read_bytes() == contents[1]


def test_dotdot_entry_writes_nothing_outside(tmp_path):
    data_dir = tmp_path / "data"
    bad = (entry(("t", "ok"), 4), entry(("t", "..", "..", "escaped"), 4, 4))
    t = Torrent(name="t", piece_length=8, files=bad, piece_hashes=(), piece_layers={},
                info_hash_v1=b"\0" * 20, info_hash_v2=None, info_bytes=b"")
    with pytest.raises(StorageError, match=r"unsafe path component '\.\.' in file t/\.\./\.\./escaped"):
        Storage(t, data_dir)
    assert not (tmp_path / "escaped").exists() and not data_dir.exists()


# -- recheck -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_verify_finds_good_bad_and_missing(tmp_path, version):
    t, contents = make_torrent([40, 7, 0, 33, 50], 16, version)
    hook = hook_for(t, contents)
    write_all(t, contents, tmp_path)
    seen = []
    report = verify(t, tmp_path, hook, progress=seen.append)
    assert report.complete and report.bad == report.missing == []
    assert seen == list(range(1, t.num_pieces + 1))

    lay = Layout(t)
    f3 = next(i for i, f in enumerate(t.files) if f.path[-1] == "f3")
    f4 = next(i for i, f in enumerate(t.files) if f.path[-1] == "f4")
    with open(tmp_path / "t" / "f3", "r+b") as fh:  # corrupt one byte of f3
        fh.seek(20)
        fh.write(bytes([contents[f3][20] ^ 1]))
    os.truncate(tmp_path / "t" / "f4", 30)  # f4 loses its tail
    os.remove(tmp_path / "t" / "f1")  # f1 is gone
    report = verify(t, tmp_path, hook)

    def pieces_of(file_index, lo=0, hi=None):
        f = t.files[file_index]
        hi = f.length if hi is None else hi
        return {i for i in range(t.num_pieces) for s in lay.piece_spans(i)
                if s.file_index == file_index and s.file_offset < hi and s.file_offset + s.length > lo}

    f1 = next(i for i, f in enumerate(t.files) if f.path[-1] == "f1")
    missing = pieces_of(f1) | pieces_of(f4, 30)
    bad = pieces_of(f3, 20, 21) - missing
    assert set(report.missing) == missing and report.missing == sorted(report.missing)
    assert set(report.bad) == bad and bad
    assert set(report.good) == set(range(t.num_pieces)) - missing - bad
    assert not report.complete


def test_verify_of_an_empty_folder(tmp_path):
    t, contents = make_torrent([40, 7], 16)
    report = verify(t, tmp_path / "nothing", hook_for(t, contents))
    assert report.missing == [0, 1, 2] and report.good.count == 0
    assert not (tmp_path / "nothing").exists()  # a recheck creates nothing


def test_verify_with_the_installed_hash_schemes(tmp_path):
    """hook=None: the schemes HASH_SCHEMES names for the version, found by entry point."""
    t, contents = make_torrent([40, 7], 16)
    pieces = [hashlib.sha1(expected_piece(t, contents, i)).digest() for i in range(t.num_pieces)]
    from btref.plugins import available
    if "sha1" not in available()["hashes"]:
        pytest.skip("the sha1 hash plugin is not installed yet")
    import attrs

    t = attrs.evolve(t, piece_hashes=tuple(pieces))
    write_all(t, contents, tmp_path)
    assert verify(t, tmp_path).complete
    os.truncate(tmp_path / "t" / "f0", 39)
    with open(tmp_path / "t" / "f0", "ab") as fh:
        fh.write(b"\xff")
    assert verify(t, tmp_path).bad == [2]


@pytest.mark.parametrize(
    ("answers", "good"),
    [((), False), ((None,), False), ((True,), True), ((True, None), True),
     ((True, False), False), ((False, None), False), ((True, True), True)],
)
def test_piece_is_good_combines_the_schemes(answers, good):
    t, _ = make_torrent([4], 16)
    hook = plugin_manager(extra=[Answer(a) for a in answers]).hook
    assert piece_is_good(hook, t, 0, b"data") is good


def test_verify_report_defaults():
    from btref.pieceset import PieceSet

    report = VerifyReport(PieceSet(0))
    assert report.complete and report.bad == [] and report.missing == []
    assert storage_mod.MAX_OPEN_FILES >= 1


# -- real torrents: btref.io.create and libtorrent ------------------------------------------


def parse_or_skip(data):
    from btref import metainfo

    if not hasattr(metainfo, "parse"):
        pytest.skip("btref.metainfo.parse has not landed yet")
    return metainfo.parse(data)


def sample_folder(root):
    """Odd sizes (so pieces span files, and v2 files end mid-piece), an empty file, a subfolder."""
    d = root / "src" / "album"
    (d / "cd1").mkdir(parents=True)
    rng = random.Random(52)
    for rel, n in [("a.bin", 40_000), ("cd1/b.bin", 70_001), ("cd1/empty", 0), ("z.bin", 1)]:
        (d / rel).write_bytes(rng.randbytes(n))
    return d


def assert_recheck_finds_damage(torrent, data_dir):
    assert verify(torrent, data_dir).complete
    victim = data_dir / "album" / "cd1" / "b.bin"
    with open(victim, "r+b") as fh:
        fh.seek(50_000)
        byte = fh.read(1)
        fh.seek(50_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    report = verify(torrent, data_dir)
    assert len(report.bad) == 1 and not report.missing
    bad_file = next(i for i, f in enumerate(torrent.files) if f.path[-1] == "b.bin")
    spans = Layout(torrent).piece_spans(report.bad[0])
    assert any(s.file_index == bad_file and s.file_offset <= 50_000 < s.file_offset + s.length for s in spans)


@pytest.mark.parametrize("version", ["v1", "v2", "hybrid"])
def test_torrents_made_by_btref_create(tmp_path, version):
    from btref.io.create import create_torrent

    src = sample_folder(tmp_path)
    torrent = parse_or_skip(create_torrent(src, version=version, piece_length=16 * 1024))
    assert torrent.version == version
    # Copy the data piece by piece through two Storages (what a seed and a leech do).
    dest = tmp_path / "dest"
    hook = plugin_manager({"hashes": ["sha1", "merkle-sha256"]}).hook
    with Storage(torrent, tmp_path / "src") as seed, Storage(torrent, dest) as leech:
        for i in range(torrent.num_pieces):
            piece = b"".join(seed.read_block(i, b, min(BLOCK_SIZE, torrent.piece_size(i) - b))
                             for b in range(0, torrent.piece_size(i), BLOCK_SIZE))
            assert piece_is_good(hook, torrent, i, piece)
            leech.write_piece(i, piece)
    for rel in ["a.bin", "cd1/b.bin", "cd1/empty", "z.bin"]:
        assert (dest / "album" / rel).read_bytes() == (src / rel).read_bytes()
    assert_recheck_finds_damage(torrent, dest)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("flags", ["v1_only", "v2_only", "hybrid"])
def test_torrents_made_by_libtorrent(tmp_path, flags):
    lt = pytest.importorskip("libtorrent")
    sample_folder(tmp_path)
    fs = lt.file_storage()
    lt.add_files(fs, str(tmp_path / "src" / "album"))
    creator = lt.create_torrent(fs, 16 * 1024, flags=getattr(lt.create_torrent, flags, 0))
    lt.set_piece_hashes(creator, str(tmp_path / "src"))
    torrent = parse_or_skip(lt.bencode(creator.generate()))
    if flags == "hybrid":  # libtorrent pads every file but the empty one, the last one too
        assert any(f.pad for f in torrent.files)
    assert_recheck_finds_damage(torrent, tmp_path / "src")


def test_verify_reads_each_present_piece_once(tmp_path):
    t, contents = make_torrent([40, 7, 33], 16)
    write_all(t, contents, tmp_path)
    os.remove(tmp_path / "t" / "f2")  # f2 is bytes 47..79: pieces 2 (its last byte), 3 and 4
    asked = []

    class Counting:
        @hookimpl
        def btref_verify_piece(self, torrent, index, data):
            asked.append((index, len(data)))
            return True

    report = verify(t, tmp_path, plugin_manager(extra=[Counting()]).hook)
    assert asked == [(0, 16), (1, 16)]
    assert report.missing == [2, 3, 4] and list(report.good) == [0, 1]
