"""btref.net.throttle: the driver's upload limit on real loopback sockets, split by shares.

Timing here is a correctness check of the limit with generous bounds, not a benchmark.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from btref.actions import ReadBlock
from btref.hookspecs import hookimpl
from btref.net.driver import Client
from btref.net.throttle import LimitedUplink, TokenBucket
from tests.test_driver import leftover_tasks, make_torrent, run, same_tree

KiB, MiB = 1024, 1024 * 1024


class FixedShares:
    """A choker unchoking every interested peer, with share 3 for ``favourite``, 1 for others."""

    family = "chokers"
    name = "fixed-shares"

    def __init__(self, favourite: object) -> None:
        self.favourite = favourite

    @hookimpl
    def btref_rechoke(self, swarm, peers, now):
        return {p.key: (3.0 if p.key == self.favourite else 1.0) for p in peers if p.peer_interested}


def test_limited_seed_serves_at_about_the_limit(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, files={"big.bin": 2 * MiB}, piece_length=256 * KiB)
    dst = tmp_path / "dst"
    timing: dict[str, float] = {}

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                  upload_limit=512 * KiB) as seeder:
            async with Client(torrent, dst, host="127.0.0.1", discovery=(),
                                      peers=[f"127.0.0.1:{seeder.port}"]) as leech:
                start = leech.loop.time()
                assert await leech.run()
                timing["elapsed"] = leech.loop.time() - start
        assert not leftover_tasks()

    run(scenario())
    assert same_tree(src, dst)
    # 2 MiB at 512 KiB/s is 4 s, less a quarter second's burst: well above 3 s unless the
    # limit leaks (unlimited, loopback moves it in a fraction of a second).
    assert timing["elapsed"] >= 3.0, timing


def test_shares_split_the_limited_upload(tmp_path: Path) -> None:
    """Two leechers that know only the seed; the seed's choker gives A three shares, B one."""
    _, torrent, src = make_torrent(tmp_path, files={"big.bin": 4 * MiB}, piece_length=64 * KiB)
    got: dict[str, int] = {}

    async def scenario() -> None:
        a = await Client(torrent, tmp_path / "a", host="127.0.0.1", discovery=()).start()
        b = await Client(torrent, tmp_path / "b", host="127.0.0.1", discovery=()).start()
        key_a, key_b = ("127.0.0.1", a.port), ("127.0.0.1", b.port)
        try:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                      peers=[f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"],
                                      choker=FixedShares(key_a), upload_limit=512 * KiB) as seeder:
                while not (seeder.uplink and seeder.uplink.shares.keys() == {key_a, key_b}):
                    await asyncio.sleep(0.05)  # both connected and interested; bounded by run()
                engine = seeder.engine
                start_a, start_b = (engine.peers[k].bytes_uploaded for k in (key_a, key_b))
                await asyncio.sleep(3.0)
                got["a"] = engine.peers[key_a].bytes_uploaded - start_a
                got["b"] = engine.peers[key_b].bytes_uploaded - start_b
                got["total"] = got["a"] + got["b"]
        finally:
            await a.stop()
            await b.stop()

    run(scenario())
    assert got["b"] > 0  # served, not starved
    assert got["a"] >= 2 * got["b"], got
    assert got["total"] <= 3.0 * 512 * KiB * 1.5, got  # and the two together keep the limit


def test_stop_does_not_wait_for_the_limit(tmp_path: Path) -> None:
    """A slow limit and a leecher with many blocks queued: stopping returns at once."""
    _, torrent, src = make_torrent(tmp_path, files={"big.bin": 1 * MiB}, piece_length=256 * KiB)

    async def scenario() -> float:
        seeder = await Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                      upload_limit=16 * KiB).start()
        leech = await Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(),
                                     peers=[f"127.0.0.1:{seeder.port}"]).start()
        try:
            while seeder.uploaded < 32 * KiB:  # the limit is in force
                await asyncio.sleep(0.05)
        finally:
            began = seeder.loop.time()
            await seeder.stop()
            took = seeder.loop.time() - began
            await leech.stop()
        assert not leftover_tasks()
        return took

    assert run(scenario()) < 10.0  # bounded by the announce timeout at worst, never the 64 s of the limit


def test_upload_limit_must_be_positive(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)
    with pytest.raises(ValueError, match="upload_limit"):
        Client(torrent, src, upload_limit=0)


# -- LimitedUplink without sockets: the order blocks leave in ---------------------------------


def served_order(reads: list[ReadBlock], shares: tuple = ()) -> list:
    order: list = []

    async def scenario() -> None:
        async def serve(batch):
            order.extend(r.key for r in batch)
            if len(order) == len(reads):
                uplink.close()
            return sum(r.length for r in batch)

        uplink = LimitedUplink(1e9, serve)  # fast: the order is the point here
        uplink.set_shares(shares)
        uplink.queue(reads)
        await asyncio.wait_for(uplink.run(), 5)

    asyncio.run(scenario())
    return order


def test_uplink_round_robin_keeps_each_connection_fifo() -> None:
    reads = [ReadBlock(k, i, 0, 16 * KiB) for k in "ab" for i in range(3)]
    order = served_order(reads)
    assert order == ["a", "b"] * 3


def test_uplink_follows_the_shares() -> None:
    reads = [ReadBlock(k, i, 0, 16 * KiB) for k in "ab" for i in range(8)]
    order = served_order(reads, (("a", 3.0), ("b", 1.0)))
    assert order[:8].count("a") == 6  # three to one while both are busy


def test_uplink_forgets_a_closed_connection() -> None:
    async def scenario() -> list:
        sent: list = []

        async def serve(batch):
            sent.extend(batch)
            return 0

        uplink = LimitedUplink(1e9, serve)
        uplink.queue([ReadBlock("a", 0, 0, 10), ReadBlock("b", 0, 0, 10)])
        uplink.forget("a")
        task = asyncio.create_task(uplink.run())
        while not sent:
            await asyncio.sleep(0)
        uplink.close()
        await asyncio.wait_for(task, 5)
        return sent

    assert [r.key for r in asyncio.run(scenario())] == ["b"]


def test_token_bucket_still_importable_from_the_demo() -> None:
    from btref.net import swarm_demo

    assert swarm_demo.TokenBucket is TokenBucket


# -- the download limit: the token accounting on a clock of the test's own -----------------


@settings(max_examples=50)
@given(rate=st.integers(1_000, 10_000_000), reads=st.lists(st.integers(0, 256 * KiB), min_size=1, max_size=200))
def test_download_limit_accounting_on_a_simulated_clock(rate: int, reads: list[int]) -> None:
    """A reader that reads again as soon as the bucket lets it: by the time of each read,
    the bytes paid for before it are at most the burst plus ``rate`` times the time gone,
    and (never idle) at least ``rate`` times it."""
    bucket = TokenBucket(rate, burst=rate / 4)
    now = paid = 0.0
    for n in reads:
        assert rate * now - 1e-6 * rate <= paid <= rate / 4 + rate * now + 1e-6 * rate
        now += bucket.spend(n, now)
        paid += n
    assert bucket.spent == sum(reads)


def test_download_limit_charges_every_payload_byte(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, files={"one.bin": 256 * KiB}, piece_length=64 * KiB)

    async def scenario() -> tuple[int, int]:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seeder:
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(),
                              peers=[f"127.0.0.1:{seeder.port}"], download_limit=4 * MiB) as leech:
                assert await leech.run(), leech.error
                assert leech.network.downlink is not None
                return leech.network.downlink.spent, leech.downloaded

    spent, downloaded = run(scenario())
    assert spent == downloaded >= 256 * KiB
    assert same_tree(src, tmp_path / "dst")


def test_download_limit_must_be_positive(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)
    with pytest.raises(ValueError, match="download_limit"):
        Client(torrent, src, download_limit=0)
