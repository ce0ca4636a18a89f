"""``btref seed``: serve a torrent's complete data to peers (BEP 3) until Ctrl-C.

The data in DATA_DIR is rechecked first (:func:`btref.io.storage.verify`, the same check as
``btref verify``); incomplete data is refused with a line saying how many pieces are bad
or missing, because a seed that lies about its pieces wastes everyone's time. Then the
asyncio driver (:class:`btref.net.driver.Client`) listens, announces to the
torrent's trackers, connects out to any ``--peer`` and uploads to whom the choker picks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import CommandError, human_size, load_torrent, strategy
from btref.commands.download import add_network_options, follow, limit_note, session_options
from btref.commands.verify import check

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "serve a torrent's complete data to peers (until Ctrl-C)"
DESCRIPTION = """\
Seed TORRENT from DATA_DIR (the folder that holds the torrent's file or folder):
check the data, then listen for peers, announce to the torrent's trackers and
connect to the peers given with --peer. Incomplete data is refused.
"""
EPILOG = """\
examples:
  btref seed album.torrent ~/Music --port 6881
  btref seed album.torrent . --peer 127.0.0.1:7000 --events seed.jsonl
  btref seed album.torrent . --choker seed-round-robin:turn=10

try next: in another terminal, `btref download album.torrent -o /tmp/copy
--peer 127.0.0.1:6881`, or run `btref tracker` and make the torrent with
`btref create ... --tracker http://127.0.0.1:6969/announce`.

exit status: 130 after Ctrl-C (the normal way to stop), 0 after --stop-after,
2 if the data is incomplete or the port is taken.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("seed", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("torrent", metavar="TORRENT", help="the .torrent file")
    p.add_argument("data_dir", metavar="DATA_DIR", help="the folder that holds the torrent's file or folder")
    add_network_options(p)
    p.add_argument("--stop-after", type=float, metavar="SECONDS",
                   help="stop seeding after this many seconds, exit status 0 (for scripts and labs)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import asyncio  # the event loop and the driver: only when seeding starts

    from btref.net.driver import Client
    from btref.io.progress import Progress

    out = out or sys.stdout
    args.choker = strategy("chokers", args.choker).label
    torrent = load_torrent(args.torrent, "seed")
    report = check(torrent, Path(args.data_dir), progress=sys.stderr)
    if not report.complete:
        raise CommandError(
            f"refusing to seed incomplete data in {args.data_dir}: {report.good.count} of {torrent.num_pieces} "
            f"pieces good, {len(report.bad)} bad, {len(report.missing)} missing "
            f"(see `btref verify {args.torrent} {args.data_dir}`)")

    async def main() -> str | None:
        session = Client(torrent, args.data_dir, seed=True, recheck=report, **session_options(args))
        async with session:
            print(f"btref seed: {torrent.name} ({human_size(torrent.total_length)}) on {args.host}:{session.port}"
                  f"{limit_note(args)}; "
                  f"Ctrl-C stops. Next: btref download {args.torrent} -o DIR --peer 127.0.0.1:{session.port}",
                  file=out, flush=True)
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
