"""``btref seed``: serve a torrent's complete data to peers (BEP 3) until Ctrl-C.

The data in DATA_DIR is rechecked first (:func:`btref.io.storage.verify`, the same check as
``btref verify``); incomplete data is refused with a line saying how many pieces are bad
or missing, because a seed that lies about its pieces wastes everyone's time. Then the
asyncio driver (:class:`btref.net.driver.Client`) listens, announces to the
torrent's trackers (and, with ``--dht-bootstrap`` or ``--dht FILE``, to the BEP 5 DHT, so
a trackerless swarm can be seeded from the command line), connects out to any ``--peer``
and uploads to whom the choker picks, at most ``--max-peers`` of them at once. With
``--super-seed`` it hides its pieces and offers each peer one at a time (BEP 16,
:mod:`btref.superseed`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import CommandError, human_size, load_torrent, strategy
from btref.commands.download import (add_network_options, check_dht_options, dht_note, enter_web_view, follow,
                                     join_dht, limit_note, session_options, web_view)
from btref.commands.verify import check

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref_discovery.dht.plugin import DHT

    from btref.commands.common import Subparsers
    from btref.metainfo import Torrent

HELP = "serve a torrent's complete data to peers (until Ctrl-C)"
DESCRIPTION = """\
Seed TORRENT from DATA_DIR (the folder that holds the torrent's file or folder):
check the data, then listen for peers, announce to the torrent's trackers (and
to the DHT with --dht-bootstrap or --dht) and connect to the peers given with
--peer. Incomplete data is refused.
"""
EPILOG = """\
examples:
  btref seed album.torrent ~/Music --port 6881
  btref seed album.torrent . --peer 127.0.0.1:7000 --events seed.jsonl
  btref seed album.torrent . --choker seed-round-robin:turn=10
  btref seed album.torrent . --no-trackers --dht-bootstrap 127.0.0.1:6881 --dht seed-dht.json
  btref seed album.torrent . --max-peers 200
  btref seed album.torrent . --super-seed --upload-limit 256K

try next: in another terminal, `btref download album.torrent -o /tmp/copy
--peer 127.0.0.1:6881`, or run `btref tracker` and make the torrent with
`btref create ... --tracker http://127.0.0.1:6969/announce`. Without a
tracker: run `btref dht --port 6881`, seed with `--dht-bootstrap
127.0.0.1:6881`, and download the magnet link the seed prints.

exit status: 130 after Ctrl-C (the normal way to stop), 0 after --stop-after,
2 if the data is incomplete, the port is taken or the DHT cannot be joined.
"""


def peer_limit(text: str) -> int:
    """An argparse ``type`` for ``--max-peers``: a whole number from 1 to what the process may open."""
    import resource

    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    # Each peer holds a socket; leave room for the listening socket, the data files and the log.
    if not 1 <= value <= files - 64:
        raise argparse.ArgumentTypeError(
            f"{value}: must be from 1 to {files - 64} (this process may open {files} files; `ulimit -n` raises it)")
    return value


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("seed", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("torrent", metavar="TORRENT", help="the .torrent file")
    p.add_argument("data_dir", metavar="DATA_DIR", help="the folder that holds the torrent's file or folder")
    add_network_options(p)
    p.add_argument("--max-peers", type=peer_limit, default=60, metavar="N",
                   help="most connections at once, counting those still connecting (default 60); "
                        "raise it to serve a crowd (each takes a file descriptor)")
    p.add_argument("--super-seed", action="store_true",
                   help="super-seed (BEP 16): hide our pieces and offer each peer one piece at a time, the "
                        "next once another peer has it; for the first seed of a new torrent with a slow uplink, "
                        "so it uploads about one copy and the peers trade the rest (see the book's chapter "
                        "'Super-seeding')")
    p.add_argument("--stop-after", type=float, metavar="SECONDS",
                   help="stop seeding after this many seconds, exit status 0 (for scripts and labs)")
    p.set_defaults(run=run)


def next_step(args: argparse.Namespace, torrent: Torrent, port: int | None, dht: DHT | None) -> str:
    """The command that downloads from this seed: by the DHT alone when we joined it."""
    if dht is None or dht.server is None:
        return f"btref download {args.torrent} -o DIR --peer 127.0.0.1:{port}"
    from btref.magnet import Magnet

    uri = Magnet.from_torrent(torrent).to_uri()
    return f"btref download '{uri}' -o DIR --no-trackers --dht-bootstrap 127.0.0.1:{dht.server.address[1]}"


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import asyncio  # the event loop and the driver: only when seeding starts

    import attrs

    from btref.net.driver import Client
    from btref.io.progress import Progress

    out = out or sys.stdout
    args.choker = strategy("chokers", args.choker).label
    for text in args.discovery:
        strategy("discovery", text)
    torrent = load_torrent(args.torrent, "seed")
    check_dht_options(args)
    report = check(torrent, Path(args.data_dir), progress=sys.stderr)
    if not report.complete:
        raise CommandError(
            f"refusing to seed incomplete data in {args.data_dir}: {report.good.count} of {torrent.num_pieces} "
            f"pieces good, {len(report.bad)} bad, {len(report.missing)} missing "
            f"(see `btref verify {args.torrent} {args.data_dir}`)")

    async def main() -> str | None:
        dht = await join_dht(args)
        try:
            async with contextlib.AsyncExitStack() as stack:
                options = session_options(args, dht)
                if args.web:  # the --events file, if any, is written through the view's stream
                    options["events"] = await enter_web_view(stack, web_view(
                        args, "seed", torrent.num_pieces, seed=True, title=f"btref seed {torrent.name}", out=out))
                session = Client(torrent, args.data_dir, seed=True, recheck=report, max_peers=args.max_peers,
                                 **options)
                if args.super_seed:  # BEP 16; the driver's other tunables stay as they are
                    session.config = attrs.evolve(session.config, super_seed=True)
                return await seeding(session, dht)
        finally:
            if dht is not None:
                await dht.close()  # saves --dht FILE

    async def seeding(session: Client, dht: DHT | None) -> str | None:
        async with session:
            print(f"btref seed: {torrent.name} ({human_size(torrent.total_length)}) on {args.host}:{session.port}"
                  f"{limit_note(args)}{dht_note(dht)}{'; super-seeding (BEP 16)' if args.super_seed else ''}; "
                  f"Ctrl-C stops. Next: {next_step(args, torrent, session.port, dht)}", file=out, flush=True)
            progress = Progress(torrent.total_length, label=f"seeding {torrent.name}", interval=30.0)
            try:
                async with asyncio.timeout(args.stop_after):
                    await follow(session, progress)
            except TimeoutError:
                return None
            finally:
                progress.close()
            return session.error or "stopped"

    error = asyncio.run(main())
    if error is not None:
        raise CommandError(f"seeding stopped: {error}")
    print(f"btref seed: stopped after {args.stop_after:g} s; uploaded what peers asked for", file=out)
    return 0
