"""Differential tests: btref's creator, parser and hash schemes against libtorrent 2.

Both directions, for v1, v2 and hybrid torrents, single and multi-file, with empty and
odd-sized files:

* btref creates -> libtorrent loads the bytes; both agree on the info hashes, piece
  geometry and file list, and libtorrent's recheck of the data finds every piece good;
* libtorrent creates -> btref parses; both agree the same way, and btref's hash schemes
  find every piece good.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from btref import metainfo, plugins
from btref.io import storage
from btref.io.create import create_torrent
from tests.ltsession import close_session, loopback_settings, wait_until

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop

VERSIONS = ("v1", "v2", "hybrid")
LAYOUTS: dict[str, dict[str, int]] = {
    "single-odd": {"f.bin": 100_001},
    "single-one-byte": {"f.bin": 1},
    "multi-odd": {"a/1.bin": 70_000, "a/2.bin": 16 * 1024, "b.bin": 3, "c/d/e.txt": 40_961},
    "multi-empty": {"x/empty": 0, "x/data": 50_000, "y": 0, "z/odd": 33_333, "zz": 0},
    "folder-with-one-file": {"only": 5000},
    "many-files": {f"d{i % 3}/{'sub/' * (i % 2)}f{i:02}": (i * 37_011) % 200_003 for i in range(16)},
}
LT_FLAGS = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}
CASES = [
    pytest.param(layout, version, piece_kib, id=f"{layout}-{version}-{piece_kib}k")
    for layout in LAYOUTS for version in VERSIONS for piece_kib in (16, 64)
]


def make_data(tmp_path: Path, layout: str, version: str) -> tuple[Path, Path]:
    """``(path to share, DATA_DIR)``: a single file or a folder ``root`` in ``tmp_path``.

    A v2-only torrent of a folder that holds one file cannot say so (BEP 52: a file tree
    with one top-level file *is* a single-file torrent), so its DATA_DIR is the folder.
    """
    rng = random.Random(layout)
    files = LAYOUTS[layout]
    single = layout.startswith("single")
    for rel, size in files.items():
        path = tmp_path / rel if single else tmp_path / "root" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    if single:
        return tmp_path / next(iter(files)), tmp_path
    lone = len(files) == 1 and "/" not in next(iter(files))
    return tmp_path / "root", (tmp_path / "root" if lone and version == "v2" else tmp_path)


def lt_view(ti: Any) -> dict[str, Any]:
    fs = ti.layout()
    files = []
    for i in range(fs.num_files()):
        pad = bool(fs.file_flags(i) & fs.flag_pad_file)
        files.append((fs.file_path(i).replace(os.sep, "/"), fs.file_size(i), pad, fs.file_offset(i)))
    hashes = ti.info_hashes()
    return {
        "v1": bytes.fromhex(str(hashes.v1)) if hashes.has_v1() else None,
        "v2": bytes.fromhex(str(hashes.v2)) if hashes.has_v2() else None,
        "piece_length": ti.piece_length(),
        "num_pieces": ti.num_pieces(),
        "files": [f[:3] for f in files],
        "offsets": [f[3] for f in files if not f[2] and f[1]],
    }


def btref_view(t: metainfo.Torrent) -> dict[str, Any]:
    # libtorrent adds a tail pad file after the last file of a v2-only torrent, which is
    # only alignment; btref's v2-only geometry has no pad files at all, so pads are
    # compared for v1 lists (v1 and hybrid torrents) only.
    return {
        "v1": t.info_hash_v1,
        "v2": t.info_hash_v2,
        "piece_length": t.piece_length,
        "num_pieces": t.num_pieces,
        "files": [("/".join(f.path), f.length, f.pad) for f in t.files],
        "offsets": [f.offset for f in t.files if not f.pad and f.length],
    }


def lt_load(data: bytes) -> Any:
    return lt.torrent_info(lt.bdecode(data))


def btref_all_good(t: metainfo.Torrent, data_dir: Path) -> list[bool]:
    hook = plugins.plugin_manager({"hashes": plugins.HASH_SCHEMES[t.version]}).hook
    space = bytearray()
    for f in t.files:
        space += bytes(max(0, f.offset - len(space)))
        space += bytes(f.length) if f.pad else data_dir.joinpath(*f.path).read_bytes()
    view = memoryview(space)
    results = []
    for i in range(t.num_pieces):
        start = i * t.piece_length
        answers = hook.btref_verify_piece(torrent=t, index=i, data=view[start : start + t.piece_size(i)])
        results.append(bool(answers) and False not in answers)
    return results


@pytest.fixture(scope="module")
def session() -> Any:
    ses = lt.session(loopback_settings(
        alert_mask=lt.alert_category.status | lt.alert_category.error | lt.alert_category.storage))
    yield ses
    close_session(ses)
    del ses


def lt_recheck(ses: Any, ti: Any, save_path: Path) -> list[bool]:
    """Add the torrent over the data, let libtorrent check it, return its piece bitmap."""
    params = lt.add_torrent_params()
    params.ti = ti
    params.save_path = str(save_path)
    handle = ses.add_torrent(params)

    def checked() -> bool:
        if any(isinstance(a, lt.torrent_checked_alert) and a.handle == handle for a in ses.pop_alerts()):
            return True
        ses.wait_for_alert(500)  # returns as soon as an alert is posted
        return False

    try:
        # Wait for libtorrent's own "checked" event (the bound only turns a hang into a failure).
        wait_until(checked, "libtorrent's check of the data", timeout=200, poll=0,
                   details=lambda: f"state {handle.status().state}")
        return list(handle.status().pieces)
    finally:
        ses.remove_torrent(handle)


@pytest.mark.parametrize(("layout", "version", "piece_kib"), CASES)
def test_btref_creates_libtorrent_agrees(tmp_path: Path, session: Any, layout: str, version: str, piece_kib: int) -> None:
    path, data_dir = make_data(tmp_path, layout, version)
    data = create_torrent(path, version=version, piece_length=piece_kib * 1024)
    (tmp_path / "t.torrent").write_bytes(data)
    ti = lt.torrent_info(str(tmp_path / "t.torrent"))  # from a file, as a user would
    ours = btref_view(metainfo.parse(data))
    theirs = lt_view(ti)
    if version == "v2":
        ours["files"] = [f for f in ours["files"] if not f[2]]
        theirs["files"] = [f for f in theirs["files"] if not f[2]]
    assert ours == theirs
    assert lt_recheck(session, ti, data_dir) == [True] * ti.num_pieces()


@pytest.mark.parametrize(("layout", "version", "piece_kib"), CASES)
def test_libtorrent_creates_btref_agrees(tmp_path: Path, layout: str, version: str, piece_kib: int) -> None:
    path, data_dir = make_data(tmp_path, layout, version)
    ct = lt.create_torrent(lt.list_files(str(path)), piece_kib * 1024, LT_FLAGS[version])
    lt.set_piece_hashes(ct, str(path.parent))
    data = lt.bencode(ct.generate())
    ti = lt_load(data)
    torrent = metainfo.parse(data)
    assert torrent.version == version
    ours, theirs = btref_view(torrent), lt_view(ti)
    if version == "v2":
        ours["files"] = [f for f in ours["files"] if not f[2]]
        theirs["files"] = [f for f in theirs["files"] if not f[2]]
    assert ours == theirs
    assert btref_all_good(torrent, data_dir) == [True] * torrent.num_pieces
    report = storage.verify(torrent, data_dir)  # the recheck `btref verify` runs
    assert (report.bad, report.missing, report.good.count) == ([], [], torrent.num_pieces)

