"""Contract suite for hash-scheme plugins: ``pytest conformance/hashes --hash-scheme NAME``.

``--hash-scheme`` may be given several times; without it every installed plugin of the
``hashes`` family is tested. Each test gets ``scheme_name`` (one per selected plugin).
"""

from __future__ import annotations

import pytest

from btref import plugins

VERSIONS = ("v1", "v2", "hybrid")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hash-scheme", action="append", default=None, metavar="NAME",
        help="hash-scheme plugin to run the hashes conformance suite on (repeatable; default: all installed)",
    )


def selected_schemes(config: pytest.Config) -> list[str]:
    # getoption with a default: when pytest starts from a folder above this one, this
    # conftest may be loaded after the command line was parsed.
    names = config.getoption("hash_scheme", default=None)
    installed = sorted(plugins.available()["hashes"])
    unknown = [n for n in names or () if n not in installed]
    if unknown:
        raise pytest.UsageError(f"no hashes plugin named {', '.join(unknown)} (installed: {', '.join(installed)})")
    return list(names) if names else installed


def covers(name: str, version: str) -> bool:
    """Whether plugin ``name`` hashes torrents of ``version`` (it offers a hasher for them)."""
    scheme = plugins.create("hashes", name)
    return scheme.btref_piece_hasher(version=version, piece_length=32 * 1024) is not None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``scheme_name`` per selected plugin; with ``covered_version`` (or
    ``uncovered_version``) only the (plugin, version) pairs where that holds."""
    names = selected_schemes(metafunc.config)
    for arg, wanted in (("covered_version", True), ("uncovered_version", False)):
        if arg in metafunc.fixturenames:
            pairs = [(n, v) for n in names for v in VERSIONS if covers(n, v) is wanted]
            metafunc.parametrize(("scheme_name", arg), pairs, ids=[f"{n}-{v}" for n, v in pairs])
            return
    if "scheme_name" in metafunc.fixturenames:
        metafunc.parametrize("scheme_name", names)
