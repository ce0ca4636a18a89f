"""The discovery plugins through the hook: static peers, BEP 12 tier order, the registry."""

from __future__ import annotations

import asyncio
import socket

import pytest

from btref import plugins
from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress, TierOrder
from btref.errors import PluginError, TrackerError
from btref.net.tracker_server import serve_tracker
from btref_discovery.http_tracker import HTTPTracker
from btref_discovery.static import StaticPeers
from btref_discovery.udp_tracker import UDPTracker

IH = b"\x77" * 20


def req(trackers=(), n: int = 1, **kw) -> AnnounceRequest:
    return AnnounceRequest(info_hash=IH, peer_id=b"-RF0001-%012d" % n, port=6000 + n, trackers=trackers, **kw)


def dead_url(scheme: str) -> str:
    kind = socket.SOCK_STREAM if scheme == "http" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return f"{scheme}://127.0.0.1:{s.getsockname()[1]}/announce"


def test_registered_by_name():
    found = plugins.available()["discovery"]
    assert {"http-tracker", "udp-tracker", "static"} <= set(found)
    assert found["static"].cls is StaticPeers and found["http-tracker"].cls is HTTPTracker
    assert isinstance(plugins.create("discovery", "udp-tracker", timeout_base=0.5), UDPTracker)


def test_static_peers():
    plugin = StaticPeers(["10.0.0.1:6881", "[::1]:7000"], interval=60)
    result = asyncio.run(plugin.btref_announce(request=req(private=True)))
    assert result == AnnounceResult((PeerAddress("10.0.0.1", 6881), PeerAddress("::1", 7000)), 60)
    assert StaticPeers("a:1, b:2").peers == (PeerAddress("a", 1), PeerAddress("b", 2))
    assert StaticPeers().btref_announce(request=req()) is None
    with pytest.raises(PluginError, match="static: peer 'nope' is not host:port"):
        StaticPeers(["nope"])
    with pytest.raises(PluginError, match="static has no parameter 'bogus'"):
        plugins.create("discovery", "static", bogus=1)


def test_tracker_plugins_ignore_other_schemes():
    request = req([["udp://t:1/announce"], ["wss://t/announce"]])
    assert HTTPTracker().btref_announce(request=request) is None
    assert UDPTracker().btref_announce(request=req([["http://t/announce"]])) is None


def test_hook_calls_every_plugin_and_union_of_peers():
    async def scenario():
        async with serve_tracker() as t:
            await HTTPTracker().announce(t.http_url, req(n=9))  # someone already in the swarm
            pm = plugins.plugin_manager(
                {"discovery": ["http-tracker", UDPTracker(timeout_base=1), StaticPeers(["10.9.9.9:1"])]})
            answers = pm.hook.btref_announce(request=req([[t.http_url], [t.udp_url]]))
            results = await asyncio.gather(*answers)
            found = {str(p) for r in results for p in r.peers}
            assert found == {"127.0.0.1:6009", "10.9.9.9:1"}
    asyncio.run(scenario())


def test_bep12_tiers_order_and_promotion():
    async def scenario():
        async with serve_tracker() as t:
            dead = dead_url("http")
            plugin = HTTPTracker(timeout=5)
            tiers = ((dead, t.http_url), (dead_url("http"),))
            result = await plugin.btref_announce(request=req(tiers))
            assert result.url == t.http_url
            assert plugin.tiers.orders[(IH, tiers)] == [[t.http_url, dead], [tiers[1][0]]]  # moved to the front
            # Tier 1 fails entirely: tier 2 is tried.
            async with serve_tracker() as backup:
                tiers2 = ((dead,), (backup.udp_url,))
                assert (await UDPTracker(timeout_base=1).btref_announce(request=req(tiers2))).url == backup.udp_url
    asyncio.run(scenario())


def test_all_tiers_fail():
    async def scenario():
        a, b = dead_url("udp"), dead_url("udp")
        with pytest.raises(TrackerError, match="no tracker answered: udp://.*refused.*; udp://.*refused"):
            await UDPTracker(timeout_base=1).btref_announce(request=req([[a], [b]]))
    asyncio.run(scenario())


def test_tier_order_without_plugins():
    calls: list[str] = []

    async def one(url: str) -> AnnounceResult:
        calls.append(url)
        if url != "c":
            raise TrackerError("down")
        return AnnounceResult(url=url)

    order = TierOrder()
    tiers = (("a", "b"), ("d", "c"))
    assert asyncio.run(order.announce(IH, tiers, one)).url == "c"
    assert calls == ["a", "b", "d", "c"]
    calls.clear()
    asyncio.run(order.announce(IH, tiers, one))
    assert calls == ["a", "b", "c"]  # "c" now leads its tier
