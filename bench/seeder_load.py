"""Seeder load: one ``btref seed`` serving a crowd of concurrent leechers on loopback (BEP 3).

Usage::

    .venv/bin/python bench/seeder_load.py                          # 200 leechers, 8 MiB each
    .venv/bin/python bench/seeder_load.py --leechers 50 --size 2 --json

The seeder is the real command, ``python -m btref seed TORRENT DATA --max-peers N``, in its
own process (rechecked and listening before the clock starts). The leechers are written
here, lighter than a btref client so that 200 of them fit in one process (``--procs``
spreads them over more): each opens a connection to the seeder, all at once, and speaks
plain BEP 3: handshake, ``interested``, then up to ``--pipeline`` ``request`` messages
outstanding while unchoked (forgotten on ``choke``, as BEP 3 says the seeder drops
them), every piece checked against its SHA-1 before it counts. A leecher uploads nothing
and talks to nobody else, so every byte is the seeder's.

Reported: the leechers that finished (and why any did not); the connections the seeder
held at once (its sockets in ``/proc/PID/fd``, polled every 20 ms, less those it had
before the crowd came); its RSS before the crowd and at its peak (``VmRSS`` polled, and
``VmHWM``); its CPU seconds (``/proc/PID/stat`` user + system) while serving; the
aggregate upload rate (payload bytes the leechers verified over the time from the first
connect to the last piece); each leecher's time from connect to its last piece (min,
median, max) and to the seeder's handshake. ``--json`` prints the same as one JSON object.
Nothing is asserted; numbers depend on the machine (see docs/core/driver.md).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from btref import wire  # noqa: E402
from btref.metainfo import Torrent, parse  # noqa: E402

#: Message ids the leecher reads (BEP 3).
CHOKE, UNCHOKE, PIECE = 0, 1, 7
POLL = 0.02


# -- a light leecher (runs in --role leechers processes) -----------------------------------------


async def leech(torrent: Torrent, port: int, number: int, pipeline: int, timeout: float) -> dict[str, Any]:
    """Download every piece from the seeder at ``port``; the times and what went wrong, if anything."""
    result: dict[str, Any] = {"start": time.monotonic(), "bytes": 0}
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            peer_id = b"-LD0001-" + b"%012d" % number
            writer.write(wire.encode(wire.Handshake(torrent.info_hash, peer_id, bytes(8))))
            writer.write(wire.encode(wire.Interested()))
            answer = wire.parse_handshake(await reader.readexactly(wire.HANDSHAKE_LENGTH))
            if answer.info_hash != torrent.info_hash:
                raise ValueError("the seeder answered for another torrent")
            result["handshake"] = time.monotonic()
            await fetch(reader, writer, torrent, pipeline, result)
            result["finish"] = time.monotonic()
    except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    return result


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, torrent: Torrent,
                pipeline: int, result: dict[str, Any]) -> None:
    """Ask for the blocks of every piece in order, ``pipeline`` at a time; verify each piece."""
    blocks = [(i, begin, min(wire.BLOCK_SIZE, torrent.piece_size(i) - begin))
              for i in range(torrent.num_pieces) for begin in range(0, torrent.piece_size(i), wire.BLOCK_SIZE)]
    wanted = list(reversed(blocks))  # popped from the end: piece 0 first
    asked: set[tuple[int, int]] = set()
    pieces = {i: bytearray(torrent.piece_size(i)) for i in range(torrent.num_pieces)}
    left = {i: len(range(0, torrent.piece_size(i), wire.BLOCK_SIZE)) for i in range(torrent.num_pieces)}
    lengths = {(i, begin): length for i, begin, length in blocks}
    choked, verified = True, 0
    while verified < torrent.num_pieces:
        if not choked and wanted and len(asked) < pipeline:
            while wanted and len(asked) < pipeline:
                index, begin, length = wanted.pop()
                asked.add((index, begin))
                writer.write(struct.pack(">IBIII", 13, 6, index, begin, length))
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        if size == 0:
            continue  # keep-alive
        body = await reader.readexactly(size)
        kind = body[0]
        if kind == UNCHOKE:
            choked = False
        elif kind == CHOKE:  # the seeder drops what we asked for: ask again when unchoked
            choked = True
            wanted.extend((i, b, lengths[i, b]) for i, b in asked)
            asked.clear()
        elif kind == PIECE:
            index, begin = struct.unpack_from(">II", body, 1)
            if (index, begin) not in asked:
                continue  # late, after a choke: asked again already
            asked.discard((index, begin))
            block = memoryview(body)[9:]
            pieces[index][begin : begin + len(block)] = block
            result["bytes"] += len(block)
            left[index] -= 1
            if not left[index]:
                if hashlib.sha1(pieces.pop(index)).digest() != torrent.piece_hashes[index]:
                    raise ValueError(f"piece {index} failed its SHA-1")
                verified += 1


async def crowd(torrent: Torrent, port: int, first: int, count: int, pipeline: int,
                timeout: float) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(leech(torrent, port, first + n, pipeline, timeout) for n in range(count))))


# -- the seeder, seen through /proc --------------------------------------------------------------


class Watch:
    """The seeder process's sockets, RSS and CPU time, polled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base_sockets = self.sockets()
        self.base_rss = self.rss()
        self.base_cpu = self.cpu()
        self.peak_sockets = self.peak_rss = 0

    def sockets(self) -> int:
        fds = Path(f"/proc/{self.pid}/fd")
        count = 0
        for fd in fds.iterdir():
            try:
                count += os.readlink(fd).startswith("socket:")
            except OSError:
                pass  # closed while we looked
        return count

    def status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def rss(self) -> int:
        return self.status("VmRSS")

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def poll(self) -> None:
        self.peak_sockets = max(self.peak_sockets, self.sockets() - self.base_sockets)
        self.peak_rss = max(self.peak_rss, self.rss())


def make_data(folder: Path, size: int) -> Path:
    top = folder / "payload"
    top.mkdir(parents=True)
    (top / "data.bin").write_bytes(os.urandom(size))
    return top


def start_seeder(torrent: Path, data_dir: Path, max_peers: int, choker: str) -> tuple[subprocess.Popen[str], int]:
    cmd = [sys.executable, "-m", "btref", "seed", str(torrent), str(data_dir), "--host", "127.0.0.1",
           "--no-trackers", "--max-peers", str(max_peers), "--choker", choker]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    line = proc.stdout.readline() if proc.stdout else ""
    if "127.0.0.1:" not in line:
        proc.kill()
        raise SystemExit(f"the seeder did not start: {line.strip() or 'no output'} ({' '.join(cmd)})")
    return proc, int(line.split("127.0.0.1:")[1].split(";")[0].split()[0])


def start_leechers(torrent: Path, port: int, leechers: int, procs: int, pipeline: int,
                   timeout: float) -> list[subprocess.Popen[str]]:
    out, first = [], 0
    for p in range(procs):
        count = leechers // procs + (p < leechers % procs)
        cmd = [sys.executable, __file__, "--role", "leechers", str(torrent), str(port), str(first), str(count),
               str(pipeline), str(timeout)]
        out.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT))
        first += count
    return out


def summary(opts: argparse.Namespace, results: list[dict[str, Any]], watch: Watch, cpu: float,
            hwm: int) -> dict[str, Any]:
    done = [r for r in results if "finish" in r]
    errors: dict[str, int] = {}
    for r in results:
        if "error" in r:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    start = min(r["start"] for r in results)
    end = max((r["finish"] for r in done), default=start)
    times = sorted(r["finish"] - r["start"] for r in done)
    handshakes = sorted(r["handshake"] - r["start"] for r in results if "handshake" in r)
    moved = sum(r["bytes"] for r in results)
    return {
        "leechers": opts.leechers, "size_mib": opts.size, "piece_kib": opts.piece_length, "choker": opts.choker,
        "pipeline": opts.pipeline, "procs": opts.procs, "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "finished": len(done), "handshaken": len(handshakes), "errors": errors,
        "peak_connections": watch.peak_sockets, "rss_before_mib": watch.base_rss / 2**20,
        "rss_peak_mib": watch.peak_rss / 2**20, "rss_hwm_mib": hwm / 2**20, "cpu_seconds": cpu,
        "seconds": end - start, "upload_mib_s": moved / 2**20 / max(end - start, 1e-9),
        "finish_s": {"min": times[0], "median": statistics.median(times), "max": times[-1]} if times else None,
        "handshake_s": {"min": handshakes[0], "median": statistics.median(handshakes), "max": handshakes[-1]}
        if handshakes else None,
    }


def print_table(s: dict[str, Any]) -> None:
    print(f"{s['leechers']} leechers x {s['size_mib']} MiB ({s['piece_kib']} KiB pieces), choker {s['choker']}, "
          f"{s['pipeline']} requests each, {s['procs']} leecher process(es); {s['cpus']} CPUs, Python {s['python']}")
    rows = [
        ("leechers finished", f"{s['finished']} of {s['leechers']} ({s['handshaken']} handshaken)"),
        ("connections held at peak", f"{s['peak_connections']}"),
        ("seeder RSS before / peak", f"{s['rss_before_mib']:.1f} / {s['rss_peak_mib']:.1f} MiB "
                                     f"(VmHWM {s['rss_hwm_mib']:.1f})"),
        ("seeder CPU while serving", f"{s['cpu_seconds']:.1f} s"),
        ("aggregate upload", f"{s['upload_mib_s']:.1f} MiB/s over {s['seconds']:.1f} s"),
    ]
    for name in ("finish_s", "handshake_s"):
        if s[name]:
            what = "leecher done after" if name == "finish_s" else "handshake answered after"
            rows.append((f"{what} (min/median/max)",
                         f"{s[name]['min']:.2f} / {s[name]['median']:.2f} / {s[name]['max']:.2f} s"))
    for error, count in s["errors"].items():
        rows.append(("failed", f"{count} x {error}"))
    for name, value in rows:
        print(f"  {name:<44}{value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leechers", type=int, default=200, help="concurrent leechers (default 200)")
    parser.add_argument("--size", type=int, default=8, help="MiB of data each leecher fetches (default 8)")
    parser.add_argument("--piece-length", type=int, default=256, help="KiB per piece (default 256)")
    parser.add_argument("--choker", default="tit-for-tat", help="the seeder's --choker (default tit-for-tat)")
    parser.add_argument("--pipeline", type=int, default=32, help="requests each leecher keeps outstanding (32)")
    parser.add_argument("--procs", type=int, default=1, help="processes the leechers are spread over (default 1)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a leecher may take (default 600)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.role == "leechers":
        path, port, first, count, pipeline, timeout = opts.args
        torrent = parse(Path(path).read_bytes())
        results = asyncio.run(crowd(torrent, int(port), int(first), int(count), int(pipeline), float(timeout)))
        print(json.dumps(results))
        return 0

    from btref.io.create import create_torrent

    with tempfile.TemporaryDirectory(prefix="btref-seeder-load-") as tmp:
        root = Path(tmp)
        make_data(root / "src", opts.size << 20)
        path = root / "load.torrent"
        path.write_bytes(create_torrent(root / "src" / "payload", version="v1",
                                        piece_length=opts.piece_length << 10))
        seeder, port = start_seeder(path, root / "src", opts.leechers + 10, opts.choker)
        try:
            watch = Watch(seeder.pid)
            crowds = start_leechers(path, port, opts.leechers, opts.procs, opts.pipeline, opts.timeout)
            while any(p.poll() is None for p in crowds):
                watch.poll()
                time.sleep(POLL)
            cpu, hwm = watch.cpu() - watch.base_cpu, watch.status("VmHWM")
            results = [r for p in crowds for r in json.loads(p.communicate()[0])]
        finally:
            seeder.send_signal(signal.SIGINT)
            seeder.wait(timeout=60)
            if seeder.stdout:
                seeder.stdout.close()
    s = summary(opts, results, watch, cpu, hwm)
    if opts.json:
        print(json.dumps(s, indent=1))
    else:
        print_table(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
