"""Contract suite for discovery plugins: ``pytest conformance/discovery --discovery NAME``.

``--discovery`` may be given several times; without it every installed plugin of the
``discovery`` family is tested. Each test gets ``discovery_name`` (one per selected plugin)
and builds fresh instances with :func:`btref.plugins.create` (default parameters).
"""

from __future__ import annotations

import pytest

from btref import plugins


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--discovery", action="append", default=None, metavar="NAME",
        help="discovery plugin to run the discovery conformance suite on (repeatable; default: all installed)",
    )


def selected_discovery(config: pytest.Config) -> list[str]:
    # getoption with a default: this conftest may load after the command line was parsed.
    names = config.getoption("discovery", default=None)
    installed = sorted(plugins.available()["discovery"])
    unknown = [n for n in names or () if n not in installed]
    if unknown:
        raise pytest.UsageError(f"no discovery plugin named {', '.join(unknown)} (installed: {', '.join(installed)})")
    return list(names) if names else installed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "discovery_name" in metafunc.fixturenames:
        metafunc.parametrize("discovery_name", selected_discovery(metafunc.config))
