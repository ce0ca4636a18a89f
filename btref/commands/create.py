"""``btref create``: turn a file or folder into a .torrent file.

The work is done by :func:`btref.io.create.create_torrent` (BEP 3 metainfo, BEP 52 v2 and
hybrid torrents, BEP 12 tracker tiers, BEP 19 web seeds, BEP 27 private flag, BEP 47 pad
files); this module only turns command-line words into its arguments.

Tiers on the command line: every ``--tracker`` is its own tier (BEP 12: tiers are tried in
order); ``--tracker URL,URL`` puts several trackers in one tier (tried in random order).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import human_size, parse_size, parse_torrent, require

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "make a .torrent file from a file or a folder"
DESCRIPTION = """\
Make a .torrent file from a file or a folder. The torrent lists the files and a
hash of every piece, so anyone can check what they download (BEP 3). By default
it is a *hybrid* torrent: it carries both the v1 SHA-1 piece hashes (BEP 3) and
the v2 SHA-256 merkle trees (BEP 52), so old and new clients can both use it.
"""
EPILOG = """\
examples:
  btref create notes.txt -o notes.torrent
  btref create ~/album -o album.torrent --scheme v2 --piece-length 64K
  btref create ~/album -o album.torrent --tracker http://a/announce \\
      --tracker http://b/announce,http://c/announce      (two tiers)
  btref create ~/album -o album.torrent --private --comment "for the lab"
  btref create ~/album -o album.torrent --web-seed http://files.example/pub/
      (BEP 19: http://files.example/pub/album/... serves the files too)

next: `btref info OUT.torrent` shows what you made; `btref verify OUT.torrent
DATA_DIR` checks data against it (DATA_DIR holds the file or folder).
"""


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("create", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", metavar="PATH", help="the file or folder to share")
    p.add_argument("-o", "--output", metavar="OUT.torrent",
                   help="where to write the torrent (default: NAME.torrent in the current folder)")
    p.add_argument("--scheme", choices=("v1", "v2", "hybrid"), default="hybrid",
                   help="which hashes to include: v1 (SHA-1), v2 (SHA-256 merkle) or both (default)")
    p.add_argument("--piece-length", type=_size, metavar="N",
                   help="bytes per piece, a power of two >= 16K (default: chosen from the total size)")
    p.add_argument("--tracker", action="append", default=[], metavar="URL[,URL...]",
                   help="a tracker tier; repeat for more tiers, or give URL,URL for one tier of several")
    p.add_argument("--private", action="store_true", help="BEP 27: peers only from the trackers (no DHT, no PEX)")
    p.add_argument("--comment", metavar="TEXT", help="a free-text comment stored in the torrent")
    p.add_argument("--web-seed", action="append", default=[], metavar="URL", type=web_seed,
                   help="BEP 19: an http:// or https:// server that also serves the data (the file "
                        "itself, or the folder holding the torrent's folder); repeat for more")
    p.set_defaults(run=run)


def web_seed(text: str) -> str:
    """An argparse ``type`` for ``--web-seed``: the URLs btref's web seed client can fetch."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r}: a web seed is an http:// or https:// URL with a host")
    return text.strip()


def tiers(values: list[str]) -> list[list[str]]:
    """``["a", "b,c"]`` -> ``[["a"], ["b", "c"]]``: one tier per ``--tracker``."""
    result = []
    for value in values:
        tier = [url.strip() for url in value.split(",") if url.strip()]
        if tier:
            result.append(tier)
    return result


def make(path: Path, output: Path, *, scheme: str = "hybrid", piece_length: int | None = None,
         trackers: list[list[str]] | None = None, private: bool = False, comment: str | None = None,
         web_seeds: list[str] | None = None) -> bytes:
    """Create the torrent for ``path``, write it to ``output``, return its bytes."""
    create = require("btref.io.create", "create")
    data: bytes = create.create_torrent(
        path, version=scheme, piece_length=piece_length, trackers=trackers or [],
        private=private, comment=comment, web_seeds=web_seeds or [],
    )
    output.write_bytes(data)
    return data


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    path = Path(args.path)
    output = Path(args.output) if args.output else Path(path.resolve().name + ".torrent")
    data = make(path, output, scheme=args.scheme, piece_length=args.piece_length,
                trackers=tiers(args.tracker), private=args.private, comment=args.comment,
                web_seeds=args.web_seed)
    torrent = parse_torrent(data, "create")
    real = [f for f in torrent.files if not f.pad]
    print(f"wrote {output}: {torrent.version} torrent of {human_size(sum(f.length for f in real))} "
          f"in {len(real)} file{'s' * (len(real) != 1)}, {torrent.num_pieces} pieces of "
          f"{human_size(torrent.piece_length)}", file=out)
    print(f"info hash: {torrent.info_hash.hex()}", file=out)
    print(f"next: btref info {output}", file=out)
    return 0
