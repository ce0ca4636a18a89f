"""Contract suite for chokers: ``pytest conformance/chokers --choker NAME``.

``--choker`` may be given several times; without it every installed plugin of the
``chokers`` family is tested. Each test gets ``choker_name`` (one per selected plugin) and
builds fresh instances with :func:`btref.plugins.create` (default parameters).

Two kinds of tests: the contract (``test_choker_contract.py``, every choker) and the
behavioural claims (``test_choker_claims.py``). A claim test is marked
``@pytest.mark.claim(NAME)`` and runs only for the chokers that declare that claim
(:mod:`btref.claims`); for the others it is deselected, so ``-k`` and the summary line show
exactly which claims were checked.
"""

from __future__ import annotations

import pytest

from btref import claims, plugins


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(name): checks one behavioural claim (btref.claims); "
                                       "runs only for the plugins that declare it")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the claim tests of chokers that do not declare the claim."""
    undeclared = [item for item in items if not _declares(item, "choker_name")]
    if undeclared:
        config.hook.pytest_deselected(items=undeclared)
        dropped = {id(item) for item in undeclared}
        items[:] = [item for item in items if id(item) not in dropped]


def _declares(item: pytest.Item, param: str) -> bool:
    """Whether ``item`` is no claim test of this suite, or its plugin declares the claim."""
    marker, callspec = item.get_closest_marker("claim"), getattr(item, "callspec", None)
    if marker is None or callspec is None or param not in callspec.params:
        return True
    try:
        return marker.args[0] in claims.declared(plugins.create("chokers", callspec.params[param]))
    except Exception:  # a broken plugin or declaration: keep the test, whose failure says why
        return True
