"""``btref conformance wire`` and ``dht``: the wire and KRPC graders aimed at a running client.

As an instructor grades a student's client: a real ``btref seed`` or ``btref dht`` process
on loopback (started and stopped by each test, as in ``test_cli_network.py``) is the
client, and ``btref conformance ... --target HOST:PORT`` grades it in a fresh pytest
process. Bad arguments are one line and exit status 2, before any test runs.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest

from btref.cli import main
from btref.commands import conformance
from tests.test_cli_network import btref_process
from tests.test_driver import make_data


def address(first_line: str) -> str:
    match = re.search(r"on (127\.0\.0\.1:\d+)", first_line)
    assert match, first_line
    return match.group(1)


@pytest.fixture
def lecture(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A hybrid torrent of three pieces, the last one short, and the folder holding its data."""
    data = make_data(tmp_path, "lecture", files={"lecture.bin": 2 * 32768 + 5000})
    torrent = tmp_path / "lecture.torrent"
    assert main(["create", str(data / "lecture.bin"), "-o", str(torrent), "--scheme", "hybrid",
                 "--piece-length", "32768"]) == 0
    capfd.readouterr()
    return torrent, data


def test_wire_grades_a_btref_seeder(lecture: tuple[Path, Path], tmp_path: Path,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    torrent, data = lecture
    other = tmp_path / "other.torrent"
    assert main(["create", str(make_data(tmp_path, "other", files={"o.bin": 40000})), "-o", str(other)]) == 0
    with btref_process("seed", str(torrent), str(data), "--host", "127.0.0.1") as (_, first):
        target = address(first)
        capfd.readouterr()
        assert main(["conformance", "wire", "--target", target, "--torrent", str(torrent)]) == 0
        out = capfd.readouterr().out
        assert f"--wire-target {target} --wire-torrent {torrent.resolve()}" in out
        assert re.search(r"^\d+ passed in ", out, re.M), out
        # The same client graded on a torrent it does not seed: it refuses our handshakes.
        assert main(["conformance", "wire", "--target", target, "--torrent", str(other), "-k", "handshake"]) == 1
        out = capfd.readouterr().out
        assert "target closed instead of answering the handshake" in out, out


def test_dht_grades_a_btref_node(capfd: pytest.CaptureFixture[str]) -> None:
    with btref_process("dht", "--host", "127.0.0.1") as (_, first):
        target = address(first)
        capfd.readouterr()
        assert main(["conformance", "dht", "--target", target]) == 0
        out = capfd.readouterr().out
        assert f"--krpc-target {target}" in out
        assert re.search(r"^\d+ passed in ", out, re.M), out


def test_without_target_the_suites_grade_btref_and_libtorrent() -> None:
    root = conformance.suites_root()
    for suite in ("wire", "dht"):
        assert conformance.command(suite, [], k="ping") == [
            sys.executable, "-m", "pytest", str(root / suite), "-p", "no:cacheprovider", "-q", "-k", "ping"]


def test_a_client_that_is_not_running_is_one_line(lecture: tuple[Path, Path],
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{probe.getsockname()[1]}"
    assert main(["conformance", "wire", "--target", target, "--torrent", str(lecture[0])]) == 2
    assert main(["conformance", "dht", "--target", target]) == 2
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"btref: nothing accepts connections at {target} (Connection refused); start the client and let it seed "
        f"the torrent first",
        f"btref: no DHT node answered a ping at {target} (Connection refused); start the node first (it listens "
        f"on UDP)"]


@pytest.mark.parametrize(("args", "message"), [
    (["wire", "--target", "127.0.0.1:6881"], "the wire suite needs --torrent FILE with --target"),
    (["wire", "--target", "localhost", "--torrent", "x.torrent"], "--target 'localhost': expected HOST:PORT"),
    (["wire", "--torrent", "x.torrent"], "--torrent names what the client at --target seeds"),
    (["wire", "rarest-first"], "the wire suite grades a client, not plugins"),
    (["dht", "--target", "127.0.0.1:6881", "--torrent", "x.torrent"], "the dht suite needs no torrent"),
    (["pickers", "--target", "127.0.0.1:6881"], "--target and --torrent aim the wire and dht suites at a client"),
    (["wire", "--target", "127.0.0.1:6881", "--torrent", "missing.torrent"], "missing.torrent"),
])
def test_bad_arguments_are_one_line(args: list[str], message: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["conformance", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and captured.err.count("\n") == 1, captured.err


def test_a_v2_only_torrent_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torrent = tmp_path / "v2.torrent"
    assert main(["create", str(make_data(tmp_path, files={"v.bin": 1000})), "-o", str(torrent),
                 "--scheme", "v2"]) == 0
    capsys.readouterr()
    assert main(["conformance", "wire", "--target", "127.0.0.1:6881", "--torrent", str(torrent)]) == 2
    err = capsys.readouterr().err
    assert "is a v2-only torrent" in err and "--scheme hybrid" in err and err.count("\n") == 1
