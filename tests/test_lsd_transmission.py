"""Local service discovery (BEP 14) with Transmission 3.00's LPD, both ways, on a veth pair.

Transmission cannot take part on ``lo``: it joins the group on the default interface and
turns its multicast loopback off, so nothing on its own machine ever hears it. Each test
therefore runs in a fresh network namespace (``unshare -n``: nothing on the host changes)
with a veth pair, Transmission on ``v0`` (10.9.0.1) and btref on ``v1`` (10.9.0.2), and a
route that sends the group out of ``v0``. A datagram from one address of the namespace
arriving at the other would be dropped as a martian (its source is local), hence
``accept_local``. The scenario runs as a child process inside the namespace
(:func:`inside`), which needs root; anywhere else the test fails and says so.

Transmission's LPD runs on a 5-second upkeep timer: it announces its torrents there, and
it drops every announcement that arrives before the first tick (its flood guard starts at
zero). So the btref seed starts only after Transmission's first announce was heard.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.test_lsd_ipv6 import run_in_namespace

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TR, BTREF = "10.9.0.1", "10.9.0.2"
SETUP = ("ip link set lo up && sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 "
         "net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "
         "&& ip link add v0 type veth peer name v1 "
         f"&& ip addr add {TR}/24 dev v0 && ip addr add {BTREF}/24 dev v1 "
         "&& ip link set v0 up && ip link set v1 up && ip route add 239.0.0.0/8 dev v0")


def transmission(work: Path, folder: Path, torrent: Path, port: int) -> list[str]:
    """``transmission-cli`` with LPD on, everything else that finds peers off, on ``v0``."""
    config = work / "transmission"
    config.mkdir(parents=True, exist_ok=True)
    settings = {
        "lpd-enabled": True, "dht-enabled": False, "pex-enabled": False, "utp-enabled": False,
        "port-forwarding-enabled": False, "rpc-enabled": False, "blocklist-enabled": False, "encryption": 0,
        "bind-address-ipv4": TR, "peer-port": port, "peer-port-random-on-start": False,
        "download-dir": str(folder), "incomplete-dir-enabled": False, "rename-partial-files": False,
        "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False, "message-level": 3,
    }
    (config / "settings.json").write_text(json.dumps(settings))
    return ["transmission-cli", "-g", str(config), "-p", str(port), "-w", str(folder), "-et", "-M", str(torrent)]


def inside(direction: str, tmp: str) -> None:
    """The scenario in the namespace: ``"from"`` btref downloads from Transmission, ``"to"``
    Transmission downloads from btref. Raises AssertionError when it does not hold."""
    from btref.metainfo import parse
    from btref.net.driver import Client
    from btref_discovery.lsd import LSD
    from tests.clients import Processes
    from tests.test_driver import same_tree
    from tests.test_lsd import GroupListener

    work = Path(tmp)
    torrent = parse((work / "t.torrent").read_bytes())
    processes = Processes(work / "logs")

    async def until(condition: object, what: str) -> None:
        async with asyncio.timeout(60):
            while not condition():  # type: ignore[operator]
                if processes.running and processes.exited("transmission") is not None:
                    raise AssertionError(f"transmission exited: {processes.log('transmission')}")
                await asyncio.sleep(0.05)
        print("ok:", what)

    async def btref_downloads() -> None:
        plugin = LSD(interface=BTREF, listen=0)
        async with Client(torrent, work / "out", host=BTREF, discovery=(plugin,)) as client:
            await until(lambda: plugin.socks, "btref in the group")
            processes.start("transmission", transmission(work, work / "src", work / "t.torrent", 51413))
            await until(client.complete.is_set, "btref's download from Transmission")
            assert (TR, 51413) in client.network.ids_at, client.network.ids_at  # btref dialled: it heard the announce
        assert same_tree(work / "src", work / "out")

    async def transmission_downloads() -> None:
        (work / "lt").mkdir()
        with GroupListener(6771, BTREF) as group:
            processes.start("transmission", transmission(work, work / "lt", work / "t.torrent", 51413))
            group.wait_for(torrent.info_hash)  # its first upkeep ran: from now on it listens
        print("ok: Transmission announced")
        async with Client(torrent, work / "src", host=BTREF, seed=True, discovery=(LSD(interface=BTREF, listen=0),)):
            await until(lambda: same_tree(work / "src", work / "lt"), "Transmission's download from btref")
        assert "LPD" in processes.log("transmission", tail=None)

    try:
        asyncio.run(btref_downloads() if direction == "from" else transmission_downloads())
    finally:
        processes.stop_all()


@pytest.mark.parametrize("direction", ["from", "to"])
def test_transmission_lpd(direction: str, tmp_path: Path) -> None:
    if shutil.which("transmission-cli") is None:
        pytest.fail("this test needs transmission-cli (`make clients`, or apt-get install transmission-cli)")
    from tests.test_driver import make_torrent

    data, _, src = make_torrent(tmp_path, "v1")  # Transmission 3.00 reads no BEP 52 torrent
    (tmp_path / "t.torrent").write_bytes(data)
    arguments = ", ".join(json.dumps(a) for a in (direction, os.fspath(tmp_path)))  # double quotes: sh -c '...'
    out = run_in_namespace(SETUP, f"from tests.test_lsd_transmission import inside; inside({arguments})")
    assert "ok: " in out, out
