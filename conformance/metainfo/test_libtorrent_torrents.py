"""Conformance: btref.metainfo loads libtorrent's 108 test torrents as libtorrent does.

The torrents and their expected outcomes are public vectors
(``tests/vectors/libtorrent-test-torrents/``: libtorrent ``test/test_torrents`` and
what ``test_torrent_info.cpp`` expects of each, transcribed to ``EXPECTED.json``).

For every file:

* expected *valid*: :func:`btref.metainfo.parse` succeeds, both info hashes equal the
  ones in EXPECTED.json (SHA-1 / SHA-256 of the raw info bytes), the format (v1, v2,
  hybrid) and the counts of file entries, pad files and symlinks are the same;
* expected *invalid*: parsing raises :class:`~btref.errors.BencodeError` when libtorrent
  fails in its bencode decoder, :class:`~btref.errors.MetainfoError` otherwise;
* ``strict=True`` additionally rejects every file with non-canonical bencoding (and
  v2 files with missing piece layers), and accepts the other valid ones.

Where btref deliberately differs from libtorrent the file is listed in
:data:`DELIBERATE_DIFFERENCES` with the reason; the test then checks btref's own,
documented outcome. Nothing is skipped silently.

``test_live_libtorrent_agrees`` also loads every valid file with the libtorrent installed
here and compares hashes, piece counts, file names and sizes; the names where that
(older) libtorrent differs are listed, with reasons, in :data:`LIVE_PATH_DIFFERENCES`.

Run: ``pytest conformance/metainfo``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from btref.errors import BencodeError, MetainfoError
from btref.metainfo import parse

#: Where the vectors live (the root conftest's ``vectors`` fixture reads the same folder;
#: this copy of the path is only used to *name* the test cases at collection time).
_FOLDER = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "libtorrent-test-torrents"
_NAMES = sorted(p.name for p in _FOLDER.glob("*.torrent"))
assert _NAMES, f"no test torrents in {_FOLDER} (they are part of the repository)"

#: Files where btref's outcome differs from libtorrent's, on purpose.
DELIBERATE_DIFFERENCES: dict[str, tuple[str, str]] = {
    "v2_invalid_root_hash.torrent": (
        "invalid",
        "libtorrent parses this file and only fails (torrent_invalid_piece_layer) when it is "
        "added to a session. btref folds every piece layer up to its pieces root while "
        "parsing, so it rejects the file at once, for the same reason: a Torrent btref "
        "returns never carries hashes it cannot trust.",
    ),
}

#: File names after sanitizing, as libtorrent's tests (and EXPECTED.md) describe them.
EXPECTED_PATHS: dict[str, list[str]] = {
    "absolute_filename.torrent": ["temp/abcde", "temp/foobar"],
    "backslash_path.torrent": ["temp/_/_/bar"],
    "duplicate_files.torrent": ["temp/foo/bar.txt", "temp/foo/bar.1.txt"],
    "invalid_directory_name.torrent": ["test2/_/foo", "test2/_/foo.1"],
    "invalid_name2.torrent": ["b61560c2918f463768cd122b6d2fdd47b77bdb35/foo/bar.txt",
                              "b61560c2918f463768cd122b6d2fdd47b77bdb35/foo/var.txt"],
    "invalid_name3.torrent": ["foobar /foo/bar.txt", "foobar /foo/var.txt"],
    "parent_path.torrent": ["temp/bar"],
    "single_multi_file.torrent": ["temp/foo/bar"],
    "slash_path.torrent": ["temp/_/_/bar"],
    "slash_path2.torrent": ["temp/abc....def/_/bar"],
    "slash_path3.torrent": ["temp....abc"],
    "symlink_filtered_path.torrent": ["temp/a/_/bar", "temp/a/_/foo"],
    "v2_invalid_filename.torrent": ["_estMB"],
    "v2_invalid_filename2.torrent": ["test/_", "test/_.1", "test/stress_test2"],
}

#: Symlink targets libtorrent's tests expect (file index -> target).
EXPECTED_SYMLINKS: dict[str, dict[int, str]] = {
    "symlink1.torrent": {1: "temp/a/b/bar"},
    "symlink2.torrent": {0: "Some.framework/Versions/A/SDL2", 4: "Some.framework/Versions/A"},
    "symlink_filtered_path.torrent": {1: "temp/a/_/bar"},
    "symlink_zero_size.torrent": {1: "temp/a/b/bar"},
    "overlapping_symlinks.torrent": {0: "SDL2.framework/Versions/Current/Headers",
                                     1: "SDL2.framework/Versions/Current/Resources",
                                     2: "SDL2.framework/Versions/Current/SDL2"},
    "v2_symlinks.torrent": {0: "SDL2.framework/Versions/Current/Headers",
                            1: "SDL2.framework/Versions/Current/Resources",
                            2: "SDL2.framework/Versions/Current/SDL2"},
}

_FORMATS = {"v1": "v1", "v2-only": "v2", "hybrid": "hybrid"}
#: Valid files whose v2 piece layers are incomplete: fine when lenient, not when strict.
_MISSING_LAYERS = {"v2_incomplete_piece_layer.torrent", "v2_no_piece_layers.torrent"}


@pytest.fixture(scope="module")
def expected(vectors: Path) -> dict[str, dict]:
    table = json.loads((vectors / "libtorrent-test-torrents" / "EXPECTED.json").read_text())
    return {entry["file"]: entry for entry in table["torrents"]}


def _read(vectors: Path, name: str) -> bytes:
    return (vectors / "libtorrent-test-torrents" / name).read_bytes()


def test_every_file_is_covered(vectors: Path, expected: dict[str, dict]) -> None:
    assert len(expected) == 108
    assert sorted(expected) == _NAMES
    assert set(DELIBERATE_DIFFERENCES) <= set(expected)


@pytest.mark.parametrize("name", _NAMES)
def test_outcome_matches_libtorrent(vectors: Path, expected: dict[str, dict], name: str) -> None:
    case = expected[name]
    data = _read(vectors, name)
    outcome, why = DELIBERATE_DIFFERENCES.get(name, (case["expected"], ""))
    if outcome == "valid":
        torrent = parse(data)
        hex_v1 = torrent.info_hash_v1.hex() if torrent.info_hash_v1 else None
        hex_v2 = torrent.info_hash_v2.hex() if torrent.info_hash_v2 else None
        assert (hex_v1, hex_v2) == (case["info_hash_v1"], case["info_hash_v2"])
        assert torrent.version == _FORMATS[case["format"]]
        assert len(torrent.files) == case["raw_file_entries"]
        assert sum(f.pad for f in torrent.files) == case["pad_entries"]
        assert sum(f.symlink is not None for f in torrent.files) == case["symlink_entries"]
        assert torrent.num_pieces >= 1 and torrent.total_length > 0
    else:
        libtorrent_bdecode = case["error"] in ("invalid_bencoding", "bdecode depth_exceeded")
        error = BencodeError if libtorrent_bdecode else MetainfoError
        with pytest.raises(error) as raised:
            parse(data)
        assert str(raised.value)  # every rejection says what was wrong
        if why:
            assert case["expected"] != "invalid", why


@pytest.mark.parametrize("name", sorted(EXPECTED_PATHS))
def test_sanitized_paths_match_libtorrent(vectors: Path, name: str) -> None:
    torrent = parse(_read(vectors, name))
    assert ["/".join(f.path) for f in torrent.files if not f.pad] == EXPECTED_PATHS[name]


@pytest.mark.parametrize("name", sorted(EXPECTED_SYMLINKS))
def test_symlink_targets_match_libtorrent(vectors: Path, name: str) -> None:
    files = parse(_read(vectors, name)).files
    for index, target in EXPECTED_SYMLINKS[name].items():
        assert files[index].symlink is not None and "/".join(files[index].symlink) == target


@pytest.mark.parametrize("name", _NAMES)
def test_strict_mode(vectors: Path, expected: dict[str, dict], name: str) -> None:
    case = expected[name]
    if DELIBERATE_DIFFERENCES.get(name, (case["expected"],))[0] != "valid":
        with pytest.raises((BencodeError, MetainfoError)):
            parse(_read(vectors, name), strict=True)
    elif case["non_canonical_bencoding"]:
        with pytest.raises(BencodeError):
            parse(_read(vectors, name), strict=True)
    elif name in _MISSING_LAYERS:
        assert parse(_read(vectors, name)).missing_piece_layers
        with pytest.raises(MetainfoError, match="'piece layers'"):
            parse(_read(vectors, name), strict=True)
    else:
        assert parse(_read(vectors, name), strict=True).info_hash == parse(_read(vectors, name)).info_hash


#: Where btref's file names differ from those of the *installed* libtorrent (2.1), and why.
LIVE_PATH_DIFFERENCES: dict[str, str] = {
    "parent_path.torrent": "libtorrent 2.1 turns each '..' element into '_' (temp/_/_/bar); the newer "
    "libtorrent these vectors come from drops them (temp/bar), and so does btref.",
    "invalid_filename2.torrent": "same rule for '.' elements: libtorrent 2.1 keeps them as '_'.",
    "long_name.torrent": "libtorrent 2.1 cuts an overlong element to 240 bytes plus its extension; "
    "btref keeps up to 255 bytes (NAME_MAX), extension included.",
}


@pytest.mark.parametrize("name", _NAMES)
def test_live_libtorrent_agrees(vectors: Path, expected: dict[str, dict], name: str) -> None:
    """Differential check against the libtorrent installed here: same hashes, same pieces,
    same (non-pad) file names and sizes."""
    lt = pytest.importorskip("libtorrent")
    if expected[name]["expected"] != "valid":
        return  # covered by test_outcome_matches_libtorrent
    data = _read(vectors, name)
    ours = parse(data)
    theirs = lt.torrent_info(data)  # the raw bytes: a bdecode()d dict would be re-encoded
    hashes = theirs.info_hashes()
    if ours.info_hash_v1:
        assert hashes.v1.to_bytes() == ours.info_hash_v1
    if ours.info_hash_v2:
        assert hashes.v2.to_bytes() == ours.info_hash_v2
    assert theirs.num_pieces() == ours.num_pieces and theirs.piece_length() == ours.piece_length
    with warnings.catch_warnings():  # the bindings deprecate files() without a replacement
        warnings.simplefilter("ignore", DeprecationWarning)
        fs = theirs.files()
    pad = lt.file_storage.flag_pad_file
    their_files = [(fs.file_path(i).replace("\\", "/"), fs.file_size(i))
                   for i in range(fs.num_files()) if not fs.file_flags(i) & pad]
    our_files = [("/".join(f.path), f.length) for f in ours.files if not f.pad]
    assert [size for _, size in their_files] == [size for _, size in our_files]
    if name in LIVE_PATH_DIFFERENCES:
        assert [p for p, _ in their_files] != [p for p, _ in our_files], "difference gone: update the list"
    else:
        assert their_files == our_files
