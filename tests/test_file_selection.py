"""File selection (``--only``/``--skip``, BEP 53 ``so=``), the parts file, saved magnet
metadata: the choice of files, the engine's "pieces we want", storage, and real downloads
from libtorrent on loopback."""

from __future__ import annotations

import os
import random
from pathlib import Path

import attrs
import pytest
from btref_pickers.random import RandomPicker
from btref_pickers.rarest_first import RarestFirst
from btref_pickers.sequential import Sequential

from btref import wire
from btref.cli import main
from btref.errors import SelectionError, StorageError
from btref.io.create import create_torrent
from btref.io.storage import STATE_FOLDER, Storage, load_metadata, save_metadata, verify
from btref.layout import PRIORITIES, Layout, choose_files, file_priorities
from btref.magnet import Magnet
from btref.metainfo import Torrent, parse
from btref.net.events import read_events
from btref.pieceset import PieceSet
from btref.plugins import plugin_manager
from btref.session import Complete, Send, Session, WritePiece
from tests.ltsession import LT

PIECE = 16384
#: Three files whose boundaries fall inside pieces 1 and 3 (v1): b.bin shares a piece
#: with each of the others.
TRIO = {"a.bin": 20_000, "b.bin": 30_000, "c.bin": 25_000}


def make_trio(tmp_path: Path, version: str = "v1") -> tuple[bytes, Torrent, Path]:
    """(torrent bytes, torrent, DATA_DIR) of a folder ``trio`` with the three files."""
    src = tmp_path / "src"
    rng = random.Random(16)
    for name, size in TRIO.items():
        (src / "trio").mkdir(parents=True, exist_ok=True)
        (src / "trio" / name).write_bytes(rng.randbytes(size))
    data = create_torrent(src / "trio", version=version, piece_length=PIECE, creation_date=0)
    return data, parse(data), src


def index_of(torrent: Torrent, name: str) -> int:
    return next(i for i, f in enumerate(torrent.files) if f.path[-1] == name)


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- choosing files ---------------------------------------------------------------------


def test_patterns_match_paths_folders_and_paths_below_the_torrent_folder(tmp_path: Path) -> None:
    _, t, _ = make_trio(tmp_path)
    a, b, c = (index_of(t, n) for n in TRIO)
    assert choose_files(t, only=["b.bin"]) == {b}
    assert choose_files(t, only=["trio/b.bin"]) == {b}
    assert choose_files(t, only=["*.bin"], skip=["a*"]) == {b, c}
    assert choose_files(t, only=["trio"]) == {a, b, c}  # a folder the files lie in
    assert choose_files(t, skip=["c.bin"]) == {a, b}
    assert choose_files(t, indices=[b]) == {b}


@pytest.mark.parametrize("pattern", ["../b.bin", "/etc/passwd", "trio/../trio/b.bin", "B.BIN", ""])
def test_a_pattern_that_matches_nothing_names_the_files(tmp_path: Path, pattern: str) -> None:
    _, t, _ = make_trio(tmp_path)
    with pytest.raises(SelectionError, match="matches no file; the torrent's files are: trio/a.bin, trio/b.bin"):
        choose_files(t, only=[pattern])


def test_an_empty_selection_and_a_bad_index_are_errors(tmp_path: Path) -> None:
    _, t, _ = make_trio(tmp_path)
    with pytest.raises(SelectionError, match="leaves no file"):
        choose_files(t, only=["*"], skip=["*"])
    with pytest.raises(SelectionError, match="so= names file 7, but the torrent has 3 files"):
        choose_files(t, indices=[1, 7])


def test_pieces_of_a_file_include_the_boundary_pieces(tmp_path: Path) -> None:
    _, t, _ = make_trio(tmp_path)
    assert list(Layout(t).pieces_of({index_of(t, "b.bin")})) == [1, 2, 3]
    assert list(Layout(t).pieces_of({index_of(t, "a.bin")})) == [0, 1]


# -- the engine asks only for wanted pieces ---------------------------------------------


@pytest.mark.parametrize("picker", [RarestFirst(random_first=0), RarestFirst(), Sequential(), RandomPicker()],
                         ids=["rarest-first", "random-first", "sequential", "random"])
def test_the_session_requests_and_completes_only_the_wanted_pieces(tmp_path: Path, picker: object) -> None:
    data, t, src = make_trio(tmp_path)
    whole = b"".join((src / "trio" / n).read_bytes() for n in TRIO)
    wanted = Layout(t).pieces_of({index_of(t, "c.bin")})  # pieces 3 and 4
    hook = plugin_manager({"pickers": [picker], "hashes": ["sha1"]}).hook
    s = Session(t, hook, rng=random.Random(1), wanted=wanted)
    s.peer_connected("seed", 0.0)
    out = s.message_received("seed", wire.Bitfield(PieceSet.full(t.num_pieces).to_bytes()), 1.0)
    out += s.message_received("seed", wire.Unchoke(), 1.0)
    asked, written, now = [], [], 2.0
    while requests := [a.msg for a in out if isinstance(a, Send) and isinstance(a.msg, wire.Request)]:
        asked += [r.index for r in requests]
        out = []
        for r in requests:
            block = whole[r.index * PIECE + r.begin: r.index * PIECE + r.begin + r.length]
            step = s.message_received("seed", wire.Piece(r.index, r.begin, block), now)
            written += [a.index for a in step if isinstance(a, WritePiece)]
            out += step
        if any(isinstance(a, Complete) for a in out):
            break
    assert set(asked) == {3, 4} and sorted(written) == [3, 4]
    assert any(isinstance(a, Complete) for a in out) and not s.seeding
    assert not s.peers["seed"].am_interested  # nothing left that we want


# -- file priorities ----------------------------------------------------------------------


HIGH, NORMAL, LOW = (PRIORITIES[w] for w in ("high", "normal", "low"))


def test_a_piece_takes_the_highest_level_of_its_files(tmp_path: Path) -> None:
    _, t, _ = make_trio(tmp_path)  # a.bin: pieces 0-1, b.bin: 1-3, c.bin: 3-4
    a, b, c = (index_of(t, n) for n in TRIO)
    assert file_priorities(t, ["b.bin=high", "*.bin=low", "trio/a.bin=normal"]) == {a: NORMAL, b: LOW, c: LOW}
    levels = file_priorities(t, ["b.bin=HIGH", "c.bin=low"])
    assert [list(tier) for tier in Layout(t).tiers(levels)] == [[1, 2, 3], [0], [4]]
    assert [list(tier) for tier in Layout(t).tiers({})] == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize(("rule", "message"), [
    ("b.bin", "expected PATTERN=LEVEL"), ("=high", "expected PATTERN=LEVEL"),
    ("b.bin=urgent", "must be one of low, normal, high, not 'urgent'"), ("b.bin=0", "is --skip"),
    ("d.bin=high", "--priority 'd.bin' matches no file"),
])
def test_a_bad_priority_rule_is_an_error(tmp_path: Path, rule: str, message: str) -> None:
    _, t, _ = make_trio(tmp_path)
    with pytest.raises(SelectionError, match=message):
        file_priorities(t, [rule])


def make_pair(tmp_path: Path) -> tuple[bytes, Torrent, Path]:
    """A torrent of two files of eight pieces each, ``first.bin`` then ``second.bin``."""
    src = tmp_path / "src"
    (src / "pair").mkdir(parents=True)
    rng = random.Random(17)
    for name in ("first.bin", "second.bin"):
        (src / "pair" / name).write_bytes(rng.randbytes(8 * PIECE))
    data = create_torrent(src / "pair", version="v1", piece_length=PIECE, creation_date=0)
    return data, parse(data), src


@pytest.mark.parametrize("picker", [RarestFirst(random_first=0), RarestFirst(), Sequential(), RandomPicker()],
                         ids=["rarest-first", "random-first", "sequential", "random"])
def test_the_pieces_of_a_high_file_are_asked_for_first(tmp_path: Path, picker: object) -> None:
    """Whatever the picker, every piece of the high file is asked for before any of the
    other, and (from one seed answering in order) verified before any of the other."""
    _, t, src = make_pair(tmp_path)
    whole = b"".join((src / "pair" / n).read_bytes() for n in ("first.bin", "second.bin"))
    second = Layout(t).pieces_of({index_of(t, "second.bin")})
    hook = plugin_manager({"pickers": [picker], "hashes": ["sha1"]}).hook
    s = Session(t, hook, rng=random.Random(1), tiers=Layout(t).tiers(file_priorities(t, ["second.bin=high"])))
    s.peer_connected("seed", 0.0)
    out = s.message_received("seed", wire.Bitfield(PieceSet.full(t.num_pieces).to_bytes()), 1.0)
    out += s.message_received("seed", wire.Unchoke(), 1.0)
    asked: list[int] = []
    written: list[int] = []
    while requests := [a.msg for a in out if isinstance(a, Send) and isinstance(a.msg, wire.Request)]:
        asked += [r.index for r in requests if r.index not in asked]
        out = []
        for r in requests:
            block = whole[r.index * PIECE + r.begin: r.index * PIECE + r.begin + r.length]
            step = s.message_received("seed", wire.Piece(r.index, r.begin, block), 2.0)
            written += [a.index for a in step if isinstance(a, WritePiece)]
            out += step
    assert s.seeding and sorted(written) == list(range(t.num_pieces))
    assert set(asked[:8]) == set(second) and set(written[:8]) == set(second)


def test_a_download_with_a_high_file_verifies_it_first(tmp_path: Path) -> None:
    """A real download over loopback from a btref seed: the piece_verified events name
    every piece of the high file before any piece of the other. (The seed grants no BEP 6
    allowed-fast pieces: those are asked for while choked, whatever their priority.)"""
    import asyncio

    from btref.actions import Config
    from btref.net.driver import Client
    from tests.test_driver import run, same_tree

    _, t, src = make_pair(tmp_path)
    events = tmp_path / "leech.jsonl"

    async def scenario() -> None:
        async with Client(t, src, host="127.0.0.1", seed=True, discovery=(),
                          config=Config(allowed_fast_set_size=0)) as seed:
            async with Client(t, tmp_path / "out", host="127.0.0.1", discovery=(), picker="sequential",
                              peers=[f"127.0.0.1:{seed.port}"], events=events,
                              priorities=file_priorities(t, ["second.bin=high"])) as leech:
                async with asyncio.timeout(60):
                    assert await leech.run(), leech.error

    run(scenario(), 90)
    assert same_tree(src, tmp_path / "out")
    order = [e["index"] for e in read_events(events) if e["event"] == "piece_verified"]
    second = set(Layout(t).pieces_of({index_of(t, "second.bin")}))
    assert len(order) == t.num_pieces and set(order[:len(second)]) == second


def test_cli_priority_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, _ = make_trio(tmp_path)
    (tmp_path / "t.torrent").write_bytes(data)
    for rule in ("b.bin", "b.bin=urgent", "nothing.bin=high"):
        assert main(["download", str(tmp_path / "t.torrent"), "-o", str(tmp_path / "out"), "--priority", rule,
                     "--no-trackers", "--timeout", "1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--priority" in err
    assert not (tmp_path / "out").exists()


# -- storage: the parts file ------------------------------------------------------------


def test_skipped_files_are_never_written_and_boundary_pieces_are_kept_apart(tmp_path: Path) -> None:
    _, t, src = make_trio(tmp_path)
    full = Storage(t, src)
    out = tmp_path / "out"
    b = index_of(t, "b.bin")
    with Storage(t, out, selected={b}) as storage:
        for index in Layout(t).pieces_of({b}):
            storage.write_piece(index, full.read_piece(index))
        assert storage.parked == {1, 3}
        assert storage.read_block(1, 0, 100) == full.read_block(1, 0, 100)  # served from the parts file
    full.close()
    assert files_below(out) == [f"{STATE_FOLDER}/{t.info_hash.hex()}.parts", "trio/b.bin"]
    assert (out / "trio" / "b.bin").read_bytes() == (src / "trio" / "b.bin").read_bytes()
    # The recheck finds the boundary pieces in the parts file, with or without the selection.
    assert verify(t, out, selected={b}).parked == [1, 3]
    report = verify(t, out)
    assert list(report.good) == [1, 2, 3] and report.parked == [1, 3] and report.missing == [0, 4]
    # All files wanted now: the parked pieces go into their files and the parts file goes.
    with Storage(t, out, parked=report.parked) as storage:
        assert storage.restore() == 2 and not storage.parked
    assert files_below(out) == ["trio/a.bin", "trio/b.bin", "trio/c.bin"]
    assert list(verify(t, out).good) == [1, 2, 3]


def test_the_parts_file_is_reached_through_no_link(tmp_path: Path) -> None:
    _, t, src = make_trio(tmp_path)
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / STATE_FOLDER).symlink_to(outside)
    with Storage(t, src) as full, Storage(t, out, selected={index_of(t, "b.bin")}) as storage:
        with pytest.raises(StorageError, match=STATE_FOLDER):
            storage.write_piece(1, full.read_piece(1))
    assert not list(outside.iterdir())
    with pytest.raises(StorageError):
        save_metadata(out, t)
    assert not list(outside.iterdir())


def test_saved_metadata_is_found_by_info_hash_only(tmp_path: Path) -> None:
    _, t, _ = make_trio(tmp_path, "hybrid")
    path = save_metadata(tmp_path / "out", t)
    assert Path(path).name == f"{t.info_hash.hex()}.torrent"
    again = load_metadata(tmp_path / "out", t.info_hash_v1, t.info_hash_v2)
    assert again is not None and again.info_bytes == t.info_bytes
    assert load_metadata(tmp_path / "out", bytes(20), None) is None
    Path(path).write_bytes(b"not a torrent")
    assert load_metadata(tmp_path / "out", t.info_hash_v1, None) is None


# -- the command ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["../trio/b.bin", "/etc/passwd", "../../*"])
def test_a_hostile_pattern_changes_nothing(tmp_path: Path, pattern: str, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, _ = make_trio(tmp_path)
    (tmp_path / "t.torrent").write_bytes(data)
    before = files_below(tmp_path)
    assert main(["download", str(tmp_path / "t.torrent"), "-o", str(tmp_path / "out"), "--only", pattern,
                 "--no-trackers", "--timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matches no file; the torrent's files are: trio/a.bin" in err
    assert files_below(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.fixture
def seeder(tmp_path: Path):
    lts = LT()
    try:
        yield lts
    finally:
        if hasattr(lts, "session"):  # a test may close it early
            lts.close()


def seeding(lts: LT, data: bytes, src: Path) -> str:
    handle = lts.add(data, src)
    import asyncio

    asyncio.run(lts.wait(lambda: handle.status().is_seeding, "libtorrent's recheck of the seed's data"))
    return f"127.0.0.1:{lts.port}"


def download(*args: str) -> int:
    return main(["download", *args, "--host", "127.0.0.1", "--no-trackers", "--timeout", "60"])


@pytest.mark.interop
def test_only_one_file_from_libtorrent_then_the_rest(tmp_path: Path, seeder: LT,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data, t, src = make_trio(tmp_path)
    (tmp_path / "t.torrent").write_bytes(data)
    peer = seeding(seeder, data, src)
    out = tmp_path / "out"
    assert download(str(tmp_path / "t.torrent"), "-o", str(out), "--peer", peer, "--only", "b.bin") == 0
    assert "1 of 3 files chosen (trio/b.bin): 3 of 5 pieces" in capsys.readouterr().out
    parts = f"{STATE_FOLDER}/{t.info_hash.hex()}.parts"
    assert files_below(out) == [parts, "trio/b.bin"]
    assert (out / "trio" / "b.bin").read_bytes() == (src / "trio" / "b.bin").read_bytes()
    # Without --only: the three pieces already there are kept, the two others fetched.
    events = tmp_path / "events.jsonl"
    assert download(str(tmp_path / "t.torrent"), "-o", str(out), "--peer", peer, "--events", str(events),
                    "--download-limit", "8M") == 0
    assert "download limited to 8.0 MiB/s" in capsys.readouterr().out
    recheck = next(e for e in read_events(events) if e["event"] == "recheck")
    assert (recheck["good"], recheck["missing"]) == (3, 2)
    assert files_below(out) == ["trio/a.bin", "trio/b.bin", "trio/c.bin"]
    assert all((out / "trio" / n).read_bytes() == (src / "trio" / n).read_bytes() for n in TRIO)


@pytest.mark.interop
def test_magnet_so_from_libtorrent_and_saved_metadata(tmp_path: Path, seeder: LT,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data, t, src = make_trio(tmp_path, "hybrid")  # so= counts the BEP 47 pad files too
    c = index_of(t, "c.bin")
    assert c == 4
    peer = seeding(seeder, data, src)
    uri = attrs.evolve(Magnet.from_torrent(t), peers=(peer,), select_only=(c,)).to_uri()
    out = tmp_path / "out"
    assert download(uri, "-o", str(out)) == 0
    assert "fetching the metadata" in capsys.readouterr().out
    saved = f"{STATE_FOLDER}/{t.info_hash.hex()}.torrent"
    assert files_below(out) == [saved, "trio/c.bin"]  # hybrid pieces never span files: no parts
    assert (out / "trio" / "c.bin").read_bytes() == (src / "trio" / "c.bin").read_bytes()
    # Again, with nobody to fetch metadata from: the saved copy is used, and the data is there.
    seeder.close()
    alone = attrs.evolve(Magnet.from_torrent(t), peers=(), select_only=(c,)).to_uri()
    assert download(alone, "-o", str(out), "--timeout", "2") == 0
    said = capsys.readouterr().out
    assert "saved by an earlier run" in said and "fetching the metadata" not in said
