"""The contract every discovery plugin keeps (see ``btref_announce`` in :mod:`btref.hookspecs`).

Each test builds the plugin by name with default parameters and talks to btref's reference
tracker (:mod:`btref.net.tracker_server`) on loopback, with ports chosen at run time.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import struct
from collections.abc import Awaitable
from typing import Any

import pytest

from btref import plugins, tracker
from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import TrackerError
from btref.net.tracker_server import serve_tracker

#: How long an announce against a tracker on this machine may take, at most.
TIME_LIMIT = 30.0
IH = b"\x5a" * 20


def req(n: int, trackers: Any = (), **kw: Any) -> AnnounceRequest:
    fields: dict[str, Any] = dict(info_hash=IH, peer_id=b"-CF0001-%012d" % n, port=9000 + n, left=100,
                                  event="started", trackers=trackers)
    return AnnounceRequest(**{**fields, **kw})


def announce(plugin: Any, request: AnnounceRequest) -> Awaitable[Any] | None:
    answer = plugin.btref_announce(request=request)
    assert answer is None or inspect.isawaitable(answer), (
        f"btref_announce must return None or an awaitable, not {type(answer).__name__}")
    return answer


async def result_of(answer: Awaitable[Any] | None) -> AnnounceResult | None:
    if answer is None:
        return None
    result = await asyncio.wait_for(answer, TIME_LIMIT)
    assert isinstance(result, AnnounceResult), f"the awaitable gave {type(result).__name__}, not AnnounceResult"
    assert all(isinstance(p, PeerAddress) for p in result.peers)
    assert result.interval > 0
    return result


def test_plugin_is_well_formed(discovery_name):
    """A discovery plugin has family "discovery", a one-line summary and a btref_announce hookimpl."""
    info = plugins.find("discovery", discovery_name)
    assert info.cls.family == "discovery" and info.summary != "(no description)"
    pm = plugins.plugin_manager({"discovery": [discovery_name]})
    assert pm.hook.btref_announce.get_hookimpls(), "the plugin implements no btref_announce"
    answers = pm.hook.btref_announce(request=req(1))
    for answer in answers:  # the hook call through pluggy keeps the None-or-awaitable rule
        assert inspect.isawaitable(answer)
        asyncio.run(result_of(answer))


def test_unknown_tracker_schemes(discovery_name):
    """With only URLs of schemes nobody speaks, the answer is None or an AnnounceResult."""
    plugin = plugins.create("discovery", discovery_name)
    asyncio.run(result_of(announce(plugin, req(1, [["gopher://example.invalid/announce"]]))))


def test_announce_against_reference_tracker(discovery_name):
    """Within the time limit, an announce resolves to an AnnounceResult; a tracker that answered knows us."""

    async def scenario() -> None:
        async with serve_tracker() as ref:
            tiers = [[ref.http_url], [ref.udp_url]]
            plugin = plugins.create("discovery", discovery_name)
            first = await result_of(announce(plugin, req(1, tiers)))
            if first is None or first.url is None:
                return  # not a tracker client (or none of its kind): nothing more to check
            assert PeerAddress("127.0.0.1", 9001) in ref.state.peers(IH), f"{first.url} did not register us"
            second = await result_of(announce(plugin, req(2, tiers)))
            assert second is not None and PeerAddress("127.0.0.1", 9001) in second.peers
            assert (second.complete or 0) + (second.incomplete or 0) == 2
            await result_of(announce(plugin, req(1, tiers, event="stopped")))
            assert PeerAddress("127.0.0.1", 9001) not in ref.state.peers(IH)

    asyncio.run(scenario())


class _ErrorTracker(asyncio.DatagramProtocol):
    """A UDP "tracker" that answers every packet with a BEP 15 error."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) >= 16:
            self.transport.sendto(tracker.udp_error(struct.unpack_from(">I", data, 12)[0], "refused"), addr)


def _closed_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failures_surface_as_tracker_error(discovery_name):
    """A plugin whose trackers all fail raises TrackerError (never another exception)."""

    async def scenario() -> None:
        async def failing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.0 200 OK\r\n\r\nd14:failure reason7:go awaye")
            writer.close()

        loop = asyncio.get_running_loop()
        http = await asyncio.start_server(failing, "127.0.0.1", 0)
        udp, _ = await loop.create_datagram_endpoint(_ErrorTracker, local_addr=("127.0.0.1", 0))
        try:
            tiers = [[f"http://127.0.0.1:{http.sockets[0].getsockname()[1]}/announce",
                      f"http://127.0.0.1:{_closed_tcp_port()}/announce"],
                     [f"udp://127.0.0.1:{udp.get_extra_info('sockname')[1]}/announce"]]
            plugin = plugins.create("discovery", discovery_name)
            try:
                result = await result_of(announce(plugin, req(1, tiers)))
            except TrackerError:
                return
            assert result is None or result.url is None, "a result claims a tracker answered, but none did"
        finally:
            udp.close()
            http.close()
            await http.wait_closed()

    asyncio.run(scenario())


def test_private_torrents(discovery_name):
    """BEP 27: a plugin marked ``public_only`` (DHT, PEX) returns None for a private torrent."""
    plugin = plugins.create("discovery", discovery_name)
    request = req(1, [["udp://127.0.0.1:1/announce"]], private=True)
    answer = announce(plugin, request)
    if getattr(plugin, "public_only", False):
        assert answer is None, "a private torrent must not be announced here (BEP 27)"
    elif answer is not None:
        try:
            asyncio.run(result_of(answer))
        except TrackerError:
            pass  # nobody listens on port 1: failing is fine, announcing was allowed
