"""Options and the ``krpc_target`` fixture of the KRPC conformance suite (BEP 5).

Without options the scenarios run against a btref node (started in a thread on loopback)
and against a libtorrent session with its DHT on. With ``--krpc-target HOST:PORT`` they
run against that running DHT node instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

Address = tuple[str, int]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dht", "KRPC conformance (conformance/dht)")
    group.addoption("--krpc-target", metavar="HOST:PORT", default=None,
                    help="run the KRPC scenarios against the DHT node listening there")


def _option(config: pytest.Config) -> str | None:
    try:  # the option exists only when this conftest was loaded at start-up
        return config.getoption("--krpc-target")
    except ValueError:
        return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "krpc_target" in metafunc.fixturenames:
        kinds = ["given"] if _option(metafunc.config) else ["btref", "libtorrent"]
        metafunc.parametrize("krpc_target", kinds, indirect=True)


@pytest.fixture(scope="module")
def _btref_node() -> Iterator[Address]:
    from btref_discovery.dht.io import DHTServer

    loop = asyncio.new_event_loop()
    server = DHTServer(query_timeout=1.0)
    address = loop.run_until_complete(server.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield address
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def _libtorrent_node() -> Iterator[Address]:
    lt = pytest.importorskip("libtorrent")
    from tests.ltsession import close_session, dht_settings, loopback_settings, wait_until

    session = lt.session(loopback_settings(**dht_settings(), alert_mask=0))
    try:
        wait_until(session.is_dht_running, "libtorrent's DHT socket", timeout=10, poll=0.025)
        yield "127.0.0.1", session.listen_port()
    finally:
        close_session(session)
        del session


@pytest.fixture
def krpc_target(request: pytest.FixtureRequest) -> Address:
    if request.param == "btref":
        return request.getfixturevalue("_btref_node")
    if request.param == "libtorrent":
        return request.getfixturevalue("_libtorrent_node")
    host, _, port = _option(request.config).rpartition(":")
    return host.strip("[]"), int(port)
