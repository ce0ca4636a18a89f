"""btref.net.throttle against real clients: a limited btref seed splits its upload by shares
between two libtorrent leechers on loopback.

The seed dials both leechers, so each btref connection key is ``("127.0.0.1", port)`` with the
port a leecher listens on: that is how the choker's shares name libtorrent session A or B.
The leechers know only the seed (no tracker, DHT, LSD, and PEX turned off on their side, since
btref's seed sends PEX), so all they receive comes from btref; the test checks that they
uploaded nothing. The timing checks are bounds with generous margins, not a benchmark: a
slow machine only makes the download take longer, which none of them forbids.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from btref.net.driver import Client
from btref.net.throttle import BATCH_SECONDS
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree
from tests.test_throttle import FixedShares

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop

KiB, MiB = 1024, 1024 * 1024
RATE = 256 * KiB
#: What the token bucket may let out beyond ``RATE * elapsed``: a quarter second's burst
#: after idle time plus one batch (at least one 16 KiB block) sent before it is paid for
#: (btref.net.throttle), doubled.
ALLOWANCE = 2 * (RATE / 4 + max(RATE * BATCH_SECONDS, 16 * KiB))
#: The window over which the shares are compared, while both leechers still want data
#: (A alone needs 1 MiB / (3/4 * RATE) = 5.3 s at its share).
WINDOW = 2.5


def add_leecher(side: LT, data: bytes, save_path: Path) -> Any:
    """Add the torrent to ``side`` with PEX off, so the leecher never learns of the other one."""
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(lt.bdecode(data))
    params.save_path = str(save_path)
    params.flags |= lt.torrent_flags.disable_pex
    return side.session.add_torrent(params)


def test_limited_seed_splits_its_upload_between_libtorrent_leechers(tmp_path: Path) -> None:
    data, torrent, src = make_torrent(tmp_path, files={"big.bin": 1 * MiB}, piece_length=64 * KiB)
    got: dict[str, Any] = {}

    async def scenario() -> None:
        sides: list[LT] = []  # every session made here is closed here
        try:
            side_a = LT()
            sides.append(side_a)
            side_b = LT()
            sides.append(side_b)
            handle_a = add_leecher(side_a, data, tmp_path / "a")
            handle_b = add_leecher(side_b, data, tmp_path / "b")
            for side, handle in ((side_a, handle_a), (side_b, handle_b)):
                # libtorrent refuses a peer while the torrent checks its (empty) files or is
                # still paused (a new torrent is, until its auto-managed queue starts it).
                await side.wait(lambda h=handle: (s := h.status()).state == lt.torrent_status.downloading
                                and not s.paused, "torrent ready to download")
            key_a, key_b = ("127.0.0.1", side_a.port), ("127.0.0.1", side_b.port)
            loop = asyncio.get_running_loop()
            began = loop.time()  # before the seed exists: no byte can have left yet
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                      peers=[f"127.0.0.1:{side_a.port}", f"127.0.0.1:{side_b.port}"],
                                      choker=FixedShares(key_a), upload_limit=RATE) as seeder:
                # Both connected and interested: the choker has given its shares to both.
                await side_a.wait(lambda: seeder.uplink is not None
                                  and seeder.uplink.shares.keys() == {key_a, key_b}, "both leechers unchoked")
                peers = seeder.engine.peers
                got["ids"] = [seeder.links[k].peer_id for k in (key_a, key_b)]
                start_a, start_b = peers[key_a].bytes_uploaded, peers[key_b].bytes_uploaded
                start_total = seeder.uploaded
                window_began = loop.time()
                await asyncio.sleep(WINDOW)
                got["window"] = loop.time() - window_began
                got["a"] = peers[key_a].bytes_uploaded - start_a
                got["b"] = peers[key_b].bytes_uploaded - start_b
                got["window_total"] = seeder.uploaded - start_total
                for side, handle in ((side_a, handle_a), (side_b, handle_b)):
                    await side.wait(lambda h=handle: h.status().is_seeding, "download from the limited seed")
                got["elapsed"] = loop.time() - began
                got["uploaded"] = seeder.uploaded
            got["leechers_uploaded"] = [h.status().total_payload_upload for h in (handle_a, handle_b)]
        finally:
            for side in sides:
                side.close()

    run(scenario(), 120)
    print(f"A {got['a']} B {got['b']} ratio {got['a'] / max(got['b'], 1):.2f} in {got['window']:.2f} s; "
          f"all {got['uploaded']} bytes in {got['elapsed']:.2f} s")
    # The keys name the right clients: the seed dialled the libtorrent sessions' ports.
    assert all(pid is not None and pid.startswith(b"-LT") for pid in got["ids"]), got["ids"]
    # What A and B received came from btref alone.
    assert got["leechers_uploaded"] == [0, 0], got
    assert got["b"] > 0, got  # served, not starved
    assert got["a"] >= 2 * got["b"], got  # three shares to one, with room to spare
    # The limit holds over the window and over the whole run (lower bounds on the time taken).
    assert got["window_total"] <= RATE * got["window"] + ALLOWANCE, got
    assert got["uploaded"] >= 2 * torrent.total_length, got
    assert got["elapsed"] >= (got["uploaded"] - ALLOWANCE) / RATE, got
    assert same_tree(src, tmp_path / "a") and same_tree(src, tmp_path / "b")
