"""Transfer benchmark: one torrent over loopback TCP between btref and libtorrent, all four ways.

Usage::

    .venv/bin/python bench/transfer.py                 # 256 MiB, every pair
    .venv/bin/python bench/transfer.py --size 64 --pairs btref-btref,libtorrent-btref

The data (pseudo-random, in a temporary folder) becomes a torrent made by btref.io.create
(BEP 3 v1 by default; ``--version hybrid`` or ``v2`` for BEP 52). For each pair
``SEEDER-LEECHER`` the seeder runs in a subprocess and gets ready (rechecked, listening);
then the leecher is launched in its own subprocess with the seeder as its only peer
(btref: ``btref download --peer``; libtorrent: ``handle.connect_peer``) and the clock runs
from its launch until it exits with every piece verified on disk. Reported per pair:

* MB/s: torrent bytes / wall seconds, launch to finish (start-up and recheck included),
  the best of ``--repeat`` runs (other load on the machine only ever slows a run down);
* CPU s/GiB: the leecher's user + system CPU time (``os.wait4``'s rusage of that child,
  i.e. what ``resource.getrusage(RUSAGE_CHILDREN)`` adds up) per GiB moved;
* peak RSS of the leecher (``ru_maxrss``).

and, last, the btref leecher's rate relative to libtorrent's from the same seeder.
Nothing here is asserted; numbers depend on the machine (see docs/core/driver.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ("btref-btref", "libtorrent-btref", "btref-libtorrent", "libtorrent-libtorrent")


# -- libtorrent roles (run in their own subprocess) --------------------------------------------


def _lt_session(port: int = 0):  # type: ignore[no-untyped-def]
    import libtorrent as lt

    return lt, lt.session({
        "listen_interfaces": f"127.0.0.1:{port}", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
        "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True,
        "out_enc_policy": lt.enc_policy.disabled, "in_enc_policy": lt.enc_policy.disabled,
        "allowed_enc_level": lt.enc_level.plaintext,
    })


def _lt_add(lt, session, torrent: str, save_path: str):  # type: ignore[no-untyped-def]
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save_path
    return session.add_torrent(params)


def lt_seed(torrent: str, data_dir: str) -> None:
    """Seed until stdin closes; print the port once the data is rechecked."""
    lt, session = _lt_session()
    handle = _lt_add(lt, session, torrent, data_dir)
    while not handle.status().is_seeding:
        time.sleep(0.01)
    print(f"seeding on 127.0.0.1:{session.listen_port()}", flush=True)
    sys.stdin.read()


def lt_leech(torrent: str, out_dir: str, peer: str) -> None:
    """Download from ``peer`` and exit once every piece is on disk."""
    lt, session = _lt_session()
    handle = _lt_add(lt, session, torrent, out_dir)
    host, port = peer.rsplit(":", 1)
    handle.connect_peer((host, int(port)))
    while not handle.status().is_seeding:
        time.sleep(0.005)
    session.pause()


# -- the benchmark ----------------------------------------------------------------------------------


def make_data(folder: Path, size: int) -> Path:
    """Two files (most of the bytes, and a small one) of pseudo-random data."""
    top = folder / "payload"
    top.mkdir(parents=True)
    chunk = os.urandom(1 << 20)
    with open(top / "big.bin", "wb") as f:
        left = size - 12345
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
            chunk = chunk[1:] + chunk[:1]  # no two MiB alike, so no piece hashes repeat
    (top / "small.bin").write_bytes(os.urandom(12345))
    return top


def start_seeder(kind: str, torrent: Path, data_dir: Path) -> tuple[subprocess.Popen, str]:
    if kind == "btref":
        cmd = [sys.executable, "-m", "btref", "seed", str(torrent), str(data_dir), "--host", "127.0.0.1",
               "--no-trackers"]
    else:
        cmd = [sys.executable, __file__, "--role", "lt-seed", str(torrent), str(data_dir)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=ROOT)
    line = proc.stdout.readline() if proc.stdout else ""
    port = line.split("127.0.0.1:")[1].split(";")[0].split()[0]
    return proc, f"127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    if proc.stdin:
        proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=30)
    if proc.stdout:
        proc.stdout.close()


def leech(kind: str, torrent: Path, out_dir: Path, peer: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one leecher subprocess."""
    if kind == "btref":
        cmd = [sys.executable, "-m", "btref", "download", str(torrent), "-o", str(out_dir), "--peer", peer,
               "--host", "127.0.0.1", "--no-trackers", "--timeout", "60"]
    else:
        cmd = [sys.executable, __file__, "--role", "lt-leech", str(torrent), str(out_dir), peer]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} leecher failed with exit status {proc.returncode}: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def same_files(a: Path, b: Path) -> bool:
    """Byte-exact, a MiB at a time (reading whole files would inflate the RSS that children inherit)."""
    for p in a.iterdir():
        with open(p, "rb") as fa, open(b / p.name, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    break
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="MiB of data (default 256)")
    parser.add_argument("--version", default="v1", choices=("v1", "hybrid", "v2"))
    parser.add_argument("--piece-length", type=int, default=None, help="KiB per piece (default: btref.io.create's)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per pair; the fastest is shown (default 3)")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="SEEDER-LEECHER pairs, comma separated")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.role == "lt-seed":
        lt_seed(*opts.args)
        return 0
    if opts.role == "lt-leech":
        lt_leech(*opts.args)
        return 0

    from btref.io.create import create_torrent

    size = opts.size << 20
    with tempfile.TemporaryDirectory(prefix="btref-bench-") as tmp:
        root = Path(tmp)
        src = root / "src"
        top = make_data(src, size)
        data = create_torrent(top, version=opts.version,
                              piece_length=opts.piece_length and opts.piece_length << 10)
        torrent = root / "bench.torrent"
        torrent.write_bytes(data)
        print(f"{opts.size} MiB, {opts.version} torrent, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"{'seeder -> leecher':<28}{'seconds':>9}{'MB/s':>9}{'CPU s/GiB':>11}{'peak RSS MiB':>14}")
        rates: dict[str, float] = {}
        for pair in opts.pairs.split(","):
            seeder_kind, leecher_kind = pair.split("-")
            seeder, peer = start_seeder(seeder_kind, torrent, src)
            out = root / "out"
            runs = []
            try:
                for _ in range(opts.repeat):  # the best of a few: a shared machine is noisy
                    runs.append(leech(leecher_kind, torrent, out, peer))
                    ok = same_files(top, out / "payload")
                    shutil.rmtree(out)
            finally:
                stop(seeder)
            wall, cpu, rss = min(runs)
            rates[pair] = size / wall / 1e6
            print(f"{seeder_kind + ' -> ' + leecher_kind:<28}{wall:>9.2f}{rates[pair]:>9.1f}"
                  f"{cpu / (size / 2**30):>11.2f}{rss / 1024:>14.1f}{'' if ok else '  DATA DIFFERS'}")
        for seeder_kind in ("btref", "libtorrent"):
            bt, lt = rates.get(f"{seeder_kind}-btref"), rates.get(f"{seeder_kind}-libtorrent")
            if bt and lt:
                print(f"btref leecher / libtorrent leecher from a {seeder_kind} seeder: {bt / lt:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
