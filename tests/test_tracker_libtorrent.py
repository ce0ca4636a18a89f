"""libtorrent announces to btref's reference tracker, over HTTP and over UDP (interop, loopback).

A real libtorrent session seeds a tiny torrent whose only tracker is ours; the test waits
until our tracker has registered libtorrent's address, then checks that a scrape (ours,
and libtorrent's own ``scrape_tracker``) counts it as a seed.
"""

from __future__ import annotations

import asyncio

import pytest

from btref.net.tracker_server import serve_tracker
from tests.ltsession import close_session, loopback_settings, until

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop


def make_torrent(folder, tracker_url: str) -> bytes:
    data = folder / "hello.bin"
    data.write_bytes(bytes(range(256)) * 256)  # 64 KiB, four 16 KiB pieces
    ct = lt.create_torrent(lt.list_files(str(data)), 16384, flags=lt.create_torrent.v1_only)
    ct.add_tracker(tracker_url, 0)
    lt.set_piece_hashes(ct, str(folder))
    return lt.bencode(ct.generate())


def session() -> lt.session:
    return lt.session(loopback_settings(
        announce_to_all_trackers=True, announce_to_all_tiers=True,
        ssrf_mitigation=False,  # it would refuse a tracker path on loopback other than /announce (our /scrape)
        alert_mask=lt.alert.category_t.all_categories,
    ))


async def lt_announces_to_us(tmp_path, kind: str) -> None:
    async with serve_tracker(interval=60) as tracker:
        url = tracker.http_url if kind == "http" else tracker.udp_url
        ti = lt.torrent_info(make_torrent(tmp_path, url))
        info_hash = bytes.fromhex(str(ti.info_hashes().v1))
        ses = session()
        params = lt.add_torrent_params()
        params.ti, params.save_path = ti, str(tmp_path)
        handle = ses.add_torrent(params)
        seen: list[str] = []

        def announced() -> object:
            seen.extend(a.message() for a in ses.pop_alerts())
            return tracker.state.peers(info_hash)

        replies: list[lt.scrape_reply_alert] = []

        def scraped() -> object:
            for alert in ses.pop_alerts():
                if isinstance(alert, lt.scrape_reply_alert):
                    replies.append(alert)
                elif isinstance(alert, lt.scrape_failed_alert):
                    pytest.fail(f"libtorrent's scrape of {url} failed: {alert.message()}")
            return replies

        try:
            # Bounded wait (not a timed assertion): libtorrent checks the file, then announces.
            await until(announced, f"libtorrent's announce to {url}", timeout=30, poll=0.025,
                        details=lambda: f"its alerts: {seen[-15:]}")
            peers = tracker.state.peers(info_hash)
            assert peers, f"libtorrent never announced to {url}; its alerts: {seen[-15:]}"
            assert peers[0].host == "127.0.0.1" and peers[0].port == ses.listen_port()
            assert tracker.state.scrape([info_hash])[info_hash].complete == 1  # a seed: left=0

            handle.scrape_tracker()
            await until(scraped, f"libtorrent's scrape of {url}", timeout=30, poll=0.025)
            reply = replies[-1]
            assert reply is not None and (reply.complete, reply.incomplete) == (1, 0)
        finally:
            close_session(ses)
            del ses


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["http", "udp"])
def test_libtorrent_announces_to_btref_tracker(tmp_path, kind):
    asyncio.run(asyncio.wait_for(lt_announces_to_us(tmp_path, kind), 120))
