"""The book covers the code: every hook, every built-in plugin, every core module.

Fails when

* a hookspec in :mod:`btref.hookspecs` is neither named in ``docs/core/plugins.md`` nor
  rendered there by ``automodule:: btref.hookspecs`` (which needs a docstring);
* an installed built-in plugin (entry point in a ``btref_*`` package) has no chapter
  ``docs/plugins/<family>/<name>.md``;
* a core module ``btref/<module>.py`` is mentioned (``btref.<module>``) in no chapter of
  ``docs/core/`` (``btref.cli`` and its commands: in ``docs/cli.md``);
* a chapter does not end with the sections "Real world" and "Exercises", in that order.

Each check is one parametrized test, so a failure names exactly what is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import btref
from btref import hookspecs, plugins

ROOT = Path(btref.__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLUGINS_CHAPTER = DOCS / "core" / "plugins.md"

HOOKSPECS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec"))
BUILTIN_PLUGINS = sorted(
    (info.family, info.name)
    for infos in plugins.available().values()
    for info in infos.values()
    if info.entry_point.startswith("btref_")
)
CORE_MODULES = sorted(p.stem for p in (ROOT / "btref").glob("*.py") if p.stem not in {"__init__", "__main__"})
COMMAND_MODULES = sorted(p.stem for p in (ROOT / "btref" / "commands").glob("*.py") if p.stem != "__init__")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _autodoc_renders(text: str, module: str, name: str) -> bool:
    """True if an ``automodule:: module`` directive with ``:members:`` renders ``name``."""
    pattern = re.compile(rf"\.\. automodule:: {re.escape(module)}\s*\n((?:[ \t]+:.*\n?)*)")
    for match in pattern.finditer(text):
        options = match.group(1)
        excluded = re.search(r":exclude-members:(.*)", options)
        if ":members:" in options and not (excluded and name in re.split(r"[\s,]+", excluded.group(1))):
            return True
    return False


def test_there_is_something_to_check() -> None:
    assert HOOKSPECS and CORE_MODULES and PLUGINS_CHAPTER.is_file()


@pytest.mark.parametrize("name", HOOKSPECS)
def test_hookspec_is_documented(name: str) -> None:
    text = _read(PLUGINS_CHAPTER)
    rendered = _autodoc_renders(text, "btref.hookspecs", name) and bool(getattr(hookspecs, name).__doc__)
    assert name in text or rendered, f"hookspec {name} is neither named nor rendered in {PLUGINS_CHAPTER}"


@pytest.mark.parametrize(("family", "name"), BUILTIN_PLUGINS)
def test_builtin_plugin_has_a_chapter(family: str, name: str) -> None:
    chapter = DOCS / "plugins" / family / f"{name}.md"
    assert chapter.is_file(), f"built-in {family} plugin {name!r} has no chapter {chapter.relative_to(ROOT)}"


def _chapters_mentioning(module: str, folder: Path) -> list[Path]:
    needle = re.compile(rf"\bbtref\.{re.escape(module)}\b|\bbtref/{re.escape(module)}\.py\b")
    return [p for p in sorted(folder.glob("*.md")) if needle.search(_read(p))]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_has_a_chapter(module: str) -> None:
    if module == "cli":
        assert "btref.cli" in _read(DOCS / "cli.md"), "docs/cli.md does not mention btref.cli"
        return
    assert _chapters_mentioning(module, DOCS / "core"), f"no chapter in docs/core mentions btref.{module}"


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_command_module_is_in_the_cli_chapter(module: str) -> None:
    assert f"btref.commands.{module}" in _read(DOCS / "cli.md"), f"docs/cli.md does not mention btref.commands.{module}"


CHAPTERS = sorted([*(DOCS / "core").glob("*.md"), *(DOCS / "plugins").glob("*/*.md"), DOCS / "cli.md"])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: str(p.relative_to(DOCS)))
def test_chapter_ends_with_real_world_and_exercises(chapter: Path) -> None:
    headings = re.findall(r"^## +(.+?)\s*$", _read(chapter), flags=re.MULTILINE)
    assert headings[-2:] == ["Real world", "Exercises"], (
        f"{chapter.relative_to(ROOT)} should end with '## Real world' then '## Exercises', has {headings[-2:]}")


def test_autodoc_detection() -> None:
    text = ".. automodule:: btref.hookspecs\n   :members:\n   :exclude-members: hookspec, hookimpl\n"
    assert _autodoc_renders(text, "btref.hookspecs", "btref_rechoke")
    assert not _autodoc_renders(text, "btref.hookspecs", "hookimpl")
    assert not _autodoc_renders(".. automodule:: btref.hookspecs\n", "btref.hookspecs", "btref_rechoke")
