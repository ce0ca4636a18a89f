"""Contract suite for piece pickers: ``pytest conformance/pickers --picker NAME``.

``--picker`` may be given several times; without it every installed plugin of the
``pickers`` family is tested. Each test gets ``picker_name`` (one per selected plugin) and
builds fresh instances with :func:`btref.plugins.create` (default parameters).
"""

from __future__ import annotations

import pytest

from btref import plugins


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--picker", action="append", default=None, metavar="NAME",
        help="piece picker plugin to run the pickers conformance suite on (repeatable; default: all installed)",
    )


def selected_pickers(config: pytest.Config) -> list[str]:
    # getoption with a default: this conftest may load after the command line was parsed.
    names = config.getoption("picker", default=None)
    installed = sorted(plugins.available()["pickers"])
    unknown = [n for n in names or () if n not in installed]
    if unknown:
        raise pytest.UsageError(f"no pickers plugin named {', '.join(unknown)} (installed: {', '.join(installed)})")
    return list(names) if names else installed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "picker_name" in metafunc.fixturenames:
        metafunc.parametrize("picker_name", selected_pickers(metafunc.config))
