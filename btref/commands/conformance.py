"""``btref conformance``: grade plugins of one family with that family's contract suite.

A suite lives in ``conformance/<family>/`` and is a plain pytest directory whose
``conftest.py`` adds one option naming the plugin under test (``--hash-scheme``,
``--picker``, ``--choker``, ``--discovery``; may be repeated). This command checks the
names are installed plugins, runs ``python -m pytest conformance/<family> --<option>
NAME ...`` in a fresh process and exits with pytest's status (0 passed, 1 some test
failed, 5 no tests collected). The contracts themselves are the hookspecs in
:mod:`btref.hookspecs` (e.g. BEP 3 piece hashes for ``hashes``).

The suites are found beside the ``btref`` package in a source checkout, or in the folder
named by the environment variable ``BTREF_CONFORMANCE_DIR``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import btref
from btref import hookspecs
from btref.commands.common import CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

#: The pytest option each family's conftest adds to name the plugin under test.
OPTIONS = {"hashes": "--hash-scheme", "pickers": "--picker", "chokers": "--choker", "discovery": "--discovery"}

HELP = "run a plugin family's contract tests (pytest) on installed plugins"
DESCRIPTION = """\
Run the contract tests of a plugin family on one or more installed plugins: the
same tests that grade btref's own plugins, and the labs. With no NAME, every
installed plugin of the family is tested. The exit status is pytest's.
"""
EPILOG = """\
examples:
  btref conformance hashes sha1
  btref conformance pickers                  every installed picker
  btref conformance chokers my-choker -x     stop at the first failure

next: read a failing test's docstring: it quotes the hookspec rule it checks.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("conformance", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", choices=sorted(hookspecs.FAMILIES), metavar="FAMILY",
                   help=f"one of: {', '.join(hookspecs.FAMILIES)}")
    p.add_argument("names", nargs="*", metavar="NAME", help="installed plugins to test (default: all of the family)")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing test")
    p.add_argument("-k", metavar="EXPR", help="only tests whose names match EXPR (as in pytest)")
    p.set_defaults(run=run)


def suites_root() -> Path:
    """Where the ``conformance/<family>/`` folders are."""
    env = os.environ.get("BTREF_CONFORMANCE_DIR")
    return Path(env) if env else Path(btref.__file__).resolve().parent.parent / "conformance"


def command(family: str, names: list[str], *, exitfirst: bool = False, k: str | None = None) -> list[str]:
    """The pytest command line for ``family`` and plugin ``names`` (checked to be installed)."""
    if family not in OPTIONS:
        raise CommandError(f"{family} plugins only listen (their hooks return nothing), so they have no contract "
                           f"suite; test one with plain pytest and btref.plugins.plugin_manager(extra=[...])")
    suite = suites_root() / family
    if not (suite / "conftest.py").is_file():
        raise CommandError(
            f"no conformance suite for {family} yet (looked for {suite}/conftest.py); write one: a conftest.py "
            f"whose pytest_addoption adds {OPTIONS[family]} NAME, and tests that build the named plugin "
            f"with btref.plugins.create({family!r}, NAME)")
    from btref import plugins as registry  # imports every plugin: only when a name is checked

    for name in names:
        registry.find(family, name)  # PluginError naming the installed ones on a typo
    cmd = [sys.executable, "-m", "pytest", str(suite), "-p", "no:cacheprovider", "-q"]
    for name in names:
        cmd += [OPTIONS[family], name]
    if exitfirst:
        cmd.append("-x")
    if k:
        cmd += ["-k", k]
    return cmd


def run(args: argparse.Namespace) -> int:
    import subprocess

    cmd = command(args.family, args.names, exitfirst=args.exitfirst, k=args.k)
    print("running: python", " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, check=False).returncode
