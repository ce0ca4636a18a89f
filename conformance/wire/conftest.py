"""Options and the ``target`` fixture of the peer wire conformance suite.

Without options the scenarios run twice: against btref's own Connection in memory and
against a libtorrent seeder started on loopback. With ``--wire-target HOST:PORT
--wire-torrent FILE`` they run against that running client, which must seed FILE.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .targets import MemoryTarget, SocketTarget, TorrentFacts, libtorrent_seeder


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wire", "peer wire conformance (conformance/wire)")
    group.addoption("--wire-target", metavar="HOST:PORT", default=None,
                    help="run the wire scenarios against the client listening there")
    group.addoption("--wire-torrent", metavar="FILE", default=None,
                    help="the .torrent the --wire-target client seeds")


def _option(config: pytest.Config, name: str) -> str | None:
    # The hook above only runs when this conftest is an initial one (pytest conformance/wire);
    # under a plain `pytest` the options do not exist, which means "not given".
    try:
        return config.getoption(name)
    except ValueError:
        return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        kinds = ["given"] if _option(metafunc.config, "--wire-target") else ["btref", "libtorrent"]
        metafunc.parametrize("target", kinds, indirect=True)


@pytest.fixture(scope="module")
def _libtorrent(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("libtorrent")
    with libtorrent_seeder(tmp_path_factory.mktemp("lt-seed")) as target:
        yield target


@pytest.fixture
def target(request: pytest.FixtureRequest):
    if request.param == "btref":
        return MemoryTarget()
    if request.param == "libtorrent":
        return request.getfixturevalue("_libtorrent")
    address, torrent = _option(request.config, "--wire-target"), _option(request.config, "--wire-torrent")
    if not torrent:
        pytest.fail("--wire-target needs --wire-torrent FILE (the torrent the target seeds)")
    host, _, port = address.rpartition(":")
    return SocketTarget(host.strip("[]"), int(port), TorrentFacts.from_torrent(Path(torrent).read_bytes()), address)
