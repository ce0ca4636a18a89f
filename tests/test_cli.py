"""The ``btref`` command line, run in-process through ``btref.cli.main`` (plus one subprocess).

Every command is run on real files made in tmp_path: a sample folder, the torrent
``btref create`` makes of it, the data ``btref verify`` checks.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import cli
from btref.commands import common, conformance, demo, info, verify
from btref.errors import BtrefError, ProtocolError, StorageError

REQUIRED_JSON_KEYS = {"name", "info_hash_v1", "info_hash_v2", "piece_length", "num_pieces", "total_length",
                      "private", "trackers", "files", "magnet"}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return demo.make_sample(tmp_path)


@pytest.fixture
def made(tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "sample.torrent"
    code, stdout, _ = run(capsys, "create", sample, "-o", out, "--piece-length", "16K")
    assert code == 0, stdout
    return out


# -- the parser and the top level -----------------------------------------------------


def test_help_in_a_subprocess() -> None:
    result = subprocess.run([sys.executable, "-m", "btref", "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: btref")
    for command in ("demo", "create", "info", "verify", "plugins", "conformance", "examples:"):
        assert command in result.stdout


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0 and "btref demo" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == "btref 0.1.0"


@pytest.mark.parametrize("command", ["demo", "create", "info", "verify", "plugins", "conformance"])
def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "examples:" in out and f"btref {command}" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "verify")
    assert code == 2 and "usage:" in err


def test_keyboard_interrupt(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "run", interrupted)
    code, _, err = run(capsys, "info", "x.torrent")
    assert code == 130 and err == "btref: interrupted\n"


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (ProtocolError("bad\nmessage"), "btref: ProtocolError: bad message"),
        (StorageError("path escapes"), "btref: storage: path escapes"),
        (BtrefError(), "btref: BtrefError: BtrefError"),
        (OSError("disk on fire"), "btref: cannot access: disk on fire"),
        (FileNotFoundError(2, "No such file or directory", "x.torrent"),
         "btref: cannot access x.torrent: No such file or directory"),
        (common.CommandError("no can do"), "btref: no can do"),
    ],
)
def test_describe_error(exc: BaseException, line: str) -> None:
    assert cli.describe_error(exc) == line


# -- create ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["v1", "v2", "hybrid"])
def test_create_each_scheme(tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str], scheme: str) -> None:
    out = tmp_path / f"{scheme}.torrent"
    code, stdout, _ = run(capsys, "create", sample, "-o", out, "--scheme", scheme)
    assert code == 0
    assert stdout.startswith(f"wrote {out}: {scheme} torrent")
    assert "next: btref info" in stdout
    code, stdout, _ = run(capsys, "info", out, "--json")
    summary = json.loads(stdout)
    assert summary["version"] == scheme
    assert (summary["info_hash_v1"] is None) == (scheme == "v2")
    assert (summary["info_hash_v2"] is None) == (scheme == "v1")


def test_create_options_reach_the_torrent(tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "opts.torrent"
    code, _, _ = run(capsys, "create", sample, "-o", out, "--piece-length", "32KiB",
                     "--tracker", "http://a.example/announce",
                     "--tracker", "udp://b.example:6969, http://c.example/announce",
                     "--private", "--comment", "lab one", "--web-seed", "http://w.example/files/")
    assert code == 0
    summary = json.loads(run(capsys, "info", out, "--json")[1])
    assert summary["piece_length"] == 32 * 1024
    assert summary["trackers"] == [["http://a.example/announce"],
                                   ["udp://b.example:6969", "http://c.example/announce"]]
    assert summary["private"] is True
    assert summary["comment"] == "lab one"
    assert summary["web_seeds"] == ["http://w.example/files/"]
    text = run(capsys, "info", out)[1]
    assert "tier 2: udp://b.example:6969, http://c.example/announce" in text
    assert "yes (BEP 27" in text and "Web seeds:    http://w.example/files/" in text


def test_create_default_output_in_current_folder(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, _, _ = run(capsys, "create", sample / "data" / "verse.txt")
    assert code == 0
    assert (work / "verse.txt.torrent").is_file()


def test_create_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "create", tmp_path / "nothing", "-o", tmp_path / "x.torrent")
    assert code == 2 and out == ""
    assert err.startswith("btref: cannot create torrent: ") and err.count("\n") == 1
    assert not (tmp_path / "x.torrent").exists()


def test_create_bad_piece_length(tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "create", sample, "-o", tmp_path / "x.torrent", "--piece-length", "1000")
    assert code == 2 and err.startswith("btref: cannot create torrent: ")
    code, _, err = run(capsys, "create", sample, "-o", tmp_path / "x.torrent", "--piece-length", "lots")
    assert code == 2 and "not a size: 'lots'" in err


def test_tiers() -> None:
    from btref.commands.create import tiers

    assert tiers(["a", "b,c", " , ", "d, "]) == [["a"], ["b", "c"], ["d"]]


@pytest.mark.parametrize(("text", "size"), [("16384", 16384), ("16K", 16384), ("16kib", 16384), ("4M", 4 << 20),
                                            ("2MB", 2 << 20), (" 64KB ", 65536)])
def test_parse_size(text: str, size: int) -> None:
    assert common.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "16Q", "1.5M", "-16K", "16KK"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        common.parse_size(text)


@pytest.mark.parametrize(("n", "text"), [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KiB"),
                                         (5 << 20, "5.0 MiB"), (3 << 30, "3.0 GiB"), (5000 << 30, "5000.0 GiB")])
def test_human_size(n: int, text: str) -> None:
    assert common.human_size(n) == text


@given(st.sets(st.integers(min_value=0, max_value=200)))
def test_ranges_round_trip(indices: set[int]) -> None:
    text = common.ranges(indices)
    back: set[int] = set()
    for part in filter(None, text.split(", ")):
        lo, _, hi = part.partition("-")
        back.update(range(int(lo), int(hi or lo) + 1))
    assert back == indices
    assert len(text.split(", ")) <= len(indices) or not indices


def test_require_explains_missing_modules() -> None:
    with pytest.raises(common.CommandError, match="needs btref.no_such_module"):
        common.require("btref.no_such_module", "info")
    with pytest.raises(ModuleNotFoundError):  # a *different* missing module is a real bug: re-raised
        common.require("btref_no_such_package.sub", "info")


def test_parse_torrent_without_metainfo_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import btref.metainfo

    monkeypatch.delattr(btref.metainfo, "parse")
    with pytest.raises(common.CommandError, match="needs btref.metainfo.parse"):
        common.parse_torrent(b"de", "info")
    import btref.io.torrent_file

    monkeypatch.delattr(btref.io.torrent_file, "load")
    with pytest.raises(common.CommandError, match="needs btref.io.torrent_file.load"):
        common.load_torrent(tmp_path / "x.torrent", "info")


def test_info_refuses_a_huge_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import btref.metainfo

    monkeypatch.setattr(btref.metainfo, "MAX_TORRENT_SIZE", 100)
    big = tmp_path / "big.torrent"
    big.write_bytes(b"d" + b"0" * 200)
    code, _, err = run(capsys, "info", big)
    assert code == 2 and err.startswith("btref: invalid torrent: ") and "larger than 100 bytes" in err


# -- info ------------------------------------------------------------------------------


def test_info_summary(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", made)
    assert code == 0
    assert "Name:         btref-sample" in out
    assert "Version:      hybrid (v1 + v2, BEP 52)" in out
    assert "Pieces:       6 x 16.0 KiB" in out
    assert "in 3 files (+" in out and "pad files, BEP 47)" in out
    assert "Trackers:     none" in out
    assert "btref-sample/data/numbers.bin" in out and ".pad" not in out
    assert "Magnet:       magnet:?xt=urn:btih:" in out


def test_info_json(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", made, "--json")
    assert code == 0
    summary = json.loads(out)
    assert REQUIRED_JSON_KEYS <= set(summary)
    assert summary["name"] == "btref-sample" and summary["num_pieces"] == 6
    assert len(summary["info_hash_v1"]) == 40 and len(summary["info_hash_v2"]) == 64
    real = [f for f in summary["files"] if not f["pad"]]
    assert [f["path"] for f in real] == ["btref-sample/README.txt", "btref-sample/data/numbers.bin",
                                         "btref-sample/data/verse.txt"]
    assert sum(f["length"] for f in real) == summary["total_length"]  # the files' bytes, one meaning
    pads = [f for f in summary["files"] if f["pad"]]
    assert pads and sum(f["length"] for f in pads) == summary["pad_length"] > 0
    assert summary["magnet"].startswith("magnet:?xt=urn:btih:" + summary["info_hash_v1"])


def test_info_creation_date_and_many_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from btref.io.create import create_torrent

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(info.MAX_FILES_SHOWN + 5):
        (folder / f"f{i:02}.txt").write_text(f"file {i}\n")
    out = tmp_path / "many.torrent"
    out.write_bytes(create_torrent(folder, version="v1", creation_date=86400 * 365))
    code, text, _ = run(capsys, "info", out)
    assert code == 0
    assert "Created on:   1971-01-01 00:00:00 UTC" in text
    assert "... and 5 more (see --json)" in text
    assert "Version:      v1 (BEP 3, SHA-1)" in text and "Info hash v2: -" in text


def test_info_jsonable() -> None:
    assert info._jsonable(b"\x01\xff") == "01ff"
    assert info._jsonable(frozenset([3])) == [3]
    assert info._jsonable(Path("x")) == "x"


MAGNET = ("magnet:?xt=urn:btih:c0fda1edafdbdbb96443424e0b3899af7159d10e&dn=temp"
          "&tr=udp%3A%2F%2Ftracker.example%3A6969&tr=http%3A%2F%2Ftracker.example%2Fannounce"
          "&x.pe=10.0.0.1%3A6881&ws=http%3A%2F%2Fw.example%2F")


def test_info_magnet_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", MAGNET)
    assert code == 0
    assert out.startswith("Magnet link (BEP 9)")
    assert "Name:         temp" in out
    assert "Info hash v1: c0fda1edafdbdbb96443424e0b3899af7159d10e" in out
    assert "tier 1: udp://tracker.example:6969" in out and "tier 2: http://tracker.example/announce" in out
    assert "Peers:        10.0.0.1:6881" in out
    assert "Files:" not in out


def test_info_magnet_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", MAGNET, "--json")
    assert code == 0
    summary = json.loads(out)
    assert REQUIRED_JSON_KEYS <= set(summary)
    assert summary["kind"] == "magnet" and summary["version"] == "v1"
    assert summary["info_hash_v2"] is None
    for unknown in ("piece_length", "num_pieces", "total_length", "pad_length", "private", "files"):
        assert summary[unknown] is None
    assert summary["trackers"] == [["udp://tracker.example:6969"], ["http://tracker.example/announce"]]
    assert summary["peers"] == ["10.0.0.1:6881"]
    assert summary["magnet"].startswith("magnet:?xt=urn:btih:c0fda1edafdbdbb96443424e0b3899af7159d10e")


def test_info_magnet_v2_without_name(capsys: pytest.CaptureFixture[str]) -> None:
    uri = "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"
    code, out, _ = run(capsys, "info", uri)
    assert code == 0
    assert "Name:         (not in the link)" in out and "Version:      v2 (BEP 52" in out
    assert "Info hash v1: -" in out


def test_info_magnet_of_own_torrent_round_trips(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads(run(capsys, "info", made, "--json")[1])
    again = json.loads(run(capsys, "info", summary["magnet"], "--json")[1])
    assert again["version"] == "hybrid"
    assert (again["info_hash_v1"], again["info_hash_v2"]) == (summary["info_hash_v1"], summary["info_hash_v2"])
    assert again["name"] == "btref-sample"


def test_magnet_of_without_magnet_module(made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torrent = common.load_torrent(made, "info")
    monkeypatch.setitem(sys.modules, "btref.magnet", None)
    assert info.magnet_of(torrent) is None
    lines = info.describe(info.torrent_summary(torrent))
    assert lines[0].startswith("Name:") and not any(line.startswith("Magnet") for line in lines)


def test_info_invalid_magnet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "info", "magnet:?dn=no-hash")
    assert code == 2 and out == ""
    assert err.startswith("btref: invalid magnet link: ") and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"", b"not bencoding", b"d4:infoi3ee", b"li1ei2ee", b"d8:announce3:abce"])
def test_info_invalid_torrent(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    bad = tmp_path / "bad.torrent"
    bad.write_bytes(content)
    code, out, err = run(capsys, "info", bad)
    assert code == 2 and out == ""
    assert err.startswith("btref: invalid torrent: ") and err.count("\n") == 1


def test_info_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "info", tmp_path / "absent.torrent")
    assert code == 2
    assert err == f"btref: cannot access {tmp_path / 'absent.torrent'}: No such file or directory\n"
    code, _, err = run(capsys, "info", tmp_path)  # a folder is not a torrent file
    assert code == 2 and err.startswith("btref: cannot access") and err.count("\n") == 1


def test_info_on_libtorrents_test_torrents(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every one of libtorrent's 108 test torrents gives a summary or one line, never a traceback."""
    expected = json.loads((vectors / "libtorrent-test-torrents" / "EXPECTED.json").read_text())
    seen = 0
    for item in expected["torrents"]:
        path = vectors / "libtorrent-test-torrents" / item["file"]
        for argv in (("info", path), ("info", path, "--json")):
            code, out, err = run(capsys, *argv)
            assert code in (0, 2), (item["file"], err)
            if code == 2:
                assert err.startswith("btref: ") and err.count("\n") == 1, (item["file"], err)
            else:
                assert out and not err, item["file"]
        seen += 1
    assert seen >= 100


# -- verify ----------------------------------------------------------------------------


def test_verify_good(made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", made, tmp_path)
    assert code == 0
    assert out == "6 of 6 pieces good\nall good: this data can seed the torrent\n"


def test_verify_finds_a_flipped_byte(made: Path, tmp_path: Path, sample: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = sample / "data" / "verse.txt"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(data)
    code, out, _ = run(capsys, "verify", made, tmp_path)
    assert code == 1
    assert "5 of 6 pieces good" in out
    assert "bad:     1 (pieces 5)" in out
    assert out.endswith("files with bad or missing pieces:\n  btref-sample/data/verse.txt\n")


def test_verify_missing_file(made: Path, tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (sample / "data" / "numbers.bin").unlink()
    code, out, _ = run(capsys, "verify", made, tmp_path)
    assert code == 1
    assert "missing: 3 (pieces 1-3): file absent or too short" in out
    assert "  btref-sample/data/numbers.bin" in out and "verse.txt" not in out


def test_verify_missing_data_dir(made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "verify", made, tmp_path / "nowhere")
    assert code == 2 and "does not exist or is not a folder" in err


def test_verify_bad_torrent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.torrent"
    bad.write_bytes(b"d4:info")
    code, _, err = run(capsys, "verify", bad, tmp_path)
    assert code == 2 and err.startswith("btref: invalid torrent: ")


def test_verify_progress_on_a_terminal(made: Path, tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    torrent = common.load_torrent(made, "verify")
    screen = Terminal()
    report = verify.check(torrent, tmp_path, progress=screen)
    assert report.good.count == 6
    assert screen.getvalue().endswith("\r6/6 pieces checked\n")
    quiet = io.StringIO()  # not a terminal: nothing
    verify.check(torrent, tmp_path, progress=quiet)
    assert quiet.getvalue() == ""


def test_files_of_skips_pads_and_empty_files(made: Path) -> None:
    torrent = common.load_torrent(made, "verify")
    assert verify.files_of(torrent, []) == []
    assert verify.files_of(torrent, list(range(torrent.num_pieces))) == [
        "btref-sample/README.txt", "btref-sample/data/numbers.bin", "btref-sample/data/verse.txt"]


# -- plugins ---------------------------------------------------------------------------


def test_plugins_lists_families(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    assert "hashes (hooks: btref_verify_piece, btref_piece_hasher)" in out
    sha1 = next(line for line in out.splitlines() if line.strip().startswith("sha1 "))
    assert sha1.endswith("[btref]")
    assert "observers (hooks:" in out


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"hashes", "pickers", "chokers", "discovery", "observers"}
    sha1 = next(p for p in data["hashes"] if p["name"] == "sha1")
    assert sha1["package"] == "btref" and sha1["entry_point"] == "btref_hashes.sha1:SHA1"


def test_plugins_warns_about_broken_ones(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    dist = tmp_path / "btref_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: btref-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[btref]\nbroken = btref_broken_nowhere:Plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, err = run(capsys, "plugins")
    assert code == 0 and "sha1" in out
    assert err.startswith("btref: warning: plugin broken (btref_broken_nowhere:Plugin): cannot be loaded")


# -- conformance -----------------------------------------------------------------------

SUITE_CONFTEST = '''
def pytest_addoption(parser):
    parser.addoption("--hash-scheme", action="append", default=[])
'''

SUITE_TEST = '''
from btref import plugins

def test_named_schemes_are_installed(request):
    names = request.config.getoption("--hash-scheme") or sorted(plugins.available()["hashes"])
    for name in names:
        assert plugins.find("hashes", name).family == "hashes"

def test_other():
    assert {verdict}
'''


@pytest.fixture
def suites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "conformance"
    (root / "hashes").mkdir(parents=True)
    (root / "hashes" / "conftest.py").write_text(SUITE_CONFTEST)
    monkeypatch.setenv("BTREF_CONFORMANCE_DIR", str(root))
    return root


def test_conformance_runs_the_suite(suites: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (suites / "hashes" / "test_contract.py").write_text(SUITE_TEST.format(verdict="True"))
    assert cli.main(["conformance", "hashes", "sha1"]) == 0
    out = capfd.readouterr().out
    assert "--hash-scheme sha1" in out and "2 passed" in out


def test_conformance_failure_is_pytests_status(suites: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (suites / "hashes" / "test_contract.py").write_text(SUITE_TEST.format(verdict="False"))
    assert cli.main(["conformance", "hashes", "-x", "-k", "other"]) == 1
    out = capfd.readouterr().out
    assert "1 failed" in out and "1 deselected" in out


def test_conformance_command_line(suites: Path) -> None:
    cmd = conformance.command("hashes", ["sha1", "merkle-sha256"], exitfirst=True, k="root")
    assert cmd[:3] == [sys.executable, "-m", "pytest"]
    assert cmd[3] == str(suites / "hashes")
    assert cmd[-7:] == ["--hash-scheme", "sha1", "--hash-scheme", "merkle-sha256", "-x", "-k", "root"]


def test_conformance_unknown_plugin(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "conformance", "hashes", "md5")
    assert code == 2 and err.startswith("btref: plugin: no hashes plugin named 'md5'")


def test_conformance_family_without_suite(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "conformance", "chokers", "tit-for-tat")
    assert code == 2
    assert err.startswith("btref: no conformance suite for chokers yet")
    assert "--choker NAME" in err and err.count("\n") == 1


def test_conformance_observers_have_no_suite(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "conformance", "observers")
    assert code == 2 and "observers plugins only listen" in err


def test_conformance_unknown_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "conformance", "colours")
    assert code == 2 and "invalid choice" in err


def test_conformance_on_the_real_hashes_suite(capfd: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BTREF_CONFORMANCE_DIR", raising=False)
    if not (conformance.suites_root() / "hashes" / "conftest.py").is_file():
        pytest.skip("no conformance/hashes suite in this checkout")
    assert cli.main(["conformance", "hashes", "sha1"]) == 0
    out = capfd.readouterr().out
    assert "--hash-scheme sha1" in out and " passed" in out and "failed" not in out


def test_conformance_default_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BTREF_CONFORMANCE_DIR", raising=False)
    assert conformance.suites_root() == Path(__file__).resolve().parent.parent / "conformance"


# -- demo ------------------------------------------------------------------------------


def test_demo_in_a_temp_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo")
    assert code == 0, err
    for n, (title, _) in enumerate(demo.STEPS, 1):
        assert f"== step {n} of {len(demo.STEPS)}: {title} ==" in out
    assert "6 of 6 pieces good" in out
    assert "it lies in piece 2" in out and "bad:     1 (pieces 2)" in out
    assert "magnet:?xt=urn:btih:" in out
    assert "btref demo --workdir lab1" in out
    assert "are gone; keep them with --workdir DIR" in out


def test_demo_workdir_keeps_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "lab1"
    code, out, _ = run(capsys, "demo", "--workdir", work)
    assert code == 0
    torrent = work / "btref-sample.torrent"
    assert torrent.is_file() and "btref demo --workdir" not in out
    # the broken byte was put back: the kept data verifies
    assert run(capsys, "verify", torrent, work)[0] == 0


def test_demo_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hashes = []
    for name in ("one", "two"):
        run(capsys, "demo", "--workdir", tmp_path / name)
        hashes.append(json.loads(run(capsys, "info", tmp_path / name / "btref-sample.torrent", "--json")[1]))
    assert hashes[0]["info_hash_v1"] == hashes[1]["info_hash_v1"]
    assert hashes[0]["info_hash_v2"] == hashes[1]["info_hash_v2"]


def test_demo_reports_a_failing_step(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def sabotage(t: demo.Tour) -> None:
        t.failures.append("sabotaged")

    monkeypatch.setattr(demo, "STEPS", [*demo.STEPS[:2], ("sabotage", sabotage)])
    code, out, err = run(capsys, "demo")
    assert code == 1 and "== step 3 of 3: sabotage ==" in out
    assert err == "btref: demo: sabotaged\n"


def test_demo_notices_a_sample_that_does_not_verify(tmp_path: Path) -> None:
    def spoil(t: demo.Tour) -> None:
        assert t.sample is not None
        (t.sample / "README.txt").write_text("changed after the torrent was made\n" * 20)

    steps = [demo.STEPS[0], demo.STEPS[1], ("spoil", spoil), demo.STEPS[3], demo.STEPS[4]]
    t = demo.tour(tmp_path, io.StringIO(), steps)
    assert t.failures == ["the fresh sample did not verify", "expected exactly piece 2 to be bad, got [0, 2]"]


def test_sample_bytes() -> None:
    assert demo.sample_bytes("x", 0) == b""
    assert len(demo.sample_bytes("x", 100)) == 100
    assert demo.sample_bytes("x", 100)[:32] == demo.sample_bytes("x", 32) != demo.sample_bytes("y", 32)


@pytest.mark.parametrize("argv", [
    ["sim", "flash-crowd", "--peers", "4", "--pieces", "4"],
    ["compare", "--picker", "rarest-first", "--peers", "4", "--pieces", "4", "--repeat", "1", "--jobs", "1"],
])
def test_without_matplotlib_plots_are_one_line_and_the_json_is_kept(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `sim` extra is optional: without matplotlib a run still writes its JSON and ends
    with one line naming the extra to install (exit 2), never a traceback."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith(("matplotlib.", "btref.sim.plots"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code, _, err = run(capsys, *argv, "--out", tmp_path / "out")
    err = "".join(line for line in err.splitlines(keepends=True) if " done: " not in line)  # compare's progress
    assert code == 2 and err.count("\n") == 1 and "pip install 'btref[sim]'" in err and "--no-plots" in err
    assert any((tmp_path / "out").glob("*.json"))


def test_a_closed_pipe_is_not_an_error() -> None:
    """`btref plugins --verbose | head -1`: the reader has gone, and btref says nothing."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # before btref starts, so its first write is certain to meet a closed pipe
    try:
        proc = subprocess.run([sys.executable, "-m", "btref", "plugins", "--verbose"], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == b""
