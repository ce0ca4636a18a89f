"""The ``btref`` command: one entry point for every tool in the box.

This module only builds the argument parser and dispatches; each command lives in its own
module under :mod:`btref.commands` (``demo``, ``create``, ``info``, ``verify``,
``download``, ``seed``, ``tracker``, ``dht``, ``plugins``, ``conformance``, ``lab``,
``sim``, ``compare``). The formats and protocols behind the commands are BEP 3 (metainfo, peer
wire, trackers), BEP 5 (DHT), BEP 9 (magnet links), BEP 12 (tracker tiers), BEP 15 (UDP
trackers), BEP 19 (web seeds), BEP 27 (private torrents) and BEP 52 (v2 and hybrid
torrents).

Building the parser imports every command module, so each command imports its heavy
machinery (asyncio drivers, the simulator, pytest) inside its ``run`` function: ``btref
--help`` and ``btref info`` should start in a blink.

Invariants kept here, so every command can rely on them:

* Bad input (an unreadable file, an invalid torrent or magnet link, any
  :class:`~btref.errors.BtrefError`) ends the program with exit status 2 and *one* line on
  stderr, ``btref: <what>: <why>``, never a traceback: a student's first contact with a
  broken file should be a sentence, not a stack.
* Exit status 0 means "done, all good"; 1 means "done, but the answer is no" (e.g. ``btref
  verify`` found bad pieces, a conformance suite failed); 2 means "could not do it".
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from btref import __version__
from btref.commands import COMMANDS, CommandError
from btref.errors import (
    BencodeError,
    BtrefError,
    CreateError,
    MagnetError,
    MetainfoError,
    PluginError,
    StorageError,
)

__all__ = ["build_parser", "main", "describe_error"]

DESCRIPTION = """\
btref: a BitTorrent reference implementation for reading, teaching and experiments.

Start with `btref demo`: it makes a small folder, turns it into a torrent, checks
the data and prints a magnet link, explaining each step; then it runs a live
swarm on 127.0.0.1 (a tracker, a seeder, a few leechers) and shows who sent what
to whom. Then try the commands one by one; `btref COMMAND --help` explains each
and tells you what to try next.
"""

EPILOG = """\
examples:
  btref demo                                  a guided tour, then a live loopback swarm
  btref create ~/photos -o photos.torrent     make a torrent (hybrid v1+v2 by default)
  btref info photos.torrent                   what the torrent says, in plain words
  btref info photos.torrent --json            the same as one JSON object
  btref info 'magnet:?xt=urn:btih:...'        what a magnet link says
  btref verify photos.torrent ~               is the data in ~/photos intact?
  btref seed photos.torrent ~ --port 6881     serve the data to peers
  btref download photos.torrent -o copy --peer 127.0.0.1:6881
                                              fetch it (a magnet link works too)
  btref tracker                               a tracker on port 6969 (HTTP and UDP)
  btref dht lookup INFOHASH --bootstrap HOST:PORT
                                              find peers through the DHT
  btref plugins                               installed strategies, by family
  btref conformance pickers rarest-first      grade a plugin with its family's suite
  btref lab list                              the course labs; start one, grade it
  btref sim walkthrough                       a simulated swarm, round by round
  btref compare --picker rarest-first,random  strategies compared over simulated runs

exit status: 0 all good, 1 done but the answer is "no" (bad pieces, failed
tests), 2 could not do it (bad input: the one line on stderr says why).
"""


def build_parser() -> argparse.ArgumentParser:
    """The full ``btref`` parser, one subcommand per module of :mod:`btref.commands`."""
    parser = argparse.ArgumentParser(
        prog="btref",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"btref {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def describe_error(exc: BaseException) -> str:
    """The one line ``btref`` prints for an error it expected (see the module docstring)."""
    if isinstance(exc, (BencodeError, MetainfoError)):
        label = "invalid torrent"
    elif isinstance(exc, MagnetError):
        label = "invalid magnet link"
    elif isinstance(exc, CreateError):
        label = "cannot create torrent"
    elif isinstance(exc, StorageError):
        label = "storage"
    elif isinstance(exc, PluginError):
        label = "plugin"
    elif isinstance(exc, OSError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"btref: cannot access{where}: {exc.strerror or exc}"
    elif isinstance(exc, CommandError):
        return f"btref: {exc}"
    else:
        label = type(exc).__name__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"btref: {label}: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``btref`` with ``argv`` (default: the process's arguments); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse exits 2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `btref ... | head` closed the pipe: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail again
        return 0
    except (BtrefError, OSError, CommandError) as exc:
        print(describe_error(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("btref: interrupted", file=sys.stderr)
        return 130
