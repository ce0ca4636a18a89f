"""The shape of the code: a sans-I/O core, one object per role.

The core (every module under ``btref/`` outside the I/O layer) reads no clock, socket or
file and prints nothing: events in, actions out. The I/O layer is the folders whose names
say so: ``btref/io`` (disk, file system, terminal), ``btref/net`` (the asyncio driver),
``btref/sim`` (the virtual clock), ``btref/web`` (the browser view: its page files and an
HTTP server), ``btref/commands`` and ``btref/cli.py`` (the CLI).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BTREF = Path(__file__).resolve().parent.parent / "btref"
IO_LAYER = {"io", "net", "sim", "web", "commands", "cli.py", "__main__.py"}
#: Modules whose import means I/O: files, clocks, sockets, processes, the terminal.
IO_MODULES = {"os", "io", "time", "socket", "asyncio", "selectors", "subprocess", "shutil", "threading",
              "rich", "tempfile", "signal", "secrets"}
#: Calls that reach the outside world even without an import.
IO_CALLS = {"open", "print", "input"}


def core_modules() -> list[Path]:
    return sorted(p for p in BTREF.rglob("*.py") if p.relative_to(BTREF).parts[0] not in IO_LAYER)


def test_the_core_is_not_empty() -> None:
    names = {p.stem for p in core_modules()}
    assert {"bencode", "metainfo", "wire", "connection", "session", "download", "views", "hookspecs"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(BTREF)))
def test_core_module_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            names = []
        found += [f"line {node.lineno}: imports {n}" for n in names if n.split(".")[0] in IO_MODULES]
        if isinstance(node, ast.ImportFrom) and node.module == "pathlib":  # PurePath is lexical, Path is not
            found += [f"line {node.lineno}: imports pathlib.{a.name}" for a in node.names if not a.name.startswith("Pure")]
        if isinstance(node, ast.Import) and any(a.name == "pathlib" for a in node.names):
            found.append(f"line {node.lineno}: imports pathlib")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_CALLS:
            found.append(f"line {node.lineno}: calls {node.func.id}()")
    assert not found, f"{path.name} belongs to the sans-I/O core but " + "; ".join(found)


@pytest.mark.parametrize("path", sorted(BTREF.rglob("*.py")), ids=lambda p: str(p.relative_to(BTREF)))
def test_no_class_mixes_in_several_bases(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    mixed = [f"{node.name} (line {node.lineno})" for node in ast.walk(tree)
             if isinstance(node, ast.ClassDef) and len(node.bases) > 1
             and not node.name.endswith(("Error", "Exception", "Warning"))]
    assert not mixed, f"{path.name}: one object per role, not mixins: {', '.join(mixed)}"
