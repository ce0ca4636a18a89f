"""Local service discovery (BEP 14) between real clients on 127.0.0.1: no tracker, no DHT.

* two btref processes (``btref seed`` in a subprocess, ``btref download`` in this one) on a
  group port chosen at run time: the seed hears the download's announce and dials it;
* btref and libtorrent 2 (``enable_lsd``) on BEP 14's own port 6771, both ways: btref dials
  a libtorrent seed it heard, and libtorrent dials a btref seed it heard.

In each test the side that must *hear* is in the group first (the test waits for its
announce, or for its socket), and the other side's start-up announce is what connects
them. The plugins listen for no answers (``listen=0``), so a peer can only reach the
driver through ``AnnounceRequest.found``. Why multicast works on loopback here, and what
to do where it does not: :func:`tests.test_lsd.require_loopback_multicast`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from btref.cli import main
from btref.net.driver import Client
from btref_discovery.lsd import LSD, PORT
from tests.ltsession import LT, until
from tests.test_cli_network import btref_process
from tests.test_driver import make_torrent, run, same_tree
from tests.test_lsd import GroupListener, free_udp_port, require_loopback_multicast

pytestmark = pytest.mark.interop


def test_two_btref_processes_find_each_other(tmp_path: Path) -> None:
    require_loopback_multicast()
    data, torrent, src = make_torrent(tmp_path)
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    group_port = free_udp_port()
    lsd = f"lsd:interface=127.0.0.1,port={group_port},listen=0"
    with GroupListener(group_port) as group, btref_process(
            "seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers", "--discovery", lsd) as (_, first):
        seed_port = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert seed_port, first
        assert group.wait_for(torrent.info_hash).port == int(seed_port.group(1))  # the seed is in the group
        out = tmp_path / "out"
        assert main(["download", str(path), "-o", str(out), "--host", "127.0.0.1", "--no-trackers",
                     "--discovery", lsd, "--timeout", "60"]) == 0
    assert same_tree(src, out)


def test_btref_finds_a_libtorrent_seed(tmp_path: Path) -> None:
    """btref is in the group first; libtorrent's start-up announce makes btref dial it."""
    require_loopback_multicast()
    lt = pytest.importorskip("libtorrent")
    data, torrent, src = make_torrent(tmp_path)
    lts = LT(enable_lsd=True)  # LSD on the listen socket's interface: 127.0.0.1 only
    plugin = LSD(interface="127.0.0.1", listen=0)

    async def scenario() -> None:
        async with Client(torrent, tmp_path / "out", host="127.0.0.1", discovery=(plugin,)) as client:
            await until(lambda: plugin.socks, "btref joining the group")
            params = lt.add_torrent_params()
            params.ti = lt.torrent_info(lt.bdecode(data))
            params.save_path = str(src)
            params.flags |= lt.torrent_flags.seed_mode
            lts.session.add_torrent(params)
            await until(client.complete.is_set, "btref's download from libtorrent", details=lts.recent)
            assert ("127.0.0.1", lts.port) in client.network.ids_at  # btref dialled it: it had heard the announce

    try:
        run(scenario(), 120)
    finally:
        lts.close()
    assert same_tree(src, tmp_path / "out")


def test_libtorrent_finds_a_btref_seed(tmp_path: Path) -> None:
    """libtorrent is in the group first; btref's start-up announce makes libtorrent dial it."""
    require_loopback_multicast()
    lt = pytest.importorskip("libtorrent")
    data, torrent, src = make_torrent(tmp_path)
    lts = LT(enable_lsd=True)

    async def scenario() -> None:
        with GroupListener(PORT) as group:
            handle = lts.add(data, tmp_path / "lt")
            group.wait_for(torrent.info_hash)  # libtorrent's LSD socket is up: it announced
        async with Client(torrent, src, host="127.0.0.1", seed=True,
                          discovery=(LSD(interface="127.0.0.1", listen=0),)):
            heard: list[str] = []

            def seeding() -> bool:
                heard.extend(a for a in lts.alerts if a.startswith("lsd_peer: "))  # it heard btref by LSD
                return bool(handle.status().is_seeding)

            await lts.wait(seeding, "libtorrent's download from btref")
            assert heard, lts.recent()

    try:
        run(scenario(), 120)
    finally:
        lts.close()
    assert same_tree(src, tmp_path / "lt")
