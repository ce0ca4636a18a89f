"""``btref plugins``: every installed strategy, by family.

Plugins are found through the entry-point group ``btref`` (see :mod:`btref.plugins` and
:mod:`btref.hookspecs`), btref's own exactly like a third-party package's. A plugin that
cannot be loaded is shown as a warning on stderr, never a crash: one broken package must
not take the tool down with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "list the installed plugins (strategies) by family"
DESCRIPTION = """\
List the installed plugins: hash schemes, piece pickers, chokers, peer discovery
and observers. Each is a class published under the Python entry-point group
"btref"; `pip install` a plugin package and it shows up here.
"""
EPILOG = """\
examples:
  btref plugins
  btref plugins --json

next: grade a plugin with `btref conformance FAMILY NAME`, or write your own
(see the "Plugins" chapter of the book).
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("plugins", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print {family: [{name, summary, package, entry_point}]}")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from btref import hookspecs
    from btref import plugins as registry  # loads every plugin: only when they are listed

    out, err = out or sys.stdout, err or sys.stderr
    errors: list[str] = []
    found = registry.available(errors=errors)
    if args.json:
        data = {
            family: [{"name": i.name, "summary": i.summary, "package": i.package, "entry_point": i.entry_point}
                     for i in sorted(infos.values(), key=lambda i: i.name)]
            for family, infos in found.items()
        }
        print(json.dumps(data, indent=2), file=out)
    else:
        for family, infos in found.items():
            print(f"{family} (hooks: {', '.join(hookspecs.FAMILIES[family])})", file=out)
            if not infos:
                print("  (none installed)", file=out)
            width = max((len(name) for name in infos), default=0)
            for name in sorted(infos):
                info = infos[name]
                print(f"  {name:<{width}}  {info.summary}  [{info.package}]", file=out)
    for line in errors:
        print(f"btref: warning: plugin {line}", file=err)
    return 0
