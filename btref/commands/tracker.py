"""``btref tracker``: run btref's reference tracker (BEP 3 HTTP, BEP 15 UDP, BEP 23, BEP 48).

A thin command over :func:`btref.net.tracker_server.run_tracker`: it answers announces and
scrapes on an HTTP and a UDP port until Ctrl-C, for a lab swarm on one machine or a LAN.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "run a BitTorrent tracker (HTTP and UDP) until Ctrl-C"
DESCRIPTION = """\
Run btref's reference tracker: peers announce a torrent to it and learn about
each other. It speaks HTTP (BEP 3, compact peers of BEP 23, scrape of BEP 48)
and UDP (BEP 15). It keeps its swarm lists in memory only.
"""
EPILOG = """\
examples:
  btref tracker                               HTTP and UDP on port 6969
  btref tracker --http-port 8000 --udp-port off

try next: btref create FOLDER -o f.torrent --tracker http://127.0.0.1:6969/announce,
then `btref seed f.torrent .` in one terminal and `btref download f.torrent -o copy`
in another: they find each other through the tracker.
"""


def _port(text: str) -> int | None:
    if text.lower() == "off":
        return None
    value = int(text)
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"port {value} is not in 0..65535")
    return value


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("tracker", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--http-port", type=_port, default=6969, metavar="N|off", help="HTTP port (default 6969; 0: any)")
    p.add_argument("--udp-port", type=_port, default=6969, metavar="N|off", help="UDP port (default 6969; 0: any)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    p.add_argument("--interval", type=int, default=120, metavar="SECONDS",
                   help="how often peers should announce again (default 120)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from btref.commands.common import CommandError
    from btref.net.tracker_server import run_tracker

    if args.http_port is None and args.udp_port is None:
        raise CommandError("both --http-port and --udp-port are off: nothing to serve")
    return run_tracker(args.http_port, args.udp_port, host=args.host, interval=args.interval)
