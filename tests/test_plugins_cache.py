"""The entry-point scan of :func:`btref.plugins.available` is cached per ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from btref import plugins

DIST_INFO = """\
Metadata-Version: 2.1
Name: btref-late-plugin
Version: 1.0
"""
ENTRY_POINTS = "[btref]\nlate-arrival = btref_late_plugin:Late\n"
MODULE = '''
class Late:
    """Installed while the process was already running."""

    family = "observers"
'''


def test_scans_are_reused_and_their_results_are_copies() -> None:
    first = plugins.available()
    first["hashes"].clear()  # the caller's to change: the cache must not see it
    second = plugins.available()
    assert second["hashes"] and second == plugins.available()
    assert second is not plugins.available()


def test_errors_are_reported_on_every_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dist = tmp_path / "btref_broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(DIST_INFO.replace("late", "broken"))
    (dist / "entry_points.txt").write_text("[btref]\nbroken = btref_no_such_module:Nothing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for _ in range(2):
        errors: list[str] = []
        plugins.available(errors=errors)
        assert any(e.startswith("broken (btref_no_such_module:Nothing)") for e in errors)


def _install_late_plugin(folder: Path) -> None:
    (folder / "btref_late_plugin.py").write_text(MODULE)
    dist = folder / "btref_late_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(DIST_INFO)
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)


@pytest.mark.parametrize("how", ["refresh", "cache_clear"])
def test_a_plugin_installed_later_is_seen_after_a_refresh(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))  # an existing folder of sys.path, empty for now
    assert "late-arrival" not in plugins.available()["observers"]
    _install_late_plugin(tmp_path)  # like `pip install` into site-packages
    assert "late-arrival" not in plugins.available()["observers"]  # cached
    try:
        if how == "refresh":
            found = plugins.available(refresh=True)
        else:
            plugins.available.cache_clear()
            found = plugins.available()
        assert found["observers"]["late-arrival"].package == "btref-late-plugin"
        assert plugins.find("observers", "late-arrival").summary == "Installed while the process was already running."
    finally:
        sys.modules.pop("btref_late_plugin", None)
        plugins.available.cache_clear()
