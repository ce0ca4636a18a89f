"""``btref download``: fetch a torrent's data from peers (BEP 3), with a progress display.

The work is done by the asyncio driver (:class:`btref.net.driver.Client`): recheck
what is already in the output folder (resume), announce to the torrent's trackers and to
the peers given with ``--peer``, download, verify every piece (SHA-1 for v1, merkle
SHA-256 for v2, both for hybrid: BEP 3, BEP 52), write it. TORRENT may be a magnet link:
then the info dictionary is fetched from the peers first (BEP 9, :mod:`btref.net.magnet_fetch`),
found through the link's ``tr=`` and ``x.pe=``, ``--peer``, and the DHT (``--dht-bootstrap``,
``--dht FILE``: one node for the whole run, BEP 5), and kept in
``DIR/.btref/<info hash>.torrent`` so a restarted download need not fetch it again; the
link's ``ws=`` web seeds (BEP 19) serve pieces once the metadata is known.
``--only``/``--skip`` (and a link's BEP 53 ``so=``) choose files: only the pieces that
cover them are fetched (:func:`btref.layout.choose_files`); ``--priority PATTERN=LEVEL``
asks for the pieces of high files before normal ones and low ones last
(:func:`btref.layout.file_priorities`). Exit status 0 once every
wanted piece is verified *on disk*; with ``--seed`` it goes on seeding until Ctrl-C. When no data
arrives for ``--timeout`` seconds it gives up with one line saying why, and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from btref.commands.common import STRATEGY_HELP, CommandError, human_size, load_torrent, size_argument, strategy
from btref.errors import BtrefError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref_discovery.dht.plugin import DHT

    from btref.commands.common import Subparsers
    from btref.io.progress import Progress
    from btref.metainfo import Torrent
    from btref.net.driver import Client
    from btref.net.magnet_fetch import OpenConnection

HELP = "download a torrent's data from peers (and seed it with --seed)"
DESCRIPTION = """\
Download the data of TORRENT into the folder DIR, from the peers its trackers name
and the peers you give with --peer. Data already in DIR is checked first and kept
where it is right, so an interrupted download resumes where it stopped. Every
piece is checked against the torrent's hashes before it is written.
"""
EPILOG = """\
examples:
  btref download album.torrent -o ~/Downloads
  btref download album.torrent -o out --peer 127.0.0.1:6881 --events log.jsonl
  btref download album.torrent -o out --picker rarest-first:random_first=0 --seed
  btref download album.torrent -o out --only '*.flac' --skip 'cd2'
  btref download album.torrent -o out --priority 'cd1/01*=high' --priority '*.jpg=low'

try next: start `btref seed album.torrent DATA_DIR --port 6881` in another
terminal and download from it with --peer 127.0.0.1:6881; read the --events
log (one JSON object per line); swap the picker or choker, or tune its
parameters (`btref plugins --verbose`); fetch one file with --only, look at
DIR/.btref/ (the pieces it shares with skipped files), then run again without
--only and watch it pick up from there.

exit status: 0 every piece is verified on disk, 2 it could not finish (the
line on stderr says why), 130 interrupted (Ctrl-C; data so far is kept).
"""


def add_network_options(p: argparse.ArgumentParser) -> None:
    """Options ``download`` and ``seed`` share."""
    p.add_argument("--peer", action="append", default=[], metavar="HOST:PORT",
                   help="a peer to connect to (repeatable), besides those the trackers name")
    p.add_argument("--port", type=int, default=0, help="TCP port to listen on (default 0: any free port)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0: all)")
    p.add_argument("--choker", default="tit-for-tat", metavar="NAME[:KEY=VALUE,...]",
                   help=f"choker {STRATEGY_HELP} (default tit-for-tat)")
    p.add_argument("--events", metavar="FILE.jsonl", help="append every event as one JSON line to this file")
    p.add_argument("--web", action="store_true",
                   help="also show this client in a browser: a live view on 127.0.0.1, its URL printed")
    p.add_argument("--web-port", type=int, default=0, metavar="N", help="the --web view's port (default: a free one)")
    p.add_argument("--no-trackers", action="store_true", help="do not announce to the torrent's trackers")
    p.add_argument("--discovery", action="append", default=[], metavar="NAME[:KEY=VALUE,...]",
                   help="also find peers with this discovery plugin (repeatable), e.g. one you wrote in "
                        "Lab 7 and installed; `btref plugins` lists them")
    p.add_argument("--upload-limit", type=size_argument, metavar="RATE",
                   help="upload at most RATE bytes of data per second (e.g. 256K, 1M; default: no limit); "
                        "a choker that gives upload shares (propshare, bittyrant) splits the limited upload "
                        "by its shares, any other shares it equally among the peers it unchoked")
    p.add_argument("--encryption", choices=("off", "allow", "prefer", "require"), default="off",
                   help="message stream encryption (MSE/PE, RC4; obfuscation, not security): off (default) "
                        "speaks plain BitTorrent only; allow also answers peers that encrypt; prefer also "
                        "dials with encryption, falling back to plain for a peer that refuses it; require "
                        "encrypts every connection and refuses plain peers; a magnet link's metadata fetch "
                        "follows the same policy. Try `--encryption require` against libtorrent set to "
                        "forced encryption")
    p.add_argument("--transport", choices=("tcp", "utp", "both"), default="tcp",
                   help="how to reach peers: tcp, utp (BEP 29: UDP with LEDBAT, which yields to other "
                        "traffic) or both (uTP first, then TCP, as libtorrent does); with utp or both, "
                        "uTP is also accepted on the UDP port of the listening port's number (default tcp). "
                        "Try `--transport utp` against Transmission with utp-enabled, or libtorrent")
    p.add_argument("--dht-bootstrap", action="append", default=[], metavar="HOST:PORT",
                   help="join the DHT (BEP 5) at this node (repeatable), to find peers and be found "
                        "without a tracker; e.g. a `btref dht` node")
    p.add_argument("--dht", metavar="FILE",
                   help="join the DHT from the node state saved in FILE (what `btref dht --state FILE` "
                        "writes; made if absent) and save it there on exit")
    p.add_argument("--download-limit", type=size_argument, metavar="RATE",
                   help="take in at most RATE bytes of data per second from all peers together (e.g. 1M; "
                        "default: no limit): btref reads its sockets no faster, and TCP slows the senders")


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("download", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("torrent", metavar="TORRENT",
                   help="the .torrent file, or a magnet link (quote it): its metadata comes from peers (x.pe=, "
                        "tr=, --peer, the DHT), its data also from the web seeds of ws= (BEP 19)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to download into (made if absent)")
    add_network_options(p)
    p.add_argument("--picker", default="rarest-first", metavar="NAME[:KEY=VALUE,...]",
                   help=f"piece picker {STRATEGY_HELP} (default rarest-first)")
    p.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="download only the files this glob matches (repeatable), by their path as "
                        "`btref info` lists it, with or without the torrent's folder, or a folder they "
                        "lie in: '*.flac', 'cd1', 'album/cd1/*'; replaces a magnet link's so=")
    p.add_argument("--skip", action="append", default=[], metavar="PATTERN",
                   help="leave out the files this glob matches (repeatable, after --only); their bytes "
                        "in pieces shared with chosen files wait in DIR/.btref/ for a later run")
    p.add_argument("--priority", action="append", default=[], metavar="PATTERN=LEVEL",
                   help="file priority (repeatable; a later rule wins): LEVEL is high, normal (the "
                        "default) or low, PATTERN as for --only. The pieces of high files are asked for "
                        "first, low ones last, from each peer that has them; to leave a file out, --skip it. "
                        "Try '--priority cd1=high --events log.jsonl' and watch the piece_verified order")
    p.add_argument("--seed", action="store_true", help="keep seeding after the download, until Ctrl-C")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="give up when no data arrived for this long (default 120)")
    p.set_defaults(run=run)


def session_options(args: argparse.Namespace, dht: DHT | None = None) -> dict[str, Any]:
    """Client keyword arguments from the shared options (``dht``: from :func:`join_dht`)."""
    discovery: tuple[object, ...] = () if args.no_trackers else ("http-tracker", "udp-tracker")
    if dht is not None:
        discovery += (dht,)
    discovery += tuple(strategy("discovery", text).create() for text in args.discovery)
    return {
        "host": args.host, "port": args.port, "peers": tuple(args.peer), "choker": args.choker,
        "events": args.events, "discovery": (*discovery, "pex"), "upload_limit": args.upload_limit,
        "download_limit": args.download_limit, "encryption": args.encryption,
        "transport": args.transport,
    }


def check_dht_options(args: argparse.Namespace) -> None:
    """Refuse a bad ``--dht-bootstrap`` or ``--dht`` before any work starts.

    :raises CommandError: for an address that is not HOST:PORT, or a FILE that is not a
        saved node state or cannot be written.
    """
    from btref.discovery import PeerAddress

    for text in args.dht_bootstrap:
        try:
            PeerAddress.parse(text)
        except ValueError:
            raise CommandError(f"--dht-bootstrap {text!r}: expected HOST:PORT, e.g. 127.0.0.1:6881") from None
    if not args.dht:
        return
    if os.path.isdir(args.dht) or not os.path.isdir(os.path.dirname(os.path.abspath(args.dht))):
        raise CommandError(f"--dht {args.dht}: not a file in an existing folder (the node state is saved there)")
    if os.path.exists(args.dht):
        from btref_discovery.dht.node import load  # the file format belongs to the plugin

        try:
            load(args.dht)
        except BtrefError as exc:
            raise CommandError(f"--dht {exc}") from None


async def join_dht(args: argparse.Namespace) -> DHT | None:
    """With ``--dht-bootstrap`` or ``--dht`` (checked by :func:`check_dht_options`): a DHT
    node (the ``dht`` plugin, by its entry-point name) started in the running loop and
    joined through those nodes and the saved state, for the whole session; ``None``
    without either. Close it with ``await dht.close()``, which saves ``--dht FILE``.

    :raises CommandError: for a node address that cannot be resolved.
    """
    from btref.plugins import create

    if not args.dht_bootstrap and not args.dht:
        return None
    dht: DHT = create("discovery", "dht", bootstrap=list(args.dht_bootstrap), host=args.host, state_file=args.dht)
    try:
        await dht.start()
    except BtrefError as exc:
        raise CommandError(f"cannot join the DHT: {exc}") from None
    return dht


def dht_note(dht: DHT | None) -> str:
    """For the start-up line: where our DHT node listens and how many nodes it knows."""
    if dht is None or dht.server is None or dht.server.node is None:
        return ""
    host, port = dht.server.address
    return f"; DHT node on {host}:{port} (UDP), {len(dht.server.node.table) + len(dht.server.node.table6)} nodes known"


def web_view(args: argparse.Namespace, name: str, pieces: int, *, seed: bool, title: str,
             out: TextIO) -> AsyncContextManager[Any]:
    """``--web``: the live view of this one client (:func:`btref.web.server.one_client`)."""
    from btref.web.server import one_client

    if not 0 <= args.web_port <= 65535:
        raise CommandError(f"--web-port {args.web_port}: expected a port from 0 to 65535")
    return one_client(args.web_port, name, pieces, seed, title, out, args.events)


async def enter_web_view(stack: contextlib.AsyncExitStack, view: AsyncContextManager[Any]) -> Any:
    try:
        return await stack.enter_async_context(view)
    except OSError as e:
        raise CommandError(f"--web-port: cannot listen on 127.0.0.1: {e.strerror or e}") from None


def limit_note(args: argparse.Namespace) -> str:
    """For the start-up line: the rate limits, if there are any, and the encryption policy."""
    return "".join(f"; {way} limited to {human_size(rate)}/s"
                   for way, rate in (("upload", args.upload_limit), ("download", args.download_limit)) if rate) \
        + (f"; encryption {args.encryption}" if args.encryption != "off" else "")


async def from_magnet(args: argparse.Namespace, out: TextIO, peer_id: bytes,
                      dht: DHT | None = None) -> tuple[Torrent, tuple[OpenConnection, ...]]:
    """Fetch a magnet link's metadata (BEP 9); returns the torrent and the connections left
    open for the download (under ``peer_id``), and adds the peers found to ``args.peer``."""
    from btref.errors import StorageError
    from btref.io.storage import load_metadata, save_metadata
    from btref.magnet import parse_magnet
    from btref.net.magnet_fetch import fetch_metadata

    magnet = parse_magnet(args.torrent)
    saved = load_metadata(args.output, magnet.info_hash_v1, magnet.info_hash_v2)
    if saved is not None:  # an earlier run fetched it: no BEP 9 exchange this time
        print(f"btref download: metadata of {saved.name} from {metadata_path(args.output, saved)} "
              "(saved by an earlier run)", file=out, flush=True)
        args.peer = [*args.peer, *magnet.peers]
        return attrs.evolve(saved, trackers=tuple((url,) for url in magnet.trackers),
                            web_seeds=magnet.web_seeds), ()
    if not args.port:  # the port announced now is the one the download listens on later
        import socket

        with socket.socket() as s:
            s.bind((args.host, 0))
            args.port = s.getsockname()[1]
    options = session_options(args, dht)
    print(f"btref download: fetching the metadata of {magnet.name or magnet.info_hash.hex()} (BEP 9)", file=out)
    result = await fetch_metadata(magnet, peers=args.peer, discovery=options["discovery"], port=args.port,
                                  timeout=args.timeout, peer_id=peer_id, keep_connections=True,
                                  encryption=args.encryption)
    print(f"btref download: metadata ({len(result.torrent.info_bytes)} bytes) from {', '.join(result.sources)} "
          f"in {result.seconds:.3f} s", file=out, flush=True)
    args.peer = [*args.peer, *(str(p) for p in result.peers)]
    try:
        save_metadata(args.output, result.torrent)
    except StorageError:
        result.close()
        raise
    return result.torrent, result.connections


def metadata_path(output: str, torrent: Torrent) -> str:
    """Where :func:`~btref.io.storage.save_metadata` keeps a magnet link's metadata."""
    from btref.io.storage import STATE_FOLDER

    return os.path.join(output, STATE_FOLDER, f"{torrent.info_hash.hex()}.torrent")


def chosen_files(args: argparse.Namespace, torrent: Torrent) -> frozenset[int] | None:
    """The files ``--only``/``--skip`` and a magnet link's ``so=`` choose (``None``: all).

    :raises CommandError: a pattern matches no file, or nothing is left.
    """
    from btref.errors import SelectionError
    from btref.layout import choose_files

    so = None
    if args.torrent.lower().startswith("magnet:") and not args.only:
        from btref.magnet import parse_magnet

        so = parse_magnet(args.torrent).select_only
    if not (args.only or args.skip or so is not None):
        return None
    try:
        files = choose_files(torrent, only=args.only, skip=args.skip, indices=so)
    except SelectionError as exc:  # the user's words, said back as they are
        raise CommandError(str(exc)) from None
    return None if len(files) == sum(not f.pad for f in torrent.files) else files


def priorities_of(args: argparse.Namespace, torrent: Torrent) -> dict[int, int]:
    """The file priorities ``--priority`` sets (file index to level; empty: none).

    :raises CommandError: a rule that is not PATTERN=LEVEL, or whose pattern matches no file.
    """
    from btref.errors import SelectionError
    from btref.layout import file_priorities

    try:
        return file_priorities(torrent, args.priority)
    except SelectionError as exc:
        raise CommandError(str(exc)) from None


def priority_note(torrent: Torrent, priorities: dict[int, int]) -> str:
    """One line: how many files each level has."""
    from btref.layout import PRIORITIES, file_names

    names = {level: word for word, level in PRIORITIES.items()}
    counts: dict[str, int] = {}
    for i, _ in file_names(torrent):
        word = names[priorities.get(i, PRIORITIES["normal"])]
        counts[word] = counts.get(word, 0) + 1
    return "priorities: " + ", ".join(f"{counts[w]} {w}" for w in reversed(PRIORITIES) if w in counts)


def selection_note(torrent: Torrent, files: frozenset[int]) -> str:
    """One line: which files are chosen, and how many pieces that takes."""
    from btref.layout import Layout, file_names

    names = [name for i, name in file_names(torrent) if i in files]
    pieces = Layout(torrent).pieces_of(files).count
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (f"{len(names)} of {len(file_names(torrent))} files chosen ({shown}): {pieces} of "
            f"{torrent.num_pieces} pieces")


async def follow(session: Client, progress: Progress) -> None:
    """Update ``progress`` once a second until the session is finished."""
    import asyncio

    while not session.finished.is_set():
        progress.update(session.stats())
        try:
            await asyncio.wait_for(session.finished.wait(), 1.0)
        except TimeoutError:
            pass


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import asyncio  # the event loop and the driver: only when a download starts

    from btref.net.driver import Client, make_peer_id
    from btref.io.progress import Progress

    out = out or sys.stdout
    for peer in args.peer:
        if ":" not in peer:
            raise CommandError(f"--peer {peer!r}: expected HOST:PORT, e.g. 127.0.0.1:6881")
    args.picker, args.choker = strategy("pickers", args.picker).label, strategy("chokers", args.choker).label
    for text in args.discovery:
        strategy("discovery", text)  # a typo is one line now, not after the torrent is read
    check_dht_options(args)
    magnet = args.torrent.lower().startswith("magnet:")
    torrent = None if magnet else load_torrent(args.torrent, "download")
    chosen = None if torrent is None else chosen_files(args, torrent)  # a bad pattern: before any folder
    ranked = {} if torrent is None else priorities_of(args, torrent)
    os.makedirs(args.output, exist_ok=True)

    async def main() -> tuple[bool, str | None, bool]:
        # One event loop, one peer id and one DHT node for the metadata fetch and the download,
        # so the download goes on over the fetch's connections (BEP 9 then BEP 3, same sockets).
        peer_id = make_peer_id()
        adopt: tuple[OpenConnection, ...] = ()
        dht = await join_dht(args)
        try:
            files, priorities = chosen, ranked
            if torrent is None:
                fetched, adopt = await from_magnet(args, out, peer_id, dht)
                try:
                    files = chosen_files(args, fetched)
                    priorities = priorities_of(args, fetched)
                except BaseException:
                    for conn in adopt:
                        conn.close()
                    raise
            else:
                fetched = torrent
            async with contextlib.AsyncExitStack() as stack:
                options = session_options(args, dht)
                if args.web:  # the --events file, if any, is written through the view's stream
                    options["events"] = await enter_web_view(stack, web_view(
                        args, "download", fetched.num_pieces, seed=False, title=f"btref download {fetched.name}",
                        out=out))
                session = Client(fetched, args.output, picker=args.picker, seed=args.seed, peer_id=peer_id,
                                 stall_timeout=args.timeout, adopt=adopt, files=files, priorities=priorities,
                                 **options)
                await stack.enter_async_context(session)
                print(f"btref download: {fetched.name} ({human_size(fetched.total_length)}, "
                      f"{fetched.num_pieces} pieces) into {args.output}; listening on {args.host}:{session.port}"
                      f"{limit_note(args)}{dht_note(dht)}",
                      file=out, flush=True)
                if files is not None:
                    print(f"btref download: {selection_note(fetched, files)}", file=out, flush=True)
                if priorities:
                    print(f"btref download: {priority_note(fetched, priorities)}", file=out, flush=True)
                progress = Progress(session.stats()["total_bytes"], label=fetched.name)
                try:
                    await follow(session, progress)
                finally:
                    progress.close(session.stats())
            return session.complete.is_set(), session.error, files is not None
        finally:
            if dht is not None:
                await dht.close()  # saves --dht FILE

    complete, error, chose = asyncio.run(main())
    if not complete:
        raise CommandError(f"download incomplete: {error or 'stopped'}")
    if chose:
        print(f"btref download: done, every piece of the chosen files verified in {args.output}. Next: "
              "run it again without --only/--skip (or so=) to fetch the rest", file=out)
    else:
        print(f"btref download: done, every piece verified in {args.output}."
              + ("" if magnet else f" Next: btref verify {args.torrent} {args.output}"), file=out)
    return 0
