"""The interop matrix: btref and five other clients swap real data over loopback TCP (BEP 3, 9, 10, 52).

For each client (aria2, Transmission, rtorrent, qBittorrent, WebTorrent; see
``tests/clients.py`` for how each one runs) and each way, btref downloads with ``btref
download`` from the client seeding, and the client downloads from ``btref seed``: a v1
torrent, a hybrid torrent, and the magnet links of both (BEP 9; the hybrid one carries
``btih`` and ``btmh``, BEP 52). The copy must be byte for byte the original.

Every peer runs as its own process (btref through its command line, as a user runs it),
on 127.0.0.1 with ports chosen at run time, in the test's temporary folder; every process
is stopped by the test that started it. Peers find each other three ways at once: the
torrent names a ``btref tracker``, a magnet link names the seed (``x.pe``), and btref dials
the other client (``--peer``), which Transmission needs: it refuses 127.x addresses from a
tracker. Waits are bounded polls that fail with the logs of both sides.

Pairs that fail because of a bug of the other client's version are expected failures
(``xfail(strict=True)``, so a fixed client turns them into failures to look at), with the
bug in the reason. The book's chapter docs/interop.md shows the matrix and its times.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from btref.io.create import create_torrent
from btref.magnet import Magnet
from btref.metainfo import parse
from tests.clients import CLIENTS, Processes, missing
from tests.ltsession import free_port
from tests.test_driver import make_data

pytestmark = pytest.mark.interop

BTREF = [sys.executable, "-m", "btref"]
#: The payload: a folder of three files (so hybrid torrents get BEP 47 pad files), 2.7 MiB.
FILES = {"big.bin": 2 * 1024 * 1024 + 12_345, "docs/readme.txt": 5_000, "docs/table.bin": 700_001}
PIECE_LENGTH = 256 * 1024
#: Bound of every wait for a download, in seconds: turns a hang into a failure, not a timing test.
TIMEOUT = float(os.environ.get("BTREF_MATRIX_TIMEOUT", "90"))

MODES = ("v1", "hybrid", "magnet", "magnet-hybrid")


@attrs.frozen
class Known:
    """A pair that fails through a bug of the other client's version, and the sign of it: a
    line in the client's output, or ``"empty pads"`` (a seed that made the BEP 47 pad files
    it does not know as empty files). The test fails as soon as the sign shows, instead of
    waiting out its timeout; a client without the bug shows no sign and passes, which a
    strict ``xfail`` turns into a failure to look at."""

    reason: str
    sign: str


_ARIA2_V2 = Known("aria2 1.36 drops the empty keys of a BEP 52 file tree when it re-encodes the info dictionary, "
                  "so it computes a wrong info hash for a hybrid torrent and fails its own check of the data "
                  "(fixed in aria2 1.37)", "Checksum error detected")
_TRANSMISSION_V2 = Known("Transmission 3.00 cannot parse a hybrid (BEP 52) torrent, from a file or from a magnet "
                         "link's metadata (fixed in Transmission 4.0)", "Failed opening torrent file")
_NO_PADS = ("does not know BEP 47 pad files: it takes them for files of the torrent, finds them missing from "
            "the seed's folder, and cannot serve the pieces that hold padding")
# (client, mode, "from"|"to") -> a bug of that client's version, not btref's.
KNOWN: dict[tuple[str, str, str], Known] = {
    **{("aria2", mode, way): _ARIA2_V2 for mode in ("hybrid", "magnet-hybrid") for way in ("from", "to")},
    ("transmission", "hybrid", "from"): _TRANSMISSION_V2,
    ("transmission", "hybrid", "to"): _TRANSMISSION_V2,
    ("transmission", "magnet-hybrid", "from"): _TRANSMISSION_V2,
    ("transmission", "magnet-hybrid", "to"): attrs.evolve(_TRANSMISSION_V2, sign="metainfo parsed 0"),
    ("rtorrent", "magnet-hybrid", "to"): Known("rtorrent 0.9.8 refuses a magnet link that carries a BEP 52 "
                                               "btmh hash besides its btih hash", "Invalid magnet URI"),
    ("rtorrent", "hybrid", "from"): Known(f"rtorrent 0.9.8 {_NO_PADS}", "empty pads"),
    ("rtorrent", "magnet-hybrid", "from"): Known(f"rtorrent 0.9.8 {_NO_PADS}", "empty pads"),
    ("webtorrent", "hybrid", "from"): Known(f"WebTorrent 1.9.7 {_NO_PADS}", "empty pads"),
    ("webtorrent", "magnet-hybrid", "from"): Known(f"WebTorrent 1.9.7 {_NO_PADS}", "empty pads"),
}


@attrs.frozen
class Swarm:
    """The shared material: the data, one torrent per version, and the tracker they name."""

    data: Path  # the folder that holds ``payload/``
    torrents: dict[str, Path]
    tracker: str

    def torrent(self, mode: str) -> Path:
        return self.torrents["hybrid" if mode.endswith("hybrid") else "v1"]

    def source(self, mode: str, seed_port: int) -> str:
        """What the downloader is given: the .torrent path, or a magnet link naming the seed."""
        path = self.torrent(mode)
        if not mode.startswith("magnet"):
            return str(path)
        magnet = Magnet.from_torrent(parse(path.read_bytes()))
        return attrs.evolve(magnet, peers=(f"127.0.0.1:{seed_port}",)).to_uri()


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    root = tmp_path_factory.mktemp("matrix")
    port = free_port()
    procs = Processes(root / "logs")
    try:
        procs.start("tracker", [*BTREF, "tracker", "--http-port", str(port), "--udp-port", "off",
                                "--interval", "5"])
        _wait_listening(port, procs, "tracker")
        tracker = f"http://127.0.0.1:{port}/announce"
        data = root / "data"
        top = make_data(data, files=FILES)
        torrents = {}
        for version in ("v1", "hybrid"):
            torrents[version] = root / f"payload-{version}.torrent"
            torrents[version].write_bytes(create_torrent(top, version=version, piece_length=PIECE_LENGTH,
                                                         trackers=[[tracker]]))
        yield Swarm(data, torrents, tracker)
    finally:
        procs.stop_all()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.stop_all()


def _wait_listening(port: int, procs: Processes, name: str, timeout: float = 30.0) -> None:
    """Poll until something accepts TCP connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{name} did not listen on port {port} within {timeout:g} s:\n{procs.log(name)}")


def _copied(src: Path, dst: Path) -> bool:
    """Every file of ``src`` is in ``dst``, byte for byte (clients may leave files of their own)."""
    for path in src.rglob("*"):
        if path.is_file():
            copy = dst / path.relative_to(src)
            if not copy.is_file() or copy.stat().st_size != path.stat().st_size or \
                    copy.read_bytes() != path.read_bytes():
                return False
    return True


def _logs(procs: Processes, *names: str) -> str:
    return "\n".join(f"--- {name} ---\n{procs.log(name)}" for name in names)


def _output(procs: Processes, name: str, work: Path) -> str:
    """What the client said: its standard output and error, and the log files it wrote."""
    return procs.log(name, tail=None) + "".join(p.read_text(errors="replace") for p in sorted(work.glob("*.log")))


def _empty_pads(data: Path, torrent: Path) -> bool:
    """The seed made the BEP 47 pad files of ``torrent`` in ``data``, shorter than they are."""
    pads = [f for f in parse(torrent.read_bytes()).files if f.pad]
    paths = [(data.joinpath(*f.path), f.length) for f in pads]
    return bool(paths) and paths[0][0].parent.is_dir() and \
        any(not path.is_file() or path.stat().st_size < length for path, length in paths)


def _pairs() -> Iterator[Any]:
    for client in CLIENTS:
        for mode in MODES:
            for way in ("from", "to"):
                known = KNOWN.get((client, mode, way))
                marks = [pytest.mark.xfail(strict=True, reason=known.reason)] if known else []
                yield pytest.param(client, mode, way, marks=marks, id=f"{way}-{client}-{mode}")


@pytest.mark.parametrize(("name", "mode", "way"), list(_pairs()))
def test_interop(name: str, mode: str, way: str, swarm: Swarm, procs: Processes, tmp_path: Path) -> None:
    """``from``: btref downloads from the client; ``to``: the client downloads from btref."""
    client = CLIENTS[name]
    why = missing(client)
    if why is not None:
        pytest.skip(why)  # a failure under BTREF_NO_SKIPS=1 (make test)
    data = tmp_path / "data"
    shutil.copytree(swarm.data, data)  # a client may write beside a seed's files (pad files, resume data)
    out = tmp_path / "out"
    out.mkdir()
    work = tmp_path / name
    work.mkdir()
    theirs, ours = free_port(), free_port()
    torrent = swarm.torrent(mode)
    if way == "from":
        procs.start(name, client.seed(torrent, data, theirs, work), cwd=work, env=client.env(work))
        _wait_listening(theirs, procs, name)
        procs.start("btref", [*BTREF, "download", swarm.source(mode, theirs), "-o", str(out), "--host", "127.0.0.1",
                              "--port", str(ours), "--peer", f"127.0.0.1:{theirs}", "--timeout", str(TIMEOUT)])
    else:
        procs.start(name, client.leech(swarm.source(mode, ours), out, theirs, work, f"127.0.0.1:{ours}"),
                    cwd=work, env=client.env(work))
        procs.start("btref", [*BTREF, "seed", str(torrent), str(data), "--host", "127.0.0.1", "--port", str(ours),
                              "--peer", f"127.0.0.1:{theirs}"])
    known = KNOWN.get((name, mode, way))

    def sign_seen() -> bool:
        if known is None:
            return False
        if known.sign == "empty pads":
            return _empty_pads(data, torrent)
        return known.sign in _output(procs, name, work)

    def finished() -> bool:  # ``btref download`` must also say so, by exiting 0
        return _copied(swarm.data, out) and (way == "to" or procs.exited("btref") == 0)

    deadline = time.monotonic() + TIMEOUT
    while not finished():
        ended = ", ".join(f"{n} exited with {p.returncode}" for n, p, _ in procs.running if p.poll() is not None)
        if known is not None and sign_seen():
            what = f"the sign of a known bug: {known.sign!r}"
        elif ended or time.monotonic() > deadline:
            what = ended or f"no copy after {TIMEOUT:g} s"
        else:
            time.sleep(0.2)
            continue
        pytest.fail(f"{way} {name}, {mode}: {what}\n" + _logs(procs, "btref", name))
