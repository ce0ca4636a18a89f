"""``btref demo``: a guided tour of a torrent's life cycle, on a machine with no network.

The issue-2 tour, all local: make a sample folder with fixed content, turn it into a
hybrid torrent (BEP 3 + BEP 52, with BEP 47 pad files), show what the torrent says,
verify the data, break one byte and watch the check catch it, and print the magnet link
(BEP 9). Each step prints the ``btref`` command that does the same thing on its own.

The tour is a list of steps (:data:`STEPS`), each a function of a :class:`Tour`; a later
demo (seeding to libtorrent over loopback, a simulated swarm) extends it by adding steps,
not by editing these.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs

from btref.commands import create as create_cmd
from btref.commands import info as info_cmd
from btref.commands import verify as verify_cmd
from btref.commands.common import parse_torrent

HELP = "a guided tour: make, inspect, verify and break a torrent (no network)"
DESCRIPTION = """\
A guided tour of btref in a few seconds: it makes a small sample folder, creates
a hybrid torrent of it, shows what the torrent says, verifies the data, breaks
one byte to show the hash check catching it, and prints the magnet link. Each
step shows the btref command that does it on its own.
"""
EPILOG = """\
examples:
  btref demo                        everything in a temporary folder, removed after
  btref demo --workdir lab1         keep the files in ./lab1 to play with them

next: tutorials/lab1-torrent-anatomy.md walks through the same steps by hand.
"""

#: Bytes per piece in the sample torrent: the smallest BEP 52 allows, so a small sample
#: still has several pieces and pad files.
PIECE_LENGTH = 16 * 1024


@attrs.define
class Tour:
    """What the steps share: where things are, and what earlier steps produced."""

    workdir: Path
    out: TextIO
    sample: Path | None = None
    torrent_path: Path | None = None
    torrent: Any = None
    failures: list[str] = attrs.Factory(list)
    #: The workdir is deleted at the end (no ``--workdir``).
    temporary: bool = False

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
    t.say(f"$ btref info {t.torrent_path}")
    t.say(*info_cmd.describe(info_cmd.torrent_summary(t.torrent)))


def _verify(t: Tour) -> Any:
    t.say(f"$ btref verify {t.torrent_path} {t.workdir}")
    report = verify_cmd.check(t.torrent, t.workdir)
    t.say(*(f"  {line}" for line in verify_cmd.report_lines(t.torrent, report)))
    return report


def step_verify(t: Tour) -> None:
    report = _verify(t)
    if report.good.count != t.torrent.num_pieces:
        t.failures.append("the fresh sample did not verify")


def step_break(t: Tour) -> None:
    assert t.sample is not None
    target = t.sample / "data" / "numbers.bin"
    entry = next(f for f in t.torrent.files if f.path[-1] == "numbers.bin")
    position = 20_000
    piece = (entry.offset + position) // t.torrent.piece_length
    t.say(f"flipping byte {position:,} of {target.name}: it lies in piece {piece}")
    data = bytearray(target.read_bytes())
    data[position] ^= 0xFF
    target.write_bytes(data)
    report = _verify(t)
    if report.bad != [piece]:
        t.failures.append(f"expected exactly piece {piece} to be bad, got {report.bad}")
    data[position] ^= 0xFF
    target.write_bytes(data)
    t.say("restored the byte: one changed byte anywhere in a piece changes its hash.")


def step_magnet(t: Tour) -> None:
    magnet = info_cmd.magnet_of(t.torrent)
    t.say(magnet or "(btref.magnet is not installed, so no magnet link)",
          "A magnet link names the torrent by its info hash: a client that has only the link",
          "fetches the info dict from peers and checks it against that hash (BEP 9).")


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
          "  tutorials/lab1-torrent-anatomy.md",
          "      the first lab: these steps by hand, with questions")


#: The tour, in order: (title, step). Later demos append their own steps.
STEPS: list[tuple[str, Callable[[Tour], None]]] = [
    ("make a sample folder", step_sample),
    ("create a hybrid torrent", step_create),
    ("read what the torrent says", step_info),
    ("verify the data", step_verify),
    ("break one byte and verify again", step_break),
    ("the magnet link", step_magnet),
    ("what to try next", step_next),
]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", metavar="DIR", help="keep the sample and the torrent here (default: a temp folder)")
    p.set_defaults(run=run)


def tour(workdir: Path, out: TextIO, steps: list[tuple[str, Callable[[Tour], None]]] | None = None,
         *, temporary: bool = False) -> Tour:
    """Run ``steps`` (default :data:`STEPS`) in ``workdir``; return the finished :class:`Tour`."""
    t = Tour(workdir=workdir, out=out, temporary=temporary)
    chosen = STEPS if steps is None else steps
    for n, (title, step) in enumerate(chosen, 1):
        t.say("", f"== step {n} of {len(chosen)}: {title} ==")
        step(t)
    return t


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        t = tour(workdir, out)
    else:
        with tempfile.TemporaryDirectory(prefix="btref-demo-") as tmp:
            t = tour(Path(tmp), out, temporary=True)
        t.say("", f"(the files were in {tmp} and are gone; keep them with --workdir DIR)")
    for failure in t.failures:
        print(f"btref: demo: {failure}", file=sys.stderr)
    return 1 if t.failures else 0
