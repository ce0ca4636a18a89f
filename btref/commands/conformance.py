"""``btref conformance``: grade plugins of one family with that family's suite, or a running
client with the peer wire (BEP 3, BEP 6) or KRPC (BEP 5) suite.

A suite lives in ``conformance/<suite>/`` and is a plain pytest directory. For a plugin
family its ``conftest.py`` adds one option naming the plugin under test (``--hash-scheme``,
``--picker``, ``--choker``, ``--discovery``; may be repeated): this command checks the
names are installed plugins and runs ``python -m pytest conformance/<family> --<option>
NAME ...``. The contracts are the hookspecs in :mod:`btref.hookspecs` (e.g. BEP 3 piece
hashes for ``hashes``); pickers and chokers are also held to the behaviour they claim
(:mod:`btref.claims`).

The ``wire`` and ``dht`` suites grade a *client* instead: by default btref and a
libtorrent started on loopback, or, with ``--target HOST:PORT``, whatever listens there
(``--wire-target``/``--wire-torrent`` and ``--krpc-target`` of their conftests). The
command checks the address and the torrent before it starts pytest, so a typo is one line,
not a failing suite. Either way pytest runs in a fresh process and its status is the
command's (0 passed, 1 some test failed, 5 no tests collected).

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
from btref.commands.common import CommandError, load_torrent

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

#: The pytest option each family's conftest adds to name the plugin under test.
OPTIONS = {"hashes": "--hash-scheme", "pickers": "--picker", "chokers": "--choker", "discovery": "--discovery"}
#: The suites that grade a running client, with their conftests' options for ``--target``
#: and ``--torrent`` (``None``: the suite needs no torrent).
TARGETS: dict[str, tuple[str, str | None]] = {"wire": ("--wire-target", "--wire-torrent"),
                                              "dht": ("--krpc-target", None)}

HELP = "grade plugins with their family's tests, or a client with the wire or DHT tests"
DESCRIPTION = """\
Run a conformance suite (pytest) and exit with its status: 0 means every test
passed.

Plugins: the contract tests of a family on installed plugins (all of the family
when no NAME is given), the same tests that grade btref's own plugins and the labs.
Pickers and chokers are also checked against the policies they claim in their
`claims` attribute (rarest-first, tit-for-tat, ...: see btref.claims); a failure
names the claim and the smallest swarm state that breaks it.

Clients: `wire` checks the peer wire protocol (BEP 3, BEP 6) of a seeder, and `dht`
the KRPC answers (BEP 5) of a DHT node. Without --target they grade btref and a
libtorrent started on loopback; with --target HOST:PORT, the client listening
there: to grade a student's client, have it seed a torrent (wire) or run its DHT
node (dht), then point --target at it.
"""
EPILOG = """\
examples:
  btref conformance hashes sha1
  btref conformance pickers                  every installed picker: contract and claims
  btref conformance pickers my-picker -k claims   only the claims my-picker declares
  btref conformance chokers my-choker -x     stop at the first failure
  btref conformance wire                     btref and libtorrent, as make test does
  btref conformance wire --target 127.0.0.1:6881 --torrent lab.torrent
                                             the seeder of lab.torrent listening there
  btref conformance dht --target 127.0.0.1:6881    the DHT node listening there

next: read a failing test's message: a contract test quotes the hookspec rule, a
claim test names the claim and the state that broke it, a wire or dht test the BEP
rule the client broke.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("conformance", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    suites = [*hookspecs.FAMILIES, *TARGETS]
    p.add_argument("family", choices=sorted(suites), metavar="SUITE",
                   help=f"a plugin family or a client suite, one of: {', '.join(suites)}")
    p.add_argument("names", nargs="*", metavar="NAME", help="installed plugins to test (default: all of the family)")
    p.add_argument("--target", metavar="HOST:PORT",
                   help="wire, dht: grade the client listening there (default: btref and libtorrent)")
    p.add_argument("--torrent", metavar="FILE",
                   help="wire, with --target: the .torrent the target seeds (v1 or hybrid)")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing test")
    p.add_argument("-k", metavar="EXPR", help="only tests whose names match EXPR (as in pytest)")
    p.set_defaults(run=run)


def suites_root() -> Path:
    """Where the ``conformance/<family>/`` folders are."""
    env = os.environ.get("BTREF_CONFORMANCE_DIR")
    return Path(env) if env else Path(btref.__file__).resolve().parent.parent / "conformance"


def command(family: str, names: list[str], *, exitfirst: bool = False, k: str | None = None,
            target: str | None = None, torrent: str | None = None) -> list[str]:
    """The pytest command line for ``family`` and plugin ``names`` (checked to be installed),
    or for the client suite ``family`` (``wire``, ``dht``) aimed at ``target``."""
    if family not in OPTIONS and family not in TARGETS:
        raise CommandError(f"{family} plugins only listen (their hooks return nothing), so they have no contract "
                           f"suite; test one with plain pytest and btref.plugins.plugin_manager(extra=[...])")
    if family in OPTIONS and (target is not None or torrent is not None):
        raise CommandError(f"--target and --torrent aim the wire and dht suites at a client; the {family} suite "
                           f"grades installed plugins by NAME")
    suite = suites_root() / family
    if not (suite / "conftest.py").is_file():
        if family in TARGETS:
            raise CommandError(f"no conformance suite for {family} (looked for {suite}/conftest.py); outside a "
                               f"source checkout, point BTREF_CONFORMANCE_DIR at the folder holding the suites")
        raise CommandError(
            f"no conformance suite for {family} yet (looked for {suite}/conftest.py); write one: a conftest.py "
            f"whose pytest_addoption adds {OPTIONS[family]} NAME, and tests that build the named plugin "
            f"with btref.plugins.create({family!r}, NAME)")
    options = target_options(family, names, target, torrent) if family in TARGETS else plugin_options(family, names)
    cmd = [sys.executable, "-m", "pytest", str(suite), "-p", "no:cacheprovider", "-q", *options]
    if exitfirst:
        cmd.append("-x")
    if k:
        cmd += ["-k", k]
    return cmd


def plugin_options(family: str, names: list[str]) -> list[str]:
    """The options naming the plugins ``names`` of ``family``, checked to be installed."""
    from btref import plugins as registry  # imports every plugin: only when a name is checked

    options = []
    for name in names:
        registry.find(family, name)  # PluginError naming the installed ones on a typo
        options += [OPTIONS[family], name]
    return options


def target_options(suite: str, names: list[str], target: str | None, torrent: str | None) -> list[str]:
    """The options aiming the client suite ``suite`` at ``target`` (none: btref and libtorrent)."""
    address_option, torrent_option = TARGETS[suite]
    if names:
        raise CommandError(f"the {suite} suite grades a client, not plugins: give --target HOST:PORT instead of "
                           f"{' '.join(names)}")
    if target is None:
        if torrent is not None:
            raise CommandError(f"--torrent names what the client at --target seeds; without --target the {suite} "
                               f"suite grades btref and libtorrent on torrents of its own")
        return []
    from btref.discovery import PeerAddress

    try:
        address = PeerAddress.parse(target)
    except ValueError as exc:
        raise CommandError(f"--target {target!r}: expected HOST:PORT, e.g. 127.0.0.1:6881 ({exc})") from exc
    if torrent_option is None:
        if torrent is not None:
            raise CommandError(f"the {suite} suite needs no torrent: a DHT node answers for any info hash")
        ping(address.host, address.port)
        return [address_option, target]
    if torrent is None:
        raise CommandError(f"the {suite} suite needs --torrent FILE with --target: the .torrent the client at "
                           f"{target} seeds (its pieces are what the scenarios request and check)")
    if load_torrent(torrent, "conformance").info_hash_v1 is None:
        raise CommandError(f"{torrent} is a v2-only torrent; the {suite} suite checks v1 piece hashes, so seed a "
                           f"v1 or hybrid torrent (btref create --scheme hybrid)")
    connect(address.host, address.port)
    return [address_option, target, torrent_option, str(Path(torrent).resolve())]


#: Seconds the client at --target has to accept a connection or answer a ping (the
#: suites' own timeouts are longer: a client that is merely slow still gets graded).
REACH_TIMEOUT = 5.0


def connect(host: str, port: int) -> None:
    """Check that a client accepts TCP connections at ``host:port``, so a client that is
    not running is one line instead of every scenario failing."""
    import socket

    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT).close()
    except OSError as exc:
        raise CommandError(f"nothing accepts connections at {host}:{port} ({exc.strerror or exc}); start the "
                           f"client and let it seed the torrent first") from exc


def ping(host: str, port: int) -> None:
    """Check that a DHT node answers a KRPC ``ping`` (BEP 5) at ``host:port``."""
    import os
    import socket

    from btref import bencode

    query = bencode.encode({b"t": b"pg", b"y": b"q", b"q": b"ping", b"a": {b"id": os.urandom(20)}})
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(REACH_TIMEOUT)
        try:
            sock.connect((host, port))  # connected: a closed port is reported at once
            sock.send(query)
            sock.recv(65536)
        except OSError as exc:
            why = f"no answer within {REACH_TIMEOUT:g} s" if isinstance(exc, TimeoutError) else exc.strerror or exc
            raise CommandError(f"no DHT node answered a ping at {host}:{port} ({why}); start the node "
                               f"first (it listens on UDP)") from exc


def run(args: argparse.Namespace) -> int:
    import subprocess

    cmd = command(args.family, args.names, exitfirst=args.exitfirst, k=args.k, target=args.target,
                  torrent=args.torrent)
    print("running: python", " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, check=False).returncode
