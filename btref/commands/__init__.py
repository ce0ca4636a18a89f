"""The ``btref`` subcommands, one module each (see :mod:`btref.cli`).

Each module has ``add_parser(subparsers)``, which registers the command with its help
texts and sets ``run`` as the handler, and ``run(args) -> int``, the exit status.
"""

from __future__ import annotations

from btref.commands.common import CommandError

from btref.commands import conformance, create, demo, info, plugins, verify  # noqa: E402  (isort: skip)
from btref.commands import download, seed, tracker  # noqa: E402  (isort: skip)
from btref.commands import compare, sim, sweep  # noqa: E402  (isort: skip)
from btref.commands import replay  # noqa: E402  (isort: skip)
from btref.commands import dht  # noqa: E402  (isort: skip)
from btref.commands import lab  # noqa: E402  (isort: skip)

#: The commands in the order ``btref --help`` lists them.
COMMANDS = (demo, create, info, verify, download, seed, tracker, dht, plugins, conformance, lab, sim, compare, sweep,
            replay)

__all__ = ["COMMANDS", "CommandError"]
