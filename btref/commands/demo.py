"""``btref demo``: a short offline tour of a torrent, then a live swarm on loopback.

The prelude (issue 2), all local: make a sample folder with fixed content, turn it into
a hybrid torrent (BEP 3 + BEP 52, with BEP 47 pad files), show what the torrent says,
verify the data, break one byte and watch the check catch it, and print the magnet link
(BEP 9). Each step prints the ``btref`` command that does the same thing on its own.

The main act (:func:`step_swarm`, :mod:`btref.net.swarm_demo`): the reference tracker, a
seeder whose upload is throttled and ``--leechers`` leechers share a ``--size`` file over
real TCP on 127.0.0.1 (BEP 3 "Trackers" and "peer protocol"), with a live table of
everyone's progress; every copy is then compared byte for byte with the original, and a
final table shows who got what from whom: the leechers feed each other, so the seeder
uploads little more than one copy.

``btref demo --control`` tells another lesson instead, with real files and real sockets:
the publisher of a torrent has no control over it once it is seeded. One byte of the
sample changes; published again, it is a new torrent with a new info hash (BEP 3 "info
dictionary", BEP 52), so a new swarm; the changed data fails the old torrent's check at
the changed piece; and a seeder of the old torrent goes on serving the old bytes to
anyone who has the old torrent, while it refuses the handshake that names the new info
hash (BEP 3 "peer protocol").

The tour is a list of steps (:data:`STEPS`, :data:`CONTROL_STEPS`), each a function of a
:class:`Tour`; a later demo extends it by adding steps, not by editing these.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from btref.commands import create as create_cmd
from btref.commands import info as info_cmd
from btref.commands import verify as verify_cmd
from btref.commands.common import CommandError, hexa, human_size, parse_torrent, size_argument

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from rich.live import Live

    from btref.commands.common import Subparsers
    from btref.io.storage import VerifyReport
    from btref.metainfo import Torrent
    from btref.net.swarm_demo import SwarmReport

HELP = "a guided tour: make and check a torrent, then a live swarm on loopback"
DESCRIPTION = """\
A guided tour of btref in a few seconds. First, offline: it makes a small sample
folder, creates a hybrid torrent of it, shows what the torrent says, verifies the
data, breaks one byte to show the hash check catching it, and prints the magnet
link. Then a live swarm on 127.0.0.1 only: a tracker, one seeder with a limited
upload rate and a few leechers share a file over real TCP, with a live table;
every copy is checked byte for byte, and a last table shows who sent what to whom.

With --control, another lesson instead: who controls a file once it is seeded?
One byte of the sample changes and is published again: a new info hash, a new
swarm, and the old swarm's seeder still serves the old bytes.
"""
EPILOG = """\
examples:
  btref demo                        everything in a temporary folder, removed after
  btref demo --workdir lab1         keep the files in ./lab1 to play with them
  btref demo --leechers 8 --size 16M --seed-rate 2M
  btref demo --control              a changed file is a new torrent; the old one lives on
  btref demo --web --port 8000      watch the swarm in a browser at http://127.0.0.1:8000/

exit status: 0 every copy is identical, 1 a step or a copy went wrong (stderr says).

next: tutorials/lab1-torrent-anatomy.md walks through the first steps by hand;
docs/demo.md explains the swarm's tables.
"""

#: Bytes per piece in the sample torrent: the smallest BEP 52 allows, so a small sample
#: still has several pieces and pad files.
PIECE_LENGTH = 16 * 1024
#: Defaults of the swarm: file size, leechers, the seeder's upload limit (bytes per second).
SWARM_SIZE = 4 * 1024 * 1024
SWARM_LEECHERS = 4
SEED_RATE = 1024 * 1024


@attrs.define
class Tour:
    """What the steps share: where things are, and what earlier steps produced."""

    workdir: Path
    out: TextIO
    sample: Path | None = None
    torrent_path: Path | None = None
    torrent: Torrent | None = None
    failures: list[str] = attrs.Factory(list)
    #: The workdir is deleted at the end (no ``--workdir``).
    temporary: bool = False
    #: The swarm's parameters (``--size``, ``--leechers``, ``--seed-rate``, ``--timeout``).
    size: int = SWARM_SIZE
    leechers: int = SWARM_LEECHERS
    seed_rate: int = SEED_RATE
    timeout: float = 300.0
    #: A live table on a terminal (None: when ``out`` is one).
    live: bool | None = None
    report: SwarmReport | None = None
    #: ``--control``: the changed copy of the sample (its folder has the sample's name) and
    #: the torrent published from it.
    changed: Path | None = None
    changed_torrent: Torrent | None = None
    #: ``--web``: serve the browser view of the swarm on this port of 127.0.0.1 (0: any free one).
    web: int | None = None

    def say(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)


def sample_bytes(seed: str, size: int) -> bytes:
    """``size`` deterministic pseudo-random bytes (SHA-256 in counter mode): same everywhere."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def make_sample(root: Path) -> Path:
    """Write the sample folder ``root/btref-sample`` (about 70 KiB in 3 files); return it."""
    sample = root / "btref-sample"
    (sample / "data").mkdir(parents=True, exist_ok=True)
    (sample / "README.txt").write_text(
        "This folder was made by `btref demo`.\n"
        "Its content is the same on every machine, so its info hash is too.\n" * 4, encoding="ascii")
    (sample / "data" / "numbers.bin").write_bytes(sample_bytes("numbers", 40_000))
    verse = "A piece is a slice of the stream; a hash is its promise.\n"
    (sample / "data" / "verse.txt").write_text(verse * 500, encoding="ascii")
    return sample


def step_sample(t: Tour) -> None:
    t.sample = make_sample(t.workdir)
    t.say(f"made {t.sample}:")
    for path in sorted(p for p in t.sample.rglob("*") if p.is_file()):
        t.say(f"  {path.stat().st_size:>7,} bytes  {path.relative_to(t.workdir)}")


def step_create(t: Tour) -> None:
    assert t.sample is not None
    t.torrent_path = t.workdir / "btref-sample.torrent"
    t.say(f"$ btref create {t.sample} -o {t.torrent_path} --piece-length {PIECE_LENGTH}")
    data = create_cmd.make(t.sample, t.torrent_path, scheme="hybrid", piece_length=PIECE_LENGTH,
                           comment="made by btref demo")
    t.torrent = parse_torrent(data, "demo")
    t.say(f"wrote {len(data):,} bytes: the file list, a SHA-1 hash per piece (v1) and a",
          "SHA-256 merkle root per file (v2). Pad files align every file to a piece.")


def step_info(t: Tour) -> None:
    assert t.torrent is not None
    t.say(f"$ btref info {t.torrent_path}")
    t.say(*info_cmd.describe(info_cmd.torrent_summary(t.torrent)))


def _verify(t: Tour) -> VerifyReport:
    assert t.torrent is not None
    t.say(f"$ btref verify {t.torrent_path} {t.workdir}")
    report = verify_cmd.check(t.torrent, t.workdir)
    t.say(*(f"  {line}" for line in verify_cmd.report_lines(t.torrent, report)))
    return report


def step_verify(t: Tour) -> None:
    report = _verify(t)
    assert t.torrent is not None
    if report.good.count != t.torrent.num_pieces:
        t.failures.append("the fresh sample did not verify")


#: The byte both lessons change: its file in the sample, and its offset in that file.
FLIPPED = ("data/numbers.bin", 20_000)


def flip(root: Path) -> None:
    """Flip every bit of the :data:`FLIPPED` byte of the sample in ``root`` (twice: restored)."""
    path, position = root / FLIPPED[0], FLIPPED[1]
    data = bytearray(path.read_bytes())
    data[position] ^= 0xFF
    path.write_bytes(data)


def flipped_piece(torrent: Torrent) -> int:
    """The piece of ``torrent`` (the sample's) that holds the :data:`FLIPPED` byte."""
    entry = next(f for f in torrent.files if "/".join(f.path[1:]) == FLIPPED[0])
    return (entry.offset + FLIPPED[1]) // torrent.piece_length


def step_break(t: Tour) -> None:
    assert t.sample is not None and t.torrent is not None
    piece = flipped_piece(t.torrent)
    t.say(f"flipping byte {FLIPPED[1]:,} of {Path(FLIPPED[0]).name}: it lies in piece {piece}")
    flip(t.sample)
    report = _verify(t)
    if report.bad != [piece]:
        t.failures.append(f"expected exactly piece {piece} to be bad, got {report.bad}")
    flip(t.sample)
    t.say("restored the byte: one changed byte anywhere in a piece changes its hash.")


def step_magnet(t: Tour) -> None:
    assert t.torrent is not None
    magnet = info_cmd.magnet_of(t.torrent)
    t.say(magnet or "(btref.magnet is not installed, so no magnet link)",
          "A magnet link names the torrent by its info hash: a client that has only the link",
          "fetches the info dict from peers and checks it against that hash (BEP 9).")


# [docs: step-swarm]
def step_swarm(t: Tour) -> None:
    import asyncio

    from btref.net.swarm_demo import run_swarm

    if t.failures:
        t.say("(skipped: an earlier step went wrong)")
        return
    where = t.workdir / "swarm"
    t.say(f"a tracker, 1 seeder (upload limited to {human_size(t.seed_rate)}/s) and {t.leechers} leechers "
          f"share a {human_size(t.size)} file",
          f"over TCP on 127.0.0.1, each in its own folder under {where}:")
    live = t.out.isatty() if t.live is None else t.live
    view = LiveView(t.out, live)
    try:
        if t.web is None:
            report = asyncio.run(run_swarm(where, sample_bytes("swarm", t.size), leechers=t.leechers,
                                           seed_rate=t.seed_rate, timeout=t.timeout, show=view.show))
        else:
            report = asyncio.run(_swarm_on_the_web(t, where, view))
    finally:
        view.close()
    t.report = report
    t.say("", *summary_lines(report))
    t.failures.extend(report.problems)
# [/docs: step-swarm]


async def _swarm_on_the_web(t: Tour, where: Path, view: LiveView) -> SwarmReport:
    """The swarm, with its events served to a browser (:mod:`btref.web.server`) meanwhile."""
    from btref.net.swarm_demo import piece_length_for, run_swarm
    from btref.web.events import header
    from btref.web.server import Hub, serve

    assert t.web is not None
    hub = Hub("btref demo: a live swarm on 127.0.0.1")
    pieces = -(-t.size // piece_length_for(t.size))
    hub.add(header(pieces, [("seed", True), *((f"leecher-{n}", False) for n in range(1, t.leechers + 1))],
                   hub.title))
    try:
        server = serve(hub, t.web)
        url = await server.__aenter__()
    except OSError as e:
        raise CommandError(f"--web: cannot listen on 127.0.0.1:{t.web}: {e.strerror or e}") from None
    try:
        t.say(f"watch it in a browser: {url} (the page only reads; closing it changes nothing)")
        t.out.flush()
        return await run_swarm(where, sample_bytes("swarm", t.size), leechers=t.leechers, seed_rate=t.seed_rate,
                               timeout=t.timeout, show=view.show, events=hub.stream)
    finally:
        await server.__aexit__(None, None, None)


def _mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"


class LiveView:
    """The live display: a rich table redrawn in place on a terminal, plain lines elsewhere."""

    #: Seconds between two plain lines (a terminal is redrawn at every call).
    EVERY = 1.0

    def __init__(self, out: TextIO, live: bool) -> None:
        self.out = out
        self._next = 0.0
        self._live: Live | None = None
        if live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=out), auto_refresh=False, transient=False)
            self._live.start()

    def show(self, elapsed: float, rows: list[dict[str, Any]]) -> None:
        if self._live is not None:
            from rich.table import Table

            table = Table(title=f"live swarm, {elapsed:.1f} s")
            for column in ("peer", "done", "down", "up", "peers", "uploaded"):
                table.add_column(column, justify="left" if column == "peer" else "right")
            for r in rows:
                table.add_row(r["name"], f"{100 * r['fraction']:.0f}%", f"{_mib(r['down_rate'])}/s",
                              f"{_mib(r['up_rate'])}/s", str(r["peers"]), _mib(r["uploaded"]))
            self._live.update(table, refresh=True)
        elif elapsed >= self._next or all(r["done"] for r in rows):
            self._next = elapsed + self.EVERY
            seed, *leechers = rows
            cells = "  ".join(f"{r['name'].replace('leecher', 'L')} {100 * r['fraction']:3.0f}%" for r in leechers)
            print(f"  {elapsed:5.1f} s  {cells}  | seed sent {_mib(seed['uploaded'])}", file=self.out, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


# [docs: summary]
def summary_lines(report: SwarmReport) -> list[str]:
    """The final table and what it shows, in words."""
    size = report.size
    lines = [f"{'peer':<10} {'finished':>9} {'avg rate':>12} {'from seed':>10} {'from peers':>11} "
             f"{'uploaded':>10}  copy"]
    for r in report.rows:
        rate = r.rate(size)
        lines.append(f"{r.name:<10} {f'{r.seconds:.1f} s' if r.seconds else '-':>9} "
                     f"{f'{_mib(rate)}/s' if rate else '-':>12} {_mib(r.from_seed):>10} {_mib(r.from_peers):>11} "
                     f"{_mib(r.uploaded):>10}  {'identical' if r.identical else 'DIFFERS'}")
    lines.append(f"{'seed':<10} {'-':>9} {'-':>12} {'-':>10} {'-':>11} {_mib(report.seed_uploaded):>10}  original")
    received = report.from_seed + report.from_peers
    share = 100 * report.from_peers / received if received else 0.0
    lines += ["",
              f"The seeder uploaded {_mib(report.seed_uploaded)}: {report.seed_copies:.2f} x the file size "
              f"({human_size(size)}), for {len(report.rows)} copies.",
              f"The leechers received {_mib(received)} in all, {_mib(report.from_peers)} ({share:.0f}%) of it "
              "from each other.",
              "Leechers feed each other: each piece leaves the seeder about once, then spreads",
              "from leecher to leecher, so the seeder sends little more than one copy."]
    if report.problems:
        lines.append("Problems: " + "; ".join(report.problems))
    else:
        lines.append(f"Every copy is identical to the original, byte for byte ({report.seconds:.1f} s in all).")
    return lines
# [/docs: summary]


def step_next(t: Tour) -> None:
    assert t.torrent_path is not None
    torrent = Path("lab1") / t.torrent_path.name if t.temporary else t.torrent_path
    t.say("try next:")
    if t.temporary:
        t.say("  btref demo --workdir lab1",
              "      the same tour, but the files stay in ./lab1 for the commands below")
    t.say(
          f"  btref info {torrent} --json",
          "      every field of the torrent as one JSON object",
          f"  btref verify {torrent} {torrent.parent}   (after editing a byte of a file)",
          "      which pieces, and which files, does the change touch?",
          "  btref create SOMETHING -o some.torrent --scheme v1",
          "      a v1-only torrent: compare its info with the hybrid one",
          "  btref plugins",
          "      the strategies (hash schemes, pickers, chokers, ...) you can swap",
          "  btref demo --leechers 8 --seed-rate 256K",
          "      a slower seeder: the leechers get even more from each other",
          "  btref sim walkthrough",
          "      the same kind of swarm in the simulator (virtual clock), round by round",
          "  btref compare --help",
          "      pickers and chokers compared over many simulated swarms",
          "  tutorials/lab1-torrent-anatomy.md",
          "      the first lab: these steps by hand, with questions",
          "  docs/demo.md",
          "      this demo explained, column by column, with links into the source")


# -- ``--control``: a changed file is a new torrent, and the old one lives on ---------------


def _hashes(label: str, torrent: Torrent) -> list[str]:
    return [f"{label} info hash v1 {hexa(torrent.info_hash_v1)}",
            f"{'':<{len(label)}}           v2 {hexa(torrent.info_hash_v2)}"]


def step_republish(t: Tour) -> None:
    assert t.sample is not None and t.torrent is not None
    t.changed = t.workdir / "changed"
    copy = t.changed / t.sample.name
    shutil.rmtree(t.changed, ignore_errors=True)
    shutil.copytree(t.sample, copy)
    flip(copy)
    path = t.workdir / "btref-sample-changed.torrent"
    t.say(f"$ cp -r {t.sample} {t.changed}/   # then flip byte {FLIPPED[1]:,} of {FLIPPED[0]} there",
          f"$ btref create {copy} -o {path} --piece-length {PIECE_LENGTH}")
    data = create_cmd.make(copy, path, scheme="hybrid", piece_length=PIECE_LENGTH, comment="made by btref demo")
    t.changed_torrent = parse_torrent(data, "demo")
    t.say(*_hashes("old torrent:", t.torrent), *_hashes("new torrent:", t.changed_torrent),
          "Same name, same size, one byte apart: the info hash is a hash of the info",
          "dictionary, which holds every piece's hash, so the changed file is a new torrent.",
          "Peers find each other by info hash: the two versions have two separate swarms.")
    if t.changed_torrent.info_hash == t.torrent.info_hash:
        t.failures.append("the changed file kept the old info hash")


def step_verify_changed(t: Tour) -> None:
    assert t.torrent is not None and t.changed is not None
    piece = flipped_piece(t.torrent)
    t.say(f"$ btref verify {t.torrent_path} {t.changed}")
    report = verify_cmd.check(t.torrent, t.changed)
    t.say(*(f"  {line}" for line in verify_cmd.report_lines(t.torrent, report)),
          f"The old torrent rejects the new data at piece {piece}, the one holding the changed byte:",
          "a client of the old swarm would never accept that piece from a peer who has the new version.")
    if report.bad != [piece]:
        t.failures.append(f"expected exactly piece {piece} to fail against the old torrent, got {report.bad}")


# [docs: old-swarm]
async def _old_swarm(t: Tour, fetched: Path) -> bool:
    """Seed the old torrent from the original sample; knock with the new info hash; then
    download the old torrent into ``fetched``. Returns whether the knock was refused."""
    import asyncio

    from btref import wire
    from btref.net.driver import Client, make_peer_id

    assert t.torrent is not None and t.changed_torrent is not None
    seeder = Client(t.torrent, t.workdir, host="127.0.0.1", discovery=(), seed=True)
    async with seeder:
        assert seeder.port is not None
        t.say(f"$ btref seed {t.torrent_path} {t.workdir} --port {seeder.port} &   # the old swarm's seeder",
              "a client with the new torrent connects to it and sends a handshake naming the new info hash:")
        reader, writer = await asyncio.open_connection("127.0.0.1", seeder.port)
        try:
            writer.write(wire.encode(wire.Handshake(t.changed_torrent.info_hash, make_peer_id())))
            answer = await asyncio.wait_for(reader.read(wire.HANDSHAKE_LENGTH), t.timeout)
        finally:
            writer.close()
            await writer.wait_closed()
        refused = answer == b""
        t.say("  the seeder closed the connection: it serves only the torrents it has" if refused
              else f"  the seeder answered {len(answer)} bytes")
        t.say(f"$ btref download {t.torrent_path} -o {fetched} --peer 127.0.0.1:{seeder.port}")
        async with Client(t.torrent, fetched, host="127.0.0.1", discovery=(),
                          peers=[f"127.0.0.1:{seeder.port}"]) as leecher:
            await asyncio.wait_for(leecher.complete.wait(), t.timeout)
            t.say(f"  {leecher.torrent.num_pieces} of {leecher.torrent.num_pieces} pieces downloaded and verified")
        return refused
# [/docs: old-swarm]


def step_old_swarm(t: Tour) -> None:
    import asyncio

    assert t.sample is not None and t.changed is not None
    fetched = t.workdir / "fetched"
    shutil.rmtree(fetched, ignore_errors=True)
    try:
        refused = asyncio.run(_old_swarm(t, fetched))
    except TimeoutError:
        t.failures.append(f"the old swarm did not deliver within {t.timeout:g} s")
        return
    got = fetched / t.sample.name / FLIPPED[0]
    old, new = (root / FLIPPED[0] for root in (t.sample, t.changed / t.sample.name))
    same_as_old = got.read_bytes() == old.read_bytes()
    t.say(f"{got.relative_to(t.workdir)} is {'identical to the original' if same_as_old else 'NOT the original'}:",
          f"byte {FLIPPED[1]:,} is {got.read_bytes()[FLIPPED[1]]:#04x} there, "
          f"{new.read_bytes()[FLIPPED[1]]:#04x} in the changed file.",
          "The publisher changed the file, but whoever seeds the old torrent keeps serving the",
          "old bytes to anyone who has the old torrent or its magnet link: nobody can update or",
          "withdraw a file once its swarm lives. (A server's owner can: one place to change.)")
    if not refused:
        t.failures.append("the old seeder accepted a handshake for the new info hash")
    if not same_as_old:
        t.failures.append("the old torrent did not bring back the old bytes")


#: ``btref demo --control``: the lesson on control, in order.
CONTROL_STEPS: list[tuple[str, Callable[[Tour], None]]] = [
    ("make a sample folder", step_sample),
    ("create a hybrid torrent", step_create),
    ("change one byte and publish the file again", step_republish),
    ("check the changed data against the old torrent", step_verify_changed),
    ("the old swarm lives on", step_old_swarm),
]


#: The tour, in order: (title, step). Later demos append their own steps.
STEPS: list[tuple[str, Callable[[Tour], None]]] = [
    ("make a sample folder", step_sample),
    ("create a hybrid torrent", step_create),
    ("read what the torrent says", step_info),
    ("verify the data", step_verify),
    ("break one byte and verify again", step_break),
    ("the magnet link", step_magnet),
    ("a live swarm on loopback", step_swarm),
    ("what to try next", step_next),
]


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", metavar="DIR", help="keep the sample and the torrent here (default: a temp folder)")
    p.add_argument("--size", type=size_argument, default=SWARM_SIZE, metavar="BYTES",
                   help="size of the file the swarm shares (default 4M)")
    p.add_argument("--leechers", type=_count, default=SWARM_LEECHERS, metavar="N",
                   help="leechers in the swarm, 1 to 32 (default 4)")
    p.add_argument("--seed-rate", type=size_argument, default=SEED_RATE, metavar="BYTES",
                   help="the seeder's upload limit per second (default 1M)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="give the swarm up after this long (default 300)")
    p.add_argument("--control", action="store_true",
                   help="instead of the tour: change one byte of a published file; a new info hash, "
                        "a new swarm, and the old swarm still serves the old bytes")
    p.add_argument("--web", action="store_true",
                   help="also show the swarm in a browser: serves a live view on 127.0.0.1 and prints its URL")
    p.add_argument("--port", type=int, default=0, metavar="N",
                   help="the --web view's port (default: a free one)")
    p.set_defaults(run=run)


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 32:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of leechers from 1 to 32")
    return int(text)


def tour(workdir: Path, out: TextIO, steps: list[tuple[str, Callable[[Tour], None]]] | None = None,
         *, temporary: bool = False, **swarm: Any) -> Tour:
    """Run ``steps`` (default :data:`STEPS`) in ``workdir``; return the finished :class:`Tour`.

    ``swarm`` sets the swarm's fields of :class:`Tour` (``size``, ``leechers``, ...).
    """
    t = Tour(workdir=workdir, out=out, temporary=temporary, **swarm)
    chosen = STEPS if steps is None else steps
    for n, (title, step) in enumerate(chosen, 1):
        t.say("", f"== step {n} of {len(chosen)}: {title} ==")
        step(t)
    return t


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    swarm = {"size": args.size, "leechers": args.leechers, "seed_rate": args.seed_rate, "timeout": args.timeout,
             "web": args.port if args.web else None}
    if args.web and not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port}: expected a port from 0 to 65535")
    steps = CONTROL_STEPS if args.control else STEPS
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        t = tour(workdir, out, steps, **swarm)
    else:
        with tempfile.TemporaryDirectory(prefix="btref-demo-") as tmp:
            t = tour(Path(tmp), out, steps, temporary=True, **swarm)
        t.say("", f"(the files were in {tmp} and are gone; keep them with --workdir DIR)")
    for failure in t.failures:
        print(f"btref: demo: {failure}", file=sys.stderr)
    return 1 if t.failures else 0
