"""libtorrent on loopback, for the interop tests: one session recipe and bounded waits.

Every test that puts a real libtorrent 2 session next to btref (``tests/test_*libtorrent*.py``,
``test_magnet_download.py``, ``test_hostile_peer.py``, ``conformance/wire``, ``conformance/dht``)
builds it from :func:`loopback_settings`: listen on 127.0.0.1 only, no DHT, LSD, UPnP or
NAT-PMP (nothing leaves the machine), TCP only (btref has no uTP, BEP 29), plaintext only
(btref's default; ``tests/test_mse.py`` turns forced MSE/PE on), several connections from one IP (every peer here is
127.0.0.1). A test changes only what it needs (``loopback_settings(alert_mask=0)``,
``**dht_settings(...)``), so each test's session says what is special about it.

Waits poll a condition against a deadline and fail the test with a sentence (and, for a
session, libtorrent's recent alerts). The deadline only turns a hang into a failure: it is
not a timed assertion, and a slow machine merely waits longer.

libtorrent is imported when a session is made, not when this module is imported, so a
test module can import these helpers before it decides to skip without libtorrent.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "TIMEOUT", "libtorrent", "free_port", "loopback_settings", "dht_settings", "close_session",
    "wait_until", "until", "LT",
]

#: The default bound of every wait, in seconds (a hang becomes a failure after this long).
TIMEOUT = 60.0


def libtorrent() -> Any:
    """The ``libtorrent`` module; the calling test is skipped where it is not installed."""
    return pytest.importorskip("libtorrent")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for settings that need it up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_settings(port: int = 0, **overrides: Any) -> dict[str, Any]:
    """Settings of a libtorrent session that talks to btref on 127.0.0.1 only.

    ``port`` 0 lets the OS pick (read it back with ``session.listen_port()``); ``overrides``
    replace or add settings by libtorrent's names. The default alert mask keeps what the
    wait helpers quote on a failure: errors, peers, status, trackers, connections.
    """
    lt = libtorrent()
    settings: dict[str, Any] = {
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        # libtorrent tries uTP first; btref speaks TCP only.
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        # Every peer here is 127.0.0.1.
        "allow_multiple_connections_per_ip": True,
        # Plain BitTorrent: no message stream encryption (btref's default, --encryption off).
        "out_enc_policy": lt.enc_policy.disabled, "in_enc_policy": lt.enc_policy.disabled,
        "allowed_enc_level": lt.enc_level.plaintext,
        "alert_mask": lt.alert_category.error | lt.alert_category.peer | lt.alert_category.status
        | lt.alert_category.tracker | lt.alert_category.connect,
    }
    settings.update(overrides)
    return settings


def dht_settings(bootstrap: str = "") -> dict[str, Any]:
    """Overrides that turn libtorrent's DHT on among nodes that all share 127.0.0.1 (BEP 5).

    ``bootstrap`` is ``"host:port"`` of a node to join through ("" joins none). By default
    libtorrent keeps one node per IP and distrusts unverified ids; on loopback every node
    has the same IP, so those protections are turned off.
    """
    return {
        "enable_dht": True, "dht_bootstrap_nodes": bootstrap,
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False, "dht_prefer_verified_node_ids": False,
    }


def close_session(session: Any) -> None:
    """Stop ``session``: pause it and remove its torrents (dropping the last reference ends it)."""
    session.pause()
    for handle in session.get_torrents():
        session.remove_torrent(handle)


def _give_up(what: str, timeout: float, details: Callable[[], str] | None) -> None:
    more = details() if details is not None else ""
    pytest.fail(f"{what} did not happen within {timeout:g} s" + (f"; {more}" if more else ""))


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = TIMEOUT, poll: float = 0.02,
               details: Callable[[], str] | None = None) -> None:
    """Poll ``condition()`` (in this thread) until it is true; fail the test after ``timeout`` s.

    ``what`` names the awaited event in the failure message, ``details()`` adds context to it.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            _give_up(what, timeout, details)
        time.sleep(poll)


async def until(condition: Callable[[], object], what: str, *, timeout: float = TIMEOUT, poll: float = 0.05,
                details: Callable[[], str] | None = None) -> None:
    """:func:`wait_until` for a coroutine: other tasks (btref's peers, servers) run meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            _give_up(what, timeout, details)
        await asyncio.sleep(poll)


class LT:
    """A libtorrent session on a free loopback port, plus its recent alerts for failure messages."""

    def __init__(self, **overrides: Any) -> None:
        lt = libtorrent()
        self.port = free_port()
        self.session = lt.session(loopback_settings(self.port, **overrides))
        self.alerts: list[str] = []

    def add(self, data: bytes, save_path: Path) -> Any:
        """Add the torrent ``data`` (bencoded) with its files in ``save_path``; return the handle."""
        lt = libtorrent()
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(lt.bdecode(data))
        params.save_path = str(save_path)
        return self.session.add_torrent(params)

    def collect(self) -> None:
        """Move pending alerts into :attr:`alerts` (the last 40 are kept)."""
        self.alerts += [f"{a.what()}: {a.message()}" for a in self.session.pop_alerts()]
        del self.alerts[:-40]

    def recent(self, n: int = 25) -> str:
        """The last ``n`` alerts, one per line, for a failure message."""
        self.collect()
        return "last alerts:\n  " + "\n  ".join(self.alerts[-n:])

    async def wait(self, condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
        """Poll ``condition()`` until true; fail after ``timeout`` s with libtorrent's alerts."""

        def polled() -> object:
            self.collect()  # keep libtorrent's alert queue short while we wait
            return condition()

        await until(polled, f"libtorrent: {what}", timeout=timeout, details=self.recent)

    def close(self) -> None:
        """Stop the session and drop it (libtorrent then writes out what it has)."""
        close_session(self.session)
        del self.session
