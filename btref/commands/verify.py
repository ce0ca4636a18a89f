"""``btref verify``: recheck data on disk against a torrent's piece hashes.

Every piece is read and handed to the torrent's hash schemes through the
``btref_verify_piece`` hook (:mod:`btref.hookspecs`): SHA-1 piece hashes for v1 (BEP 3),
SHA-256 merkle piece layers for v2 (BEP 52), both for a hybrid torrent. The work is done by
:func:`btref.io.storage.verify`; this module reports it.

Exit status 0 when every piece is good, 1 when a piece is bad (data present but wrong) or
missing (file absent or too short), 2 when the check could not run at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import CommandError, load_torrent, ranges, require

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers
    from btref.io.storage import VerifyReport
    from btref.metainfo import Torrent

HELP = "check data on disk against a torrent's piece hashes"
DESCRIPTION = """\
Check the data in DATA_DIR against the torrent: read every piece and compare its
hash with the one in the torrent. This is what a client does on start-up (a
"recheck") and after every downloaded piece. DATA_DIR is the folder that holds
the torrent's file or top-level folder, not that folder itself.
"""
EPILOG = """\
examples:
  btref verify sample.torrent .          (data in ./sample or ./sample.bin)
  btref verify album.torrent ~/Downloads

exit status: 0 every piece is good, 1 some piece is bad or missing, 2 the
check could not run. Try it: flip one byte of a file and verify again.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("verify", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("torrent", metavar="TORRENT", help="the .torrent file")
    p.add_argument("data_dir", metavar="DATA_DIR", help="the folder that holds the torrent's file or folder")
    p.set_defaults(run=run)


def check(torrent: Torrent, data_dir: Path, *, progress: TextIO | None = None) -> VerifyReport:
    """Run :func:`btref.io.storage.verify`; show progress on ``progress`` if it is a terminal."""
    storage = require("btref.io.storage", "verify")
    if not data_dir.is_dir():
        raise CommandError(f"data folder {data_dir} does not exist or is not a folder")
    tty = progress is not None and progress.isatty()
    total = torrent.num_pieces

    def show(done: int) -> None:
        print(f"\r{done}/{total} pieces checked", end="", file=progress, flush=True)

    report: VerifyReport = storage.verify(torrent, data_dir, progress=show if tty else None)
    if tty:
        print(file=progress)
    return report


def files_of(torrent: Torrent, pieces: list[int]) -> list[str]:
    """The (non-pad) files that have bytes in any of ``pieces``, in torrent order."""
    touched: list[str] = []
    length = torrent.piece_length
    for f in torrent.files:
        if f.pad or f.length == 0:
            continue
        first, last = f.offset // length, (f.offset + f.length - 1) // length
        if any(first <= i <= last for i in pieces):
            touched.append("/".join(f.path))
    return touched


def report_lines(torrent: Torrent, report: VerifyReport) -> list[str]:
    """What ``btref verify`` prints about a :class:`~btref.io.storage.VerifyReport`."""
    total = torrent.num_pieces
    lines = [f"{report.good.count} of {total} pieces good"]
    if report.bad:
        lines.append(f"bad:     {len(report.bad)} (pieces {ranges(report.bad)}): data present, hash differs")
    if report.missing:
        lines.append(f"missing: {len(report.missing)} (pieces {ranges(report.missing)}): file absent or too short")
    broken = sorted(set(report.bad) | set(report.missing))
    if broken:
        lines.append("files with bad or missing pieces:")
        lines.extend(f"  {path}" for path in files_of(torrent, broken))
    else:
        lines.append("all good: this data can seed the torrent")
    return lines


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    torrent = load_torrent(args.torrent, "verify")
    report = check(torrent, Path(args.data_dir), progress=sys.stderr)
    for line in report_lines(torrent, report):
        print(line, file=out)
    return 0 if report.good.count == torrent.num_pieces else 1
