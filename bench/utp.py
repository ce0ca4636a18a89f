"""uTP beside TCP: one torrent between btref and libtorrent over loopback, both ways (BEP 29).

Usage::

    .venv/bin/python bench/utp.py              # 64 MiB, uTP and TCP, both directions
    .venv/bin/python bench/utp.py --size 16 --transports utp

libtorrent runs in this process (its own threads), set to one transport only: for uTP
``enable_outgoing_tcp``/``enable_incoming_tcp`` off and uTP on, for TCP the other way round;
btref's client gets ``transport=`` the same. The clock runs from the moment the leecher is
told about the seeder until every piece is verified; the seeder's recheck is not counted.
Reported: MB/s (torrent bytes / wall seconds) and the process's CPU seconds (btref and
libtorrent together) per run. Files are compared byte for byte. Nothing is asserted;
numbers depend on the machine (see docs/core/utp.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from btref.net.driver import Client  # noqa: E402
from tests.ltsession import LT  # noqa: E402
from tests.test_driver import make_torrent, same_tree  # noqa: E402

ONLY = {
    "utp": {"enable_outgoing_tcp": False, "enable_incoming_tcp": False,
            "enable_outgoing_utp": True, "enable_incoming_utp": True},
    "tcp": {"enable_outgoing_tcp": True, "enable_incoming_tcp": True},
}


async def from_libtorrent(tmp: Path, size: int, transport: str) -> tuple[float, float]:
    lts = LT(**ONLY[transport])
    try:
        data, torrent, src = make_torrent(tmp, piece_length=1 << 20, files={"big.bin": size})
        handle = lts.add(data, src)
        await lts.wait(lambda: handle.status().is_seeding, "recheck", 300)
        wall, cpu = time.monotonic(), time.process_time()
        async with Client(torrent, tmp / "dst", host="127.0.0.1", transport=transport,
                          peers=[f"127.0.0.1:{lts.port}"]) as leech:
            if not await leech.run():
                raise SystemExit(f"btref did not finish: {leech.error}")
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        assert same_tree(src, tmp / "dst")
        return wall, cpu
    finally:
        lts.close()


async def to_libtorrent(tmp: Path, size: int, transport: str) -> tuple[float, float]:
    lts = LT(**ONLY[transport])
    try:
        data, torrent, src = make_torrent(tmp, piece_length=1 << 20, files={"big.bin": size})
        async with Client(torrent, src, host="127.0.0.1", seed=True, transport=transport) as seeder:
            await seeder.complete.wait()
            wall, cpu = time.monotonic(), time.process_time()
            handle = lts.add(data, tmp / "dst")
            handle.connect_peer(("127.0.0.1", seeder.port))
            await lts.wait(lambda: handle.status().is_seeding, "download from btref", 600)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        assert same_tree(src, tmp / "dst")
        return wall, cpu
    finally:
        lts.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="MiB to move each way (default 64)")
    parser.add_argument("--transports", default="utp,tcp", help="comma-separated: utp, tcp")
    args = parser.parse_args()
    size = args.size << 20
    print(f"{'direction':<24} {'transport':<9} {'MB/s':>8} {'wall s':>8} {'CPU s':>8}")
    for name, scenario in (("libtorrent -> btref", from_libtorrent), ("btref -> libtorrent", to_libtorrent)):
        for transport in args.transports.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                wall, cpu = asyncio.run(scenario(Path(tmp), size, transport))
            print(f"{name:<24} {transport:<9} {size / wall / 1e6:8.1f} {wall:8.2f} {cpu:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
