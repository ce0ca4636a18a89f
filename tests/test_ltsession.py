"""The shared libtorrent helpers of the interop tests (tests/ltsession.py) do what they say."""

from __future__ import annotations

import asyncio

import pytest

from tests.ltsession import LT, close_session, dht_settings, loopback_settings, until, wait_until


def test_wait_until_returns_once_the_condition_holds() -> None:
    answers = iter([False, False, True])
    wait_until(lambda: next(answers), "the third poll", poll=0)


def test_wait_until_fails_with_what_and_details() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"^nothing did not happen within 0 s; said why$"):
        wait_until(lambda: False, "nothing", timeout=0, poll=0, details=lambda: "said why")


def test_until_fails_without_details() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"^never did not happen within 0 s$"):
        asyncio.run(until(lambda: False, "never", timeout=0, poll=0))


def test_settings_are_loopback_only_and_overridable() -> None:
    settings = loopback_settings(alert_mask=0, **dht_settings("127.0.0.1:6881"))
    assert settings["listen_interfaces"] == "127.0.0.1:0" and settings["alert_mask"] == 0
    assert settings["enable_dht"] and settings["dht_bootstrap_nodes"] == "127.0.0.1:6881"
    assert not settings["enable_lsd"] and not settings["enable_outgoing_utp"]
    assert loopback_settings(6881)["listen_interfaces"] == "127.0.0.1:6881"
    assert not loopback_settings()["enable_dht"]


def test_a_session_waits_and_fails_with_its_alerts() -> None:
    side = LT()
    try:
        assert side.session.listen_port() == side.port
        asyncio.run(side.wait(lambda: True, "nothing at all"))
        failure = r"^libtorrent: a miracle did not happen within 0 s; last alerts:"
        with pytest.raises(pytest.fail.Exception, match=failure):
            asyncio.run(side.wait(lambda: False, "a miracle", timeout=0))
    finally:
        side.close()
    assert not hasattr(side, "session")


def test_close_session_removes_the_torrents(tmp_path) -> None:
    lt = pytest.importorskip("libtorrent")
    (tmp_path / "f.bin").write_bytes(bytes(20000))
    ct = lt.create_torrent(lt.list_files(str(tmp_path / "f.bin")), 16384, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(tmp_path))
    side = LT()
    try:
        side.add(lt.bencode(ct.generate()), tmp_path)
        assert len(side.session.get_torrents()) == 1
        close_session(side.session)
        assert side.session.get_torrents() == []
    finally:
        side.close()
