"""``btref plugins``: every installed strategy, by family.

Plugins are found through the entry-point group ``btref`` (see :mod:`btref.plugins` and
:mod:`btref.hookspecs`), btref's own exactly like a third-party package's. A plugin that
cannot be loaded is shown as a warning on stderr, never a crash: one broken package must
not take the tool down with it. ``--verbose`` adds each plugin's parameters, as its
constructor declares them (:func:`btref.plugins.parameters`): name, type and range,
default, meaning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers
    from btref.plugins import Parameter

HELP = "list the installed plugins (strategies) by family"
DESCRIPTION = """\
List the installed plugins: hash schemes, piece pickers, chokers, peer discovery
and observers. Each is a class published under the Python entry-point group
"btref"; `pip install` a plugin package and it shows up here.
"""
EPILOG = """\
examples:
  btref plugins
  btref plugins --verbose                    each plugin's parameters too
  btref plugins --json

next: try a parameter, `btref sim flash-crowd --picker rarest-first:random_first=0`;
grade a plugin with `btref conformance FAMILY NAME`, or write your own (see the
"Plugins" chapter of the book).
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("plugins", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list each plugin's parameters: name, type and range, default, meaning")
    p.add_argument("--json", action="store_true",
                   help="print {family: [{name, summary, package, entry_point, parameters}]}")
    p.set_defaults(run=run)


def parameter_lines(params: Sequence[Parameter]) -> list[str]:
    """One aligned line per parameter: name, type and range, default, meaning."""
    if not params:
        return ["(no parameters)"]
    rows = [(p.name, f"{p.kind()}, {p.default_text()}",
             p.meaning if p.type else f"{p.meaning} (from Python only)".lstrip()) for p in params]
    name_width = max(len(r[0]) for r in rows)
    kind_width = max(len(r[1]) for r in rows)
    return [f"{n:<{name_width}}  {k:<{kind_width}}  {m}".rstrip() for n, k, m in rows]


def as_json(p: Parameter) -> dict[str, Any]:
    """A parameter for ``--json``: ``{name, type, default, required, optional, meaning, ge, gt, le, lt}``."""
    bounds = {k: getattr(p.declared, k) for k in ("ge", "gt", "le", "lt")}
    return {"name": p.name, "type": p.type_name, "default": None if p.required else p.default,
            "required": p.required, "optional": p.optional, "meaning": p.meaning, **bounds}


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from btref import hookspecs
    from btref import plugins as registry  # loads every plugin: only when they are listed

    out, err = out or sys.stdout, err or sys.stderr
    errors: list[str] = []
    found = registry.available(errors=errors)
    if args.json:
        data = {
            family: [{"name": i.name, "summary": i.summary, "package": i.package, "entry_point": i.entry_point,
                      "parameters": [as_json(p) for p in registry.parameters(i.cls)]}
                     for i in sorted(infos.values(), key=lambda i: i.name)]
            for family, infos in found.items()
        }
        print(json.dumps(data, indent=2, default=str), file=out)
    else:
        for family, infos in found.items():
            print(f"{family} (hooks: {', '.join(hookspecs.FAMILIES[family])})", file=out)
            if not infos:
                print("  (none installed)", file=out)
            width = max((len(name) for name in infos), default=0)
            for name in sorted(infos):
                info = infos[name]
                print(f"  {name:<{width}}  {info.summary}  [{info.package}]", file=out)
                if args.verbose:
                    for line in parameter_lines(registry.parameters(info.cls)):
                        print(f"  {'':<{width}}    {line}", file=out)
        if args.verbose:
            print("\nchoose one with its parameters as NAME:KEY=VALUE,..., e.g. "
                  "btref sim flash-crowd --picker rarest-first:random_first=0", file=out)
    for line in errors:
        print(f"btref: warning: plugin {line}", file=err)
    return 0
