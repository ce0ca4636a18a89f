"""btref and Transmission swap a torrent over uTP only (BEP 29), both ways, on loopback.

Transmission speaks uTP through libutp, a second implementation beside libtorrent's. It
runs as in the interop matrix (``tests/clients.py``) with ``utp-enabled`` turned on, and
learns of btref only from the connection btref opens over uTP (no tracker, no DHT, no
PEX), so it has no TCP address of btref's to dial. btref dials with ``transport="utp"``,
which never falls back to TCP; its uTP socket's byte counters then show that the whole
torrent crossed UDP. The copy must be byte for byte the original.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from btref.net.driver import Client
from tests.clients import CLIENTS, Processes, Transmission, missing
from tests.ltsession import free_port
from tests.test_driver import make_torrent, run, same_tree

pytestmark = pytest.mark.interop

#: A few MiB: many windows' worth of packets, acks and reassembly, in a few seconds.
SIZE = 4 << 20
#: Bound of each wait: turns a hang into a failure, not a timing test.
TIMEOUT = 90.0


class TransmissionUtp(Transmission):
    """Transmission as the matrix runs it, with uTP turned on."""

    def _settings(self, work: Path, port: int, folder: Path) -> list[str]:
        argv = super()._settings(work, port, folder)
        path = work / "transmission" / "settings.json"
        settings = json.loads(path.read_text())
        settings["utp-enabled"] = True
        path.write_text(json.dumps(settings))
        return argv


@pytest.fixture
def transmission(tmp_path: Path) -> Iterator[tuple[TransmissionUtp, Processes]]:
    why = missing(CLIENTS["transmission"])
    if why is not None:
        pytest.skip(why)  # a failure under BTREF_NO_SKIPS=1 (make test)
    procs = Processes(tmp_path / "logs")
    try:
        yield TransmissionUtp(), procs
    finally:
        procs.stop_all()


async def _until(done: object, what: str, procs: Processes) -> None:
    """Poll ``done()`` until it is true; fail with Transmission's output after TIMEOUT."""
    assert callable(done)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not done():
        if procs.exited("transmission") is not None or loop.time() > deadline:
            pytest.fail(f"{what}: not done\n{procs.log('transmission')}")
        await asyncio.sleep(0.2)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_btref_downloads_from_transmission_over_utp(tmp_path: Path,
                                                     transmission: tuple[TransmissionUtp, Processes]) -> None:
    client, procs = transmission
    data, torrent, src = make_torrent(tmp_path, piece_length=1 << 18, files={"big.bin": SIZE})
    path = tmp_path / "payload.torrent"
    path.write_bytes(data)
    work = tmp_path / "transmission-work"
    work.mkdir()
    port = free_port()
    procs.start("transmission", client.seed(path, src, port, work), cwd=work, env=client.env(work))

    async def scenario() -> None:
        await _until(lambda: _listening(port), "Transmission listening", procs)
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", transport="utp",
                          peers=[f"127.0.0.1:{port}"]) as leech:
            async with asyncio.timeout(TIMEOUT):
                ok = await leech.run()
            assert ok, f"btref did not finish: {leech.error}\n{procs.log('transmission')}"
            assert leech.network._utp is not None and leech.network._utp.received > SIZE  # every block came by UDP

    run(scenario(), TIMEOUT + 30)
    assert same_tree(src, tmp_path / "dst")


def test_transmission_downloads_from_btref_over_utp(tmp_path: Path,
                                                     transmission: tuple[TransmissionUtp, Processes]) -> None:
    client, procs = transmission
    data, torrent, src = make_torrent(tmp_path, piece_length=1 << 18, files={"big.bin": SIZE})
    path = tmp_path / "payload.torrent"
    path.write_bytes(data)
    work, out = tmp_path / "transmission-work", tmp_path / "dst"
    work.mkdir()
    out.mkdir()
    port = free_port()
    procs.start("transmission", client.leech(str(path), out, port, work, ""), cwd=work, env=client.env(work))
    original = (src / "payload" / "big.bin").read_bytes()
    copy = out / "payload" / "big.bin"

    def copied() -> bool:
        return copy.is_file() and copy.stat().st_size == SIZE and copy.read_bytes() == original

    async def scenario() -> None:
        await _until(lambda: _listening(port), "Transmission listening", procs)
        async with Client(torrent, src, host="127.0.0.1", seed=True, transport="utp",
                          peers=[f"127.0.0.1:{port}"]) as seeder:
            await seeder.complete.wait()
            await _until(copied, "Transmission's download from btref over uTP", procs)
            assert seeder.network._utp is not None and seeder.network._utp.sent > SIZE  # every block went by UDP

    run(scenario(), TIMEOUT + 30)
