"""``btref info``: what a .torrent file (BEP 3, BEP 52) or a magnet link (BEP 9) says.

The human summary and the JSON object are built from the same :func:`torrent_summary`
dict, so they never disagree. The JSON keys every consumer may rely on: ``name``,
``info_hash_v1``, ``info_hash_v2`` (hex or ``null``), ``piece_length``, ``num_pieces``,
``total_length``, ``private``, ``trackers`` (a list of BEP 12 tiers), ``files`` (a list of
``{path, length, pad}``) and ``magnet``. For a magnet link, what the link does not say
(sizes, files) is ``null``: those come from peers (BEP 9 metadata exchange).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from btref.commands.common import CommandError, hexa, human_size, load_torrent, require

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers
    from btref.metainfo import Torrent

HELP = "show what a .torrent file or a magnet link says"
DESCRIPTION = """\
Show what a .torrent file (BEP 3, BEP 52) or a magnet link (BEP 9) says: its name,
info hashes, piece size, files, trackers and an equivalent magnet link.

A magnet link carries only a few fields (the info hash, maybe a name and
trackers); everything else, the files and the pieces, is fetched from peers.
"""
EPILOG = """\
examples:
  btref info sample.torrent
  btref info sample.torrent --json | python -m json.tool
  btref info 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=x'

next: check data against the torrent with `btref verify TORRENT DATA_DIR`.
"""

#: Files listed in the human summary before "... and N more".
MAX_FILES_SHOWN = 20


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("info", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="TORRENT|MAGNET", help="a .torrent file, or a magnet:?... link (quote it)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.source[:7].lower() == "magnet:":
        summary = magnet_summary(args.source)
    else:
        summary = torrent_summary(load_torrent(args.source, "info"))
    if args.json:
        print(json.dumps(summary, indent=2, default=_jsonable), file=out)
    else:
        for line in describe(summary):
            print(line, file=out)
    return 0


def _jsonable(value: object) -> str | list[object]:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)


def magnet_of(torrent: Torrent) -> str | None:
    """The torrent's magnet link, or ``None`` while :mod:`btref.magnet` is missing."""
    try:
        magnet = require("btref.magnet", "info")
    except CommandError:
        return None
    uri: str = magnet.Magnet.from_torrent(torrent).to_uri()
    return uri


def torrent_summary(torrent: Torrent) -> dict[str, Any]:
    """The JSON-ready facts about a parsed torrent (see the module docstring)."""
    summary: dict[str, Any] = dict(torrent.to_dict()) if hasattr(torrent, "to_dict") else {}
    summary.update(
        kind="torrent",
        name=torrent.name,
        version=torrent.version,
        info_hash=torrent.info_hash.hex(),
        info_hash_v1=hexa(torrent.info_hash_v1),
        info_hash_v2=hexa(torrent.info_hash_v2),
        piece_length=torrent.piece_length,
        num_pieces=torrent.num_pieces,
        # The bytes of the files; BEP 47 pad files, which v1 pieces also cover, separately.
        total_length=sum(f.length for f in torrent.files if not f.pad),
        pad_length=sum(f.length for f in torrent.files if f.pad),
        private=torrent.private,
        trackers=[list(tier) for tier in torrent.trackers],
        web_seeds=list(torrent.web_seeds),
        comment=torrent.comment,
        created_by=torrent.created_by,
        creation_date=torrent.creation_date,
        files=[{"path": "/".join(f.path), "length": f.length, "pad": f.pad} for f in torrent.files],
        magnet=magnet_of(torrent),
    )
    return summary


def magnet_summary(uri: str) -> dict[str, Any]:
    """The same keys as :func:`torrent_summary`, for a magnet link: unknowns are ``None``."""
    magnet = require("btref.magnet", "info")
    m = magnet.parse_magnet(uri)
    v1, v2 = m.info_hash_v1, m.info_hash_v2
    return {
        "kind": "magnet",
        "name": m.name,
        "version": "hybrid" if v1 and v2 else ("v2" if v2 else "v1"),
        "info_hash": m.info_hash.hex(),
        "info_hash_v1": hexa(v1),
        "info_hash_v2": hexa(v2),
        "piece_length": None,
        "num_pieces": None,
        "total_length": None,
        "pad_length": None,
        "private": None,
        # BEP 9 gives a flat list of `tr` URLs; like libtorrent, each becomes its own tier.
        "trackers": [[url] for url in m.trackers],
        "web_seeds": list(m.web_seeds),
        "peers": list(m.peers),
        "select_only": m.select_only,
        "files": None,
        "magnet": m.to_uri(),
    }


def describe(s: dict[str, Any]) -> list[str]:
    """The human summary, one line per fact (used by ``btref info`` and ``btref demo``)."""
    lines: list[str] = []

    def row(label: str, value: object) -> None:
        lines.append(f"{label + ':':<14}{value}")

    if s["kind"] == "magnet":
        lines.append("Magnet link (BEP 9): only what the link says; files and pieces come from peers.")
    row("Name", s["name"] if s["name"] is not None else "(not in the link)")
    versions = {"v1": "v1 (BEP 3, SHA-1)", "v2": "v2 (BEP 52, SHA-256 merkle trees)",
                "hybrid": "hybrid (v1 + v2, BEP 52)"}
    row("Version", versions.get(s["version"], s["version"]))
    row("Info hash v1", s["info_hash_v1"] or "-")
    row("Info hash v2", s["info_hash_v2"] or "-")
    if s["kind"] == "torrent":
        files = s["files"]
        real = [f for f in files if not f["pad"]]
        pads = len(files) - len(real)
        row("Pieces", f"{s['num_pieces']} x {human_size(s['piece_length'])}")
        data = sum(f["length"] for f in real)
        padding = s["pad_length"]
        pad_note = f" (+{human_size(padding)} in {pads} pad file{'s' * (pads != 1)}, BEP 47)" if pads else ""
        row("Total size", f"{human_size(data)} ({data:,} bytes) in {len(real)} file{'s' * (len(real) != 1)}"
                          f"{pad_note}")
        row("Private", "yes (BEP 27: trackers only, no DHT or PEX)" if s["private"] else "no")
    for n, tier in enumerate(s["trackers"], 1):
        row("Trackers" if n == 1 else "", f"tier {n}: {', '.join(tier)}")
    if not s["trackers"]:
        row("Trackers", "none (peers must come from DHT, PEX or by hand)")
    for n, url in enumerate(s["web_seeds"]):
        row("Web seeds" if n == 0 else "", url)
    for n, peer in enumerate(s.get("peers") or ()):
        row("Peers" if n == 0 else "", peer)
    if s["kind"] == "torrent":
        if s["comment"]:
            row("Comment", s["comment"])
        if s["created_by"]:
            row("Created by", s["created_by"])
        if s["creation_date"] is not None:
            when = datetime.datetime.fromtimestamp(s["creation_date"], datetime.timezone.utc)
            row("Created on", when.strftime("%Y-%m-%d %H:%M:%S UTC"))
        lines.append("Files:")
        shown = [f for f in s["files"] if not f["pad"]]
        for f in shown[:MAX_FILES_SHOWN]:
            lines.append(f"  {human_size(f['length']):>10}  {f['path']}")
        if len(shown) > MAX_FILES_SHOWN:
            lines.append(f"  ... and {len(shown) - MAX_FILES_SHOWN} more (see --json)")
    if s["magnet"]:
        row("Magnet", s["magnet"])
    return lines
