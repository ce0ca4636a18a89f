"""Lab 1's grader: what btref says the answers are (BEP 3 "metainfo files", BEP 47 pad
files, BEP 52 hybrid torrents); the student's sheet is read by ``tutorials/answer_sheet.py``.

Nothing here knows an answer: :class:`Facts` redoes the lab's steps in a temporary folder
with btref itself (the sample of ``btref demo --workdir``, ``btref create``, ``btref
verify``) when a test first asks, so the grader stays right when btref changes.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from btref import bencode
from btref.cli import main as btref
from btref.commands import demo
from btref.commands import verify as verify_cmd
from btref.io.torrent_file import load
from btref.metainfo import Torrent


class Facts:
    """What btref says about the lab's steps, each computed the first time it is asked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def sample(self) -> Path:
        """``btref demo --workdir``'s first steps: the sample folder and the hybrid torrent."""
        demo.tour(self.folder, io.StringIO(), steps=demo.STEPS[:2])
        return self.folder / "btref-sample"

    def create(self, name: str, *options: str) -> Torrent:
        """``btref create SAMPLE -o NAME --scheme v1 --piece-length 16K OPTIONS``, parsed."""
        out = self.folder / name
        with contextlib.redirect_stdout(io.StringIO()):
            status = btref(["create", str(self.sample), "-o", str(out), "--scheme", "v1", "--piece-length", "16K",
                            *options])
        assert status == 0, f"btref create {' '.join(options)} failed with status {status}"
        return load(out)

    @cached_property
    def v1(self) -> Torrent:
        """Step 2: ``btref create lab1/btref-sample -o lab1/v1.torrent --scheme v1 --piece-length 16K``."""
        return self.create("v1.torrent")

    @cached_property
    def v1_bytes(self) -> bytes:
        self.create("v1.torrent")
        return (self.folder / "v1.torrent").read_bytes()

    @cached_property
    def v1_top(self) -> dict[bytes, Any]:
        """lab1/v1.torrent's top-level dictionary, decoded."""
        top = bencode.decode(self.v1_bytes)
        assert isinstance(top, dict)
        return top

    @cached_property
    def hybrid(self) -> Torrent:
        return load(self.sample.parent / "btref-sample.torrent")

    def damaged(self, change: Any) -> dict[str, list[int]]:
        """``btref verify`` of both torrents on a copy of the sample that ``change(copy)`` damaged."""
        torrents = {"v1": self.v1, "hybrid": self.hybrid}  # both made from the intact sample first
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            copy = Path(tmp) / "btref-sample"
            shutil.copytree(self.sample, copy)
            change(copy)
            reports = {name: verify_cmd.check(torrent, Path(tmp)) for name, torrent in torrents.items()}
        return {f"{name}_{kind}": list(getattr(r, kind)) for name, r in reports.items() for kind in ("bad", "missing")}

    @cached_property
    def flipped(self) -> dict[str, list[int]]:
        """Step 5: byte 20,000 of numbers.bin flipped."""
        def flip(copy: Path) -> None:
            path = copy / "data" / "numbers.bin"
            data = bytearray(path.read_bytes())
            data[20_000] ^= 0xFF
            path.write_bytes(data)
        return self.damaged(flip)

    def truncated(self, size: int) -> dict[str, list[int]]:
        """Step 6: ``truncate -s SIZE data/verse.txt``."""
        def cut(copy: Path) -> None:
            with open(copy / "data" / "verse.txt", "r+b") as f:
                f.truncate(size)
        return self.damaged(cut)
