"""How fast do the hash-scheme plugins check pieces, next to raw hashlib on the same buffer?

Run: ``.venv/bin/python bench/hashing.py`` (or ``make bench``). For each piece size it times

* ``hashlib sha1`` over every piece, then the ``sha1`` plugin's ``btref_verify_piece``;
* ``hashlib sha256`` over every piece, then the ``merkle-sha256`` plugin (16 KiB leaves,
  a subtree per piece, compared with the piece layer);
* the same plugins called through the pluggy hook relay, as the engine calls them;

and prints MB/s and each plugin's ratio to its raw hashlib baseline (goal: sha1 >= 0.9,
merkle-sha256 >= 0.7 at 256 KiB pieces). Finally it times :func:`btref.io.create.create_torrent`
(hybrid, the file read once for both schemes) against reading the file and running both
raw hashes over it. Best of ``--repeat`` runs; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from btref import hashing, plugins  # noqa: E402
from btref.io.create import create_torrent  # noqa: E402
from btref.metainfo import FileEntry, Torrent  # noqa: E402
from btref_hashes.merkle_sha256 import MerkleSHA256  # noqa: E402
from btref_hashes.sha1 import SHA1  # noqa: E402


def build_torrent(data: bytes, piece_length: int) -> Torrent:
    """A hybrid single-file Torrent for ``data`` (both schemes have hashes to check)."""
    view = memoryview(data)
    layer = [hashing.piece_root(view[i : i + piece_length], piece_length) for i in range(0, len(data), piece_length)]
    root = hashing.root_from_piece_layer(layer, piece_length)
    pieces = tuple(hashlib.sha1(view[i : i + piece_length]).digest() for i in range(0, len(data), piece_length))
    return Torrent(
        name="bench", piece_length=piece_length,
        files=(FileEntry(path=("bench",), length=len(data), offset=0, pieces_root=root),),
        piece_hashes=pieces, piece_layers={root: b"".join(layer)},
        info_hash_v1=b"\1" * 20, info_hash_v2=b"\2" * 32, info_bytes=b"",
    )


def best(repeat: int, **runs: Callable[[], object]) -> dict[str, float]:
    """Best time of each run; the runs take turns, so none is favoured by a warm cache."""
    times: dict[str, float] = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name] = min(times[name], time.perf_counter() - start)
    return times


def bench_pieces(size: int, piece_length: int, repeat: int) -> list[tuple[str, float, float | None]]:
    data = os.urandom(size)
    torrent = build_torrent(data, piece_length)
    view = memoryview(data)
    slices = [view[i : i + piece_length] for i in range(0, size, piece_length)]
    sha1, merkle = SHA1(), MerkleSHA256()
    hook = plugins.plugin_manager({"hashes": [sha1, merkle]}).hook
    assert all(sha1.btref_verify_piece(torrent, i, s) for i, s in enumerate(slices))
    assert all(merkle.btref_verify_piece(torrent, i, s) for i, s in enumerate(slices))

    t = best(
        repeat,
        raw1=lambda: [hashlib.sha1(s).digest() for s in slices],
        plug1=lambda: [sha1.btref_verify_piece(torrent, i, s) for i, s in enumerate(slices)],
        raw256=lambda: [hashlib.sha256(s).digest() for s in slices],
        plug256=lambda: [merkle.btref_verify_piece(torrent, i, s) for i, s in enumerate(slices)],
        both=lambda: [hook.btref_verify_piece(torrent=torrent, index=i, data=s) for i, s in enumerate(slices)],
    )
    raw1, plug1, raw256, plug256, both = (t[k] for k in ("raw1", "plug1", "raw256", "plug256", "both"))
    mb = size / 1e6
    return [
        ("hashlib sha1", mb / raw1, None),
        ("sha1 plugin", mb / plug1, raw1 / plug1),
        ("hashlib sha256", mb / raw256, None),
        ("merkle-sha256 plugin", mb / plug256, raw256 / plug256),
        ("both, via hook relay", mb / both, (raw1 + raw256) / both),
    ]


def bench_create(size: int, repeat: int) -> list[tuple[str, float, float | None]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.bin"
        path.write_bytes(os.urandom(size))

        def raw() -> None:
            h1, h2 = hashlib.sha1(), hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h1.update(chunk)
                    h2.update(chunk)

        t = best(repeat, raw=raw, create=lambda: create_torrent(path, version="hybrid", piece_length=256 * 1024))
        t_raw, t_create = t["raw"], t["create"]
    mb = size / 1e6
    return [("read + sha1 + sha256", mb / t_raw, None), ("create_torrent hybrid", mb / t_create, t_raw / t_create)]


def show(title: str, rows: list[tuple[str, float, float | None]]) -> None:
    print(f"\n{title}")
    for name, rate, ratio in rows:
        extra = f"   ratio {ratio:.2f}" if ratio is not None else ""
        print(f"  {name:<24} {rate:9.1f} MB/s{extra}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="buffer size in MiB (default 64)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the best counts")
    parser.add_argument("--pieces", default="16,256,4096", help="piece sizes in KiB (default 16,256,4096)")
    args = parser.parse_args(argv)
    size = args.mib * 1024 * 1024
    print(f"btref hashing bench: {args.mib} MiB buffer, best of {args.repeat}, Python {sys.version.split()[0]}")
    for kib in (int(k) for k in args.pieces.split(",")):
        show(f"verify, {kib} KiB pieces", bench_pieces(size, kib * 1024, args.repeat))
    show("create (one read feeds both schemes)", bench_create(size, max(1, args.repeat // 2)))


if __name__ == "__main__":
    main()
