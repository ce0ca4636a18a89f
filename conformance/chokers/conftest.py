"""Contract suite for chokers: ``pytest conformance/chokers --choker NAME``.

``--choker`` may be given several times; without it every installed plugin of the
``chokers`` family is tested. Each test gets ``choker_name`` (one per selected plugin) and
builds fresh instances with :func:`btref.plugins.create` (default parameters).
"""

from __future__ import annotations

import pytest

from btref import plugins


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--choker", action="append", default=None, metavar="NAME",
        help="choker plugin to run the chokers conformance suite on (repeatable; default: all installed)",
    )


def selected_chokers(config: pytest.Config) -> list[str]:
    # getoption with a default: this conftest may load after the command line was parsed.
    names = config.getoption("choker", default=None)
    installed = sorted(plugins.available()["chokers"])
    unknown = [n for n in names or () if n not in installed]
    if unknown:
        raise pytest.UsageError(f"no chokers plugin named {', '.join(unknown)} (installed: {', '.join(installed)})")
    return list(names) if names else installed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "choker_name" in metafunc.fixturenames:
        metafunc.parametrize("choker_name", selected_chokers(metafunc.config))
