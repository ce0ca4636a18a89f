"""The plugin registry (btref.plugins) and a real third-party plugin, installed with pip.

The third-party distribution is written to a temp folder, built by pip with the venv's
setuptools (no network: --no-index, --no-build-isolation) and installed with --target into
another temp folder; putting that folder on the path is all it takes for btref to find it,
exactly as after `pip install` of a published plugin.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest

from btref import hookspecs, plugins
from btref.errors import PluginError

DIST_NAME = "btref-piece-counter"

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "btref-piece-counter"
version = "1.0.0"
description = "A third-party btref observer plugin (test fixture)."

[project.entry-points.btref]
"piece-counter" = "btref_piece_counter:PieceCounter"
"lowest-first" = "btref_piece_counter:LowestFirst"
"broken-demo" = "btref_piece_counter_missing:Nope"
"no-family" = "btref_piece_counter:NoFamily"

[tool.setuptools]
packages = ["btref_piece_counter"]
"""

MODULE = '''\
"""A third-party observer: counts verified pieces; and a picker with a parameter."""
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param


class PieceCounter:
    """Counts verified pieces and completed torrents (a third-party example)."""

    family = "observers"

    def __init__(self, start=0):
        self.verified = start
        self.completed = 0

    @hookimpl
    def btref_piece_verified(self, torrent, index):
        self.verified += 1

    @hookimpl
    def btref_torrent_complete(self, torrent):
        self.completed += 1


class LowestFirst:
    """The lowest-numbered pieces first, after the first few (a third-party example)."""

    family = "pickers"

    def __init__(self, skip: Annotated[int, Param("pieces the peer offers that are left for last", ge=0)] = 0):
        self.skip = skip

    @hookimpl
    def btref_pick_pieces(self, swarm, peer, count):
        wanted = [i for i in range(swarm.num_pieces) if peer.has[i] and not swarm.have[i]]
        return (wanted[self.skip:] + wanted[:self.skip])[:count]


class NoFamily:
    """A class that forgot to say its family."""
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the third-party plugin distribution is installed (like site-packages)."""
    root = tmp_path_factory.mktemp("third-party")
    dist = root / "dist"
    (dist / "btref_piece_counter").mkdir(parents=True)
    (dist / "pyproject.toml").write_text(PYPROJECT)
    (dist / "btref_piece_counter" / "__init__.py").write_text(MODULE)
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(dist)],
        check=True, capture_output=True, cwd=root,
    )
    return target


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The third-party plugin visible to this process (and forgotten afterwards)."""
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("btref_piece_counter", None)


# -- a real third-party plugin ---------------------------------------------------------


def test_pip_installed_plugin_is_listed_by_btref_plugins(site: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "btref", "plugins", "--verbose"], env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.lstrip().startswith("piece-counter"))
    assert "Counts verified pieces and completed torrents (a third-party example)." in line
    assert f"[{DIST_NAME}]" in line
    # each one's parameters: declared with Annotated and Param, or only by a default value
    assert re.search(r"\n +skip +int >= 0, default 0 +pieces the peer offers that are left for last\n", result.stdout)
    assert re.search(r"piece-counter .*\n +start +int, default 0\n", result.stdout)
    # the broken entries are reported as warnings, and do not stop the listing
    assert "warning" in result.stderr
    assert "broken-demo" in result.stderr and "cannot be loaded" in result.stderr
    assert "no-family" in result.stderr and "unknown family None" in result.stderr
    assert "hashes" in result.stdout and "observers" in result.stdout


def test_third_party_plugin_found_in_process(installed: Path) -> None:
    errors: list[str] = []
    found = plugins.available(errors=errors)
    info = found["observers"]["piece-counter"]
    assert info.package == DIST_NAME
    assert info.entry_point == "btref_piece_counter:PieceCounter"
    assert info.summary.startswith("Counts verified pieces")
    assert any(e.startswith("broken-demo") for e in errors)
    assert any(e.startswith("no-family") for e in errors)
    assert plugins.find("observers", "piece-counter") == info


def test_third_party_plugin_hears_hooks(installed: Path) -> None:
    pm = plugins.plugin_manager({"observers": ["piece-counter"]})
    assert [name for name, _ in pm.list_name_plugin()] == ["observers:piece-counter"]
    counter = pm.get_plugin("observers:piece-counter")
    for index in range(3):
        pm.hook.btref_piece_verified(torrent=None, index=index)
    pm.hook.btref_torrent_complete(torrent=None)
    assert (counter.verified, counter.completed) == (3, 1)


def test_create_passes_parameters(installed: Path) -> None:
    counter = plugins.create("observers", "piece-counter", start=10)
    assert counter.verified == 10
    with pytest.raises(PluginError, match=r"no parameter 'speed'; it takes start \(int, default 0\)"):
        plugins.create("observers", "piece-counter", speed=3)


def test_third_party_parameters_from_the_command_line(installed: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from btref.cli import main

    argv = ["sim", "flash-crowd", "--peers", "2", "--pieces", "4", "--no-plots", "--out", str(tmp_path)]
    assert main([*argv, "--picker", "lowest-first:skip=2"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["picker"], metrics["picker_params"]) == ("lowest-first:skip=2", {"skip": 2})
    assert main([*argv, "--picker", "lowest-first:skip=-1"]) == 2
    assert capsys.readouterr().err == ("btref: picker lowest-first: skip=-1 is out of range (must be >= 0); "
                                       "it takes skip (int >= 0, default 0)\n")


def test_broken_plugin_is_skipped_without_errors_list(installed: Path) -> None:
    found = plugins.available()  # no errors list: failures are silent, never raised
    assert "broken-demo" not in found["observers"]
    assert "no-family" not in str(found)


# -- the registry with btref's own plugins ---------------------------------------------


def test_every_family_is_listed_even_when_empty() -> None:
    assert set(plugins.available()) == set(hookspecs.FAMILIES)


def test_builtin_hash_schemes_are_installed() -> None:
    hashes = plugins.available()["hashes"]
    for names in plugins.HASH_SCHEMES.values():
        for name in names:
            assert name in hashes
            assert hashes[name].package == "btref"


def test_find_unknown_family() -> None:
    with pytest.raises(PluginError, match="unknown plugin family 'colours'"):
        plugins.find("colours", "red")


def test_find_unknown_name_lists_installed() -> None:
    with pytest.raises(PluginError, match=r"no hashes plugin named 'md5' \(installed: .*sha1"):
        plugins.find("hashes", "md5")


def test_find_in_empty_family_says_none_installed() -> None:
    if plugins.available()["observers"]:
        pytest.skip("observer plugins are installed")  # btref ships none
    with pytest.raises(PluginError, match="none installed"):
        plugins.find("observers", "carrier-pigeon")


def test_plugin_manager_names_and_instances() -> None:
    class Listener:
        """Hears completions."""

        family = "observers"
        name = "listener"

        def __init__(self) -> None:
            self.done: list[object] = []

        @hookspecs.hookimpl
        def btref_torrent_complete(self, torrent: object) -> None:
            self.done.append(torrent)

    class Anonymous:
        @hookspecs.hookimpl
        def btref_torrent_complete(self, torrent: object) -> None:
            pass

    listener, extra = Listener(), Listener()
    pm = plugins.plugin_manager({"hashes": ["sha1"], "observers": [listener, Anonymous()]}, extra=[extra])
    assert isinstance(pm, pluggy.PluginManager)
    names = [name for name, _ in pm.list_name_plugin()]
    assert names[:3] == ["hashes:sha1", "observers:listener", "observers:Anonymous"]
    assert pm.get_plugin("observers:listener") is listener
    pm.hook.btref_torrent_complete(torrent="T")
    assert listener.done == ["T"] and extra.done == ["T"]


def test_each_manager_is_fresh() -> None:
    a = plugins.plugin_manager({"hashes": ["sha1"]})
    b = plugins.plugin_manager({"hashes": ["sha1"]})
    assert a.get_plugin("hashes:sha1") is not b.get_plugin("hashes:sha1")
    assert plugins.plugin_manager().list_name_plugin() == []


def test_unknown_plugin_in_manager_raises() -> None:
    with pytest.raises(PluginError):
        plugins.plugin_manager({"pickers": ["no-such-picker"]})


def test_firstresult_hooks_take_one_answer() -> None:
    class First:
        @hookspecs.hookimpl
        def btref_pick_pieces(self, swarm: object, peer: object, count: int) -> list[int]:
            return [1, 2][:count]

    class Second:
        @hookspecs.hookimpl
        def btref_pick_pieces(self, swarm: object, peer: object, count: int) -> list[int]:
            return [9]

    pm = plugins.plugin_manager(extra=[First(), Second()])
    # pluggy calls the last registered first; firstresult stops at the first non-None answer
    assert pm.hook.btref_pick_pieces(swarm=None, peer=None, count=2) == [9]


def test_families_match_hookspecs() -> None:
    specs = {name for name in dir(hookspecs) if name.startswith("btref_")}
    listed = [hook for hooks in hookspecs.FAMILIES.values() for hook in hooks]
    assert sorted(listed) == sorted(specs)  # every hook in exactly one family
    for name in specs:
        assert getattr(hookspecs, name).__doc__, f"hookspec {name} has no docstring"


def test_builtin_plugins_implement_only_their_familys_hooks() -> None:
    for family, infos in plugins.available().items():
        for info in infos.values():
            assert info.summary != "(no description)", f"{info.name} has no docstring summary"
            hooks = {n for n in dir(info.cls) if n.startswith("btref_")}
            assert hooks, f"{family} plugin {info.name} implements no hook"
            assert hooks <= set(hookspecs.FAMILIES[family]), f"{info.name} implements {hooks}"


def test_summary_of_undocumented_class() -> None:
    class Bare:
        pass

    assert plugins._summary(Bare) == "(no description)"


def test_plugin_manager_doctest() -> None:
    failures, tried = doctest.testmod(plugins, verbose=False)
    assert tried > 0 and failures == 0


def _chapter_example() -> dict[str, object]:
    chapter = Path(__file__).resolve().parent.parent / "docs" / "core" / "plugins.md"
    text = chapter.read_text(encoding="utf-8")
    start = text.index("<!-- example-plugin-start -->")
    end = text.index("<!-- example-plugin-end -->")
    block = text[start:end].split("```python", 1)[1].rsplit("```", 1)[0]
    namespace: dict[str, object] = {"__name__": "btref_tail_first"}
    exec(compile(textwrap.dedent(block), "plugins.md", "exec"), namespace)
    return namespace


def test_plugin_chapter_example_picks_from_the_tail() -> None:
    """The worked example in docs/core/plugins.md runs as a picker through a plugin manager."""
    strategy = pytest.importorskip("btref.views")
    tail_first = _chapter_example()["TailFirst"]
    assert tail_first.family == "pickers"
    pm = plugins.plugin_manager({"pickers": [tail_first()]})
    swarm = strategy.swarm_view(10, have=[9, 5])
    peer = strategy.peer_view("p", 10, has=[0, 2, 5, 7, 8, 9])
    assert pm.hook.btref_pick_pieces(swarm=swarm, peer=peer, count=2) == [8, 7]
    assert pm.hook.btref_pick_pieces(swarm=swarm, peer=peer, count=10) == [8, 7, 2, 0]


def test_chapter_example_installed_and_graded_by_the_conformance_suite(tmp_path: Path) -> None:
    """The chapter's worked example, built from the chapter's own text, installed with pip and
    graded by ``btref conformance``: the suite catches the bug exercise 1 asks about (count 0)."""
    chapter = (Path(__file__).resolve().parent.parent / "docs" / "core" / "plugins.md").read_text(encoding="utf-8")
    start, end = chapter.index("<!-- example-plugin-start -->"), chapter.index("<!-- example-plugin-end -->")
    module = chapter[start:end].split("```python", 1)[1].rsplit("```", 1)[0]
    pyproject = chapter[end:].split("```toml", 1)[1].split("```", 1)[0]
    dist = tmp_path / "btref-tail-first"
    (dist / "btref_tail_first").mkdir(parents=True)
    (dist / "btref_tail_first" / "__init__.py").write_text(module)
    (dist / "pyproject.toml").write_text(pyproject)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(site), str(dist)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    listed = subprocess.run([sys.executable, "-m", "btref", "plugins"], env=env, capture_output=True,
                            text=True, check=True)
    assert "tail-first" in listed.stdout and "[btref-tail-first]" in listed.stdout
    graded = subprocess.run(
        [sys.executable, "-m", "btref", "conformance", "pickers", "tail-first", "-k", "empty_and_full"],
        env=env, capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert graded.returncode == 1, graded.stdout + graded.stderr
    assert "more than count=0" in graded.stdout
