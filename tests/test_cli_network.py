"""``btref download``, ``btref seed`` and ``btref tracker`` from the command line, on loopback.

Seeds and trackers run as real subprocesses (started and stopped by each test, with
Ctrl-C as a user would); downloads run in-process through :func:`btref.cli.main`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from btref.cli import main
from tests.test_driver import make_torrent, same_tree

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def btref_process(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run ``python -m btref ARGS``; yield it and its first line of output; Ctrl-C it at the end."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A shell starts background jobs with SIGINT ignored, and a child inherits that: put Ctrl-C
    # back to its default, so the child's Python turns it into KeyboardInterrupt as in a terminal.
    proc = subprocess.Popen([sys.executable, "-m", "btref", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        yield proc, first
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when a stop hangs
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_seed_then_download_by_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, torrent, src = make_torrent(tmp_path, "hybrid")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1") as (proc, first):
        match = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        out = tmp_path / "out"
        status = main(["download", str(path), "-o", str(out), "--host", "127.0.0.1",
                       "--peer", f"127.0.0.1:{match.group(1)}", "--events", str(tmp_path / "ev.jsonl")])
        assert status == 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        rest = proc.stdout.read() if proc.stdout else ""
    assert same_tree(src, out)
    printed = capsys.readouterr()
    assert "every piece verified" in printed.out and "btref verify" in printed.out
    assert "100.0%" in printed.err  # the plain progress lines (stderr is not a terminal here)
    assert "btref: interrupted" in rest
    assert (tmp_path / "ev.jsonl").read_text().count("\n") > 3


def test_tracker_seed_download(tmp_path: Path) -> None:
    with btref_process("tracker", "--http-port", "0", "--udp-port", "0") as (tracker, first):
        url = re.search(r"(http://\S+/announce)", first)
        assert url, first
        data, _, src = make_torrent(tmp_path, "v1", trackers=(url.group(1),))
        path = tmp_path / "t.torrent"
        path.write_bytes(data)
        with btref_process("seed", str(path), str(src), "--host", "127.0.0.1") as (_, seed_line):
            assert "btref seed:" in seed_line
            assert main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1",
                         "--timeout", "60"]) == 0
        tracker.send_signal(signal.SIGINT)
        assert tracker.wait(timeout=30) == 0
        assert "stopped" in (tracker.stdout.read() if tracker.stdout else "")
    assert same_tree(src, tmp_path / "out")


def test_download_without_peers_gives_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, _ = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    assert main(["download", str(path), "-o", str(tmp_path / "out"), "--timeout", "1", "--no-trackers"]) == 2
    err = capsys.readouterr().err
    assert "download incomplete" in err and "no peers found" in err


def test_download_rejects_a_bad_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, _ = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    assert main(["download", str(path), "-o", str(tmp_path / "out"), "--peer", "nowhere"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_download_of_complete_data_exits_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, src = make_torrent(tmp_path, "v2")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    assert main(["download", str(path), "-o", str(src), "--no-trackers"]) == 0
    assert "done" in capsys.readouterr().out


def test_seed_refuses_incomplete_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    (src / "payload" / "z.bin").write_bytes(b"short")
    assert main(["seed", str(path), str(src)]) == 2
    err = capsys.readouterr().err
    assert "refusing to seed incomplete data" in err and "missing" in err


def test_seed_stops_after_a_while(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    assert main(["seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers", "--stop-after", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "btref seed:" in out and "stopped after 0.5 s" in out


def test_upload_limit_on_seed_and_download(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--upload-limit``: a 1 MiB torrent from a seed limited to 256K takes over 3 s (4 s at the limit)."""
    data, _, src = make_torrent(tmp_path, files={"one.bin": 1024 * 1024}, piece_length=64 * 1024)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                       "--upload-limit", "256K") as (proc, first):
        match = re.search(r"on 127\.0\.0\.1:(\d+); upload limited to 256\.0 KiB/s", first)
        assert match, first
        began = time.monotonic()
        status = main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                       "--peer", f"127.0.0.1:{match.group(1)}", "--upload-limit", "1M"])
        elapsed = time.monotonic() - began
    assert status == 0 and same_tree(src, tmp_path / "out")
    assert elapsed >= 3.0, elapsed  # a correctness check of the limit, not a benchmark
    assert "upload limited to 1.0 MiB/s" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0", "fast", "-1K"])
def test_upload_limit_must_be_a_size(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "t.torrent", ".", "--upload-limit", bad]) == 2  # argparse's usage error
    assert "--upload-limit" in capsys.readouterr().err


def test_seed_on_a_taken_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    data, _, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["seed", str(path), str(src), "--host", "127.0.0.1", "--port", str(port)]) == 2
    assert "btref:" in capsys.readouterr().err


def test_tracker_with_nothing_to_serve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tracker", "--http-port", "off", "--udp-port", "off"]) == 2
    assert "nothing to serve" in capsys.readouterr().err
    assert main(["tracker", "--http-port", "70000"]) == 2


@pytest.mark.parametrize("command", ["download", "seed", "tracker"])
def test_help_tells_what_to_try_next(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert "try next" in capsys.readouterr().out


def test_a_trackerless_swarm_seeded_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`btref dht` as the bootstrap node, `btref seed --dht-bootstrap` (no tracker), and
    `btref download MAGNET --dht-bootstrap` with nothing else: the download finds the seed
    through the DHT alone. Both save their DHT node state with `--dht FILE` on exit."""
    from btref.magnet import Magnet

    data, torrent, src = make_torrent(tmp_path, "hybrid")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    seed_state, leech_state = tmp_path / "seed-dht.json", tmp_path / "leech-dht.json"
    with btref_process("dht", "--host", "127.0.0.1") as (dht, dht_line):
        node = re.search(r"on (127\.0\.0\.1:\d+)", dht_line)
        assert node, dht_line
        with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                           "--dht-bootstrap", node.group(1), "--dht", str(seed_state)) as (seed, seed_line):
            assert "DHT node on 127.0.0.1:" in seed_line and "--dht-bootstrap 127.0.0.1:" in seed_line, seed_line
            uri = Magnet.from_torrent(torrent).to_uri()
            assert uri in seed_line and "tr=" not in uri and "x.pe" not in uri
            status = main(["download", uri, "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                           "--dht-bootstrap", node.group(1), "--dht", str(leech_state), "--timeout", "60"])
            assert status == 0, capsys.readouterr()
            seed.send_signal(signal.SIGINT)
            assert seed.wait(timeout=30) == 130
    assert same_tree(src, tmp_path / "out")
    for state in (seed_state, leech_state):  # each knows at least the bootstrap node
        assert node.group(1).split(":")[1] in state.read_text()


@pytest.mark.parametrize("command", ["download", "seed"])
@pytest.mark.parametrize("options, says", [
    (["--dht-bootstrap", "nowhere"], "--dht-bootstrap 'nowhere': expected HOST:PORT"),
    (["--dht-bootstrap", "no.such.host.invalid:6881"], "cannot join the DHT: cannot resolve DHT node"),
    (["--dht", "."], "--dht .: not a file in an existing folder"),
    (["--dht", "junk.json"], "not a saved DHT node state"),
])
def test_bad_dht_options_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                                      options: list[str], says: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, _, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    (tmp_path / "junk.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    where = ["-o", str(tmp_path / "out")] if command == "download" else [str(src)]
    assert main([command, str(path), *where, "--host", "127.0.0.1", "--no-trackers", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


@pytest.mark.parametrize("bad", ["0", "many", "100000000"])
def test_max_peers_must_be_a_count_the_process_can_open(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "t.torrent", ".", "--max-peers", bad]) == 2  # argparse's usage error
    assert "--max-peers" in capsys.readouterr().err


def test_discovery_option_adds_a_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--no-trackers --discovery http-tracker`: the peers come only through the named plugin."""
    with btref_process("tracker", "--http-port", "0", "--udp-port", "0") as (tracker, first):
        url = re.search(r"(http://\S+/announce)", first)
        assert url, first
        data, _, src = make_torrent(tmp_path, "v1", trackers=(url.group(1),))
        path = tmp_path / "t.torrent"
        path.write_bytes(data)
        with btref_process("seed", str(path), str(src), "--host", "127.0.0.1") as (_, seed_line):
            assert "btref seed:" in seed_line
            base = ["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers"]
            assert main([*base, "--timeout", "3"]) == 2  # no trackers, no plugin: nobody to ask
            capsys.readouterr()
            assert main([*base, "--discovery", "http-tracker", "--timeout", "60"]) == 0
    assert same_tree(src, tmp_path / "out")


@pytest.mark.parametrize("command", ["download", "seed"])
def test_unknown_discovery_plugin_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              command: str) -> None:
    data, _, src = make_torrent(tmp_path, "v1")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    where = ["-o", str(tmp_path / "out")] if command == "download" else [str(src)]
    assert main([command, str(path), *where, "--discovery", "carrier-pigeon"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "carrier-pigeon" in err and "http-tracker" in err
