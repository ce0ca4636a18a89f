"""DHT load: one btref DHT node taking 50,000 KRPC packets on loopback (BEP 5).

Usage::

    .venv/bin/python bench/dht_load.py                      # 50,000 packets from 4 senders
    .venv/bin/python bench/dht_load.py --packets 10000 --senders 2 --json

The node is the real one, ``python -m btref dht --host 127.0.0.1`` (a
:class:`~btref_discovery.dht.io.DHTServer` on a UDP socket), in its own process. A few
sender sockets in this process, each one source address, send it a mix of packets:

* the four BEP 5 queries: ``ping``, ``find_node``, ``get_peers``, and ``announce_peer``
  with the token its ``get_peers`` answer gave that sender (valid) or with a wrong one;
* malformed packets: not bencoded, no transaction id, an unknown method, a ``target``
  that is not 20 bytes, a packet over the 4,096-byte limit, a response nobody asked for.

Every query comes from a fresh random node id, and the announces name a random info hash
of ``--hashes`` (5,000) and a random port: one source trying to fill the routing table and
the peer store. Each sender keeps at most ``--window`` packets that expect an answer in
flight (a lost one is given up after 2 s), so the node is pushed as fast as it answers
without the kernel dropping datagrams.

Reported: packets sent and answers received (by kind: response, error code), packets per
second handled (what the node counted in, over the time from the first packet to the last
answer), the node's CPU seconds (``/proc/PID/stat``), its RSS before and after
(``VmRSS``; ``VmHWM`` for the peak), and what it holds at the end: nodes in its routing
table and torrents in its peer store (its own count, printed when it stops). ``--json``
prints one JSON object. Nothing is asserted; numbers depend on the machine (see
docs/plugins/discovery/dht.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from btref import bencode  # noqa: E402
from btref_discovery.dht import krpc  # noqa: E402

#: The mix, as (kind, weight).
MIX = (("ping", 20), ("find_node", 20), ("get_peers", 20), ("announce_peer", 15), ("announce_bad_token", 10),
       ("malformed_with_tid", 10), ("malformed_dropped", 5))
LOST_AFTER = 2.0


def malformed(rng: random.Random, tid: bytes, with_tid: bool) -> bytes:
    """A packet the node must refuse: with a usable transaction id it answers an error."""
    if with_tid:
        return rng.choice((
            bencode.encode({b"t": tid, b"y": b"q", b"q": b"no_such_method", b"a": {b"id": rng.randbytes(20)}}),
            bencode.encode({b"t": tid, b"y": b"q", b"q": b"find_node", b"a": {b"id": rng.randbytes(20),
                                                                                b"target": b"short"}}),
            bencode.encode({b"t": tid, b"y": b"x"}),
        ))
    return rng.choice((
        rng.randbytes(rng.randrange(1, 200)),                         # not bencoded
        bencode.encode({b"y": b"q", b"q": b"ping"}),                  # no transaction id
        b"d1:t2:xx1:y1:q1:q4:ping1:ad2:id20:" + bytes(20) + b"e" + b"x" * 5000 + b"e",  # over MAX_PACKET
        bencode.encode({b"t": tid, b"y": b"r", b"r": {b"id": rng.randbytes(20)}}),  # a response nobody asked for
    ))


class Sender(asyncio.DatagramProtocol):
    """One source address: sends its share of the mix, ``window`` answers in flight at most."""

    def __init__(self, number: int, node: tuple[str, int], count: int, window: int, hashes: list[bytes]) -> None:
        self.rng = random.Random(number)
        self.node, self.count, self.window, self.hashes = node, count, window, hashes
        self.kinds = [k for k, w in MIX for _ in range(w)]
        self.waiting: dict[bytes, float] = {}  # tid -> when sent
        self.room = asyncio.Event()
        self.token = b""
        self.got_token = asyncio.Event()
        self.tally: dict[str, int] = {}
        self.sent = self.lost = 0
        self.last_answer = 0.0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            message = krpc.decode(data)
        except Exception:
            self.count_as("undecodable answer")
            return
        if isinstance(message, krpc.Query):  # the node pinging a questionable entry: ignored
            self.count_as(f"query from the node ({message.method})")
            return
        if self.waiting.pop(message.tid, None) is None:
            self.count_as("late answer")
            return
        self.last_answer = time.monotonic()
        if isinstance(message, krpc.Error):
            self.count_as(f"error {message.code}")
        else:
            self.count_as("response")
            token = message.values.get(b"token")
            if isinstance(token, bytes) and not self.got_token.is_set():
                self.token = token
                self.got_token.set()
        self.room.set()

    def error_received(self, exc: Exception) -> None:
        self.count_as(f"socket error {exc}")

    def count_as(self, what: str) -> None:
        self.tally[what] = self.tally.get(what, 0) + 1

    def send(self, data: bytes, tid: bytes | None) -> None:
        assert self.transport is not None
        if tid is not None:
            self.waiting[tid] = time.monotonic()
        self.transport.sendto(data, self.node)
        self.sent += 1

    async def make_room(self) -> None:
        while len(self.waiting) >= self.window:
            self.room.clear()
            try:
                async with asyncio.timeout(LOST_AFTER / 4):
                    await self.room.wait()
            except TimeoutError:
                now = time.monotonic()
                for tid, at in list(self.waiting.items()):
                    if now - at > LOST_AFTER:
                        del self.waiting[tid]
                        self.lost += 1

    async def run(self) -> None:
        rng = self.rng
        self.send(krpc.encode_query(b"tk", "get_peers", rng.randbytes(20), info_hash=self.hashes[0]), b"tk")
        async with asyncio.timeout(10):
            await self.got_token.wait()  # the token the node gives this address
        for n in range(self.count - 1):
            await self.make_room()
            tid = n.to_bytes(4, "big")
            kind = rng.choice(self.kinds)
            me = rng.randbytes(20)
            if kind == "ping":
                self.send(krpc.encode_query(tid, "ping", me), tid)
            elif kind == "find_node":
                self.send(krpc.encode_query(tid, "find_node", me, target=rng.randbytes(20)), tid)
            elif kind == "get_peers":
                self.send(krpc.encode_query(tid, "get_peers", me, info_hash=rng.choice(self.hashes)), tid)
            elif kind in ("announce_peer", "announce_bad_token"):
                token = self.token if kind == "announce_peer" else rng.randbytes(20)
                self.send(krpc.encode_query(tid, "announce_peer", me, info_hash=rng.choice(self.hashes),
                                            port=rng.randrange(1, 65536), token=token, implied_port=0), tid)
            elif kind == "malformed_with_tid":
                self.send(malformed(rng, tid, True), tid)
            else:
                self.send(malformed(rng, tid, False), None)
        while self.waiting:  # the last answers, or their loss
            await self.make_room() if len(self.waiting) >= self.window else await asyncio.sleep(0.01)
            now = time.monotonic()
            for tid, at in list(self.waiting.items()):
                if now - at > LOST_AFTER:
                    del self.waiting[tid]
                    self.lost += 1


async def blast(node: tuple[str, int], packets: int, senders: int, window: int, hashes: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(0)
    pool = [rng.randbytes(20) for _ in range(hashes)]
    crowd: list[Sender] = []
    for n in range(senders):
        sender = Sender(n, node, packets // senders + (n < packets % senders), window, pool)
        await loop.create_datagram_endpoint(lambda: sender, local_addr=("127.0.0.1", 0))
        crowd.append(sender)
    start = time.monotonic()
    try:
        await asyncio.gather(*(s.run() for s in crowd))
    finally:
        for s in crowd:
            if s.transport is not None:
                s.transport.close()
    tally: dict[str, int] = {}
    for s in crowd:
        for what, count in s.tally.items():
            tally[what] = tally.get(what, 0) + count
    end = max([s.last_answer for s in crowd] + [start])
    return {"sent": sum(s.sent for s in crowd), "lost": sum(s.lost for s in crowd), "answers": tally,
            "seconds": end - start}


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=50_000, help="packets in all (default 50000)")
    parser.add_argument("--senders", type=int, default=4, help="sender sockets, one source address each (4)")
    parser.add_argument("--window", type=int, default=32, help="answers each sender waits for at most (32)")
    parser.add_argument("--hashes", type=int, default=5000, help="info hashes the announces pick from (5000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    opts = parser.parse_args()

    cmd = [sys.executable, "-m", "btref", "dht", "--host", "127.0.0.1"]
    node = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        first = node.stdout.readline() if node.stdout else ""
        found = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        if not found:
            raise SystemExit(f"the DHT node did not start: {first.strip() or 'no output'}")
        rss_before, cpu_before = proc_status(node.pid, "VmRSS"), proc_cpu(node.pid)
        result = asyncio.run(blast(("127.0.0.1", int(found.group(1))), opts.packets, opts.senders, opts.window,
                                   opts.hashes))
        rss_after, hwm, cpu = proc_status(node.pid, "VmRSS"), proc_status(node.pid, "VmHWM"), proc_cpu(node.pid)
    finally:
        node.send_signal(signal.SIGINT)
        rest = node.communicate(timeout=60)[0]
    held = re.search(r"(\d+) nodes known, (\d+) packets in, (\d+) queries out, (\d+) torrents stored", rest)
    if not held:
        raise SystemExit(f"the DHT node did not report its counts: {rest.strip()}")
    table, received, queries_out, torrents = (int(g) for g in held.groups())
    s = {
        "packets": opts.packets, "senders": opts.senders, "window": opts.window, "hashes": opts.hashes,
        "cpus": os.cpu_count(), "python": sys.version.split()[0], **result, "node_received": received,
        "node_queries_out": queries_out, "handled_per_s": received / max(result["seconds"], 1e-9),
        "cpu_seconds": cpu - cpu_before, "rss_before_mib": rss_before / 2**20, "rss_after_mib": rss_after / 2**20,
        "rss_hwm_mib": hwm / 2**20, "table_nodes": table, "torrents_stored": torrents,
    }
    if opts.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"{s['packets']:,} packets from {s['senders']} senders ({s['window']} answers in flight each, "
          f"announces over {s['hashes']:,} info hashes); {s['cpus']} CPUs, Python {s['python']}")
    rows = [
        ("packets sent / counted in by the node", f"{s['sent']:,} / {received:,}"),
        ("handled", f"{s['handled_per_s']:,.0f} packets/s over {s['seconds']:.1f} s"),
        ("node CPU", f"{s['cpu_seconds']:.1f} s"),
        ("node RSS before / after", f"{s['rss_before_mib']:.1f} / {s['rss_after_mib']:.1f} MiB "
                                    f"(VmHWM {s['rss_hwm_mib']:.1f})"),
        ("routing table / torrents stored at the end", f"{table} nodes / {torrents:,} torrents"),
        ("answers lost (none after 2 s)", f"{s['lost']:,}"),
    ]
    rows += [(f"answers: {what}", f"{count:,}") for what, count in sorted(s["answers"].items())]
    rows.append(("queries the node sent (its own pings)", f"{queries_out:,}"))
    for name, value in rows:
        print(f"  {name:<46}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
