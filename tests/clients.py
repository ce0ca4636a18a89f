"""Other BitTorrent clients on loopback, for the interop matrix (``tests/test_interop_matrix.py``).

One class per client says how to run it as a *seed* of a torrent's data and as a *leecher*
of a .torrent file or magnet link, on 127.0.0.1 only: no DHT, no local peer discovery, no
UPnP or NAT-PMP, no uTP (the matrix runs over TCP; ``tests/test_utp_transmission.py``
turns Transmission's on), no message stream encryption (btref's default is off), everything
in a folder of the test's own. Each ``argv`` is for a process
the test starts and stops (:class:`Processes`).

The clients are the ones Debian 12 packages (aria2 1.36, Transmission 3.00, rtorrent
0.9.8, qBittorrent 4.5.2) and WebTorrent 1.9.7, the library ``webtorrent-cli@4`` runs:
the Makefile installs them (``make clients``). ``webtorrent-cli`` itself has no switch to
turn its DHT off, so WebTorrent runs through ``tests/webtorrent_peer.js``, a few lines
that start the same library with DHT and local discovery off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from tests.ltsession import free_port

ROOT = Path(__file__).resolve().parent.parent
#: Where ``make clients`` installs ``webtorrent-cli@4`` (and with it the ``webtorrent`` library).
NPM_CLIENTS = ROOT / ".npm-clients"
WEBTORRENT_PEER = Path(__file__).resolve().parent / "webtorrent_peer.js"

__all__ = ["CLIENTS", "Client", "Processes", "missing"]


class Processes:
    """Processes started by one test, each in its own session (so its children go with it),
    its output in a log file; :meth:`stop_all` ends them all (SIGTERM, then SIGKILL)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, name: str, argv: list[str], *, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "wb")  # closed by stop_all
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append((name, proc, log))
        return proc

    def log(self, name: str, tail: int | None = 3000) -> str:
        """The end of what process ``name`` printed (all of it with ``tail=None``)."""
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text if tail is None else text[-tail:]

    def exited(self, name: str) -> int | None:
        """The exit status of process ``name``, None while it runs."""
        return next(p.poll() for n, p, _ in self.running if n == name)

    def stop_all(self) -> None:
        for _, proc, _ in self.running:
            if proc.poll() is None:
                _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc, log in self.running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait()
            log.close()
        self.running.clear()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the process and whatever it started
    except ProcessLookupError:
        pass


class Client:
    """How to run one other client; subclasses fill in the argv."""

    name = ""
    #: The executable looked for on PATH (or the file that must exist).
    program = ""
    #: How to install it, for the message of a test that cannot find it.
    install = ""

    def available(self) -> bool:
        return shutil.which(self.program) is not None

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        """argv of a seed of ``torrent`` whose complete data is in ``data``, listening on ``port``."""
        raise NotImplementedError

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        """argv of a download of ``source`` (a .torrent path or a magnet link) into ``out``;
        ``peer`` (``host:port``) is btref's seed, for clients that take a peer to dial."""
        raise NotImplementedError

    def env(self, work: Path) -> dict[str, str]:
        return {"HOME": str(work)}  # every client's own files stay in the test's folder


class Aria2(Client):
    name, program = "aria2", "aria2c"
    install = "apt-get install aria2"

    def _common(self, port: int, folder: Path) -> list[str]:
        return ["aria2c", f"--dir={folder}", f"--listen-port={port}", "--enable-dht=false", "--enable-dht6=false",
                "--bt-enable-lpd=false", "--enable-peer-exchange=false", "--disable-ipv6=true",
                "--bt-min-crypto-level=plain", "--bt-require-crypto=false", "--seed-ratio=0.0",
                "--check-integrity=true", "--file-allocation=none", "--summary-interval=0",
                "--console-log-level=notice", "--no-conf=true", "--bt-tracker-interval=2",
                "--follow-torrent=mem", "--bt-save-metadata=false", "--auto-save-interval=0"]

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        return [*self._common(port, data), "--bt-hash-check-seed=true", str(torrent)]

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        return [*self._common(port, out), source]


class Transmission(Client):
    name, program = "transmission", "transmission-cli"
    install = "apt-get install transmission-cli"

    def _settings(self, work: Path, port: int, folder: Path) -> list[str]:
        config = work / "transmission"
        config.mkdir(parents=True, exist_ok=True)
        settings = {
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
            "port-forwarding-enabled": False, "rpc-enabled": False, "blocklist-enabled": False,
            "encryption": 0,  # "tolerated": plaintext first, which is all btref speaks
            "bind-address-ipv4": "127.0.0.1", "peer-port": port, "peer-port-random-on-start": False,
            "download-dir": str(folder), "incomplete-dir-enabled": False, "rename-partial-files": True,
            "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False, "message-level": 2,
        }
        (config / "settings.json").write_text(json.dumps(settings))
        return ["transmission-cli", "-g", str(config), "-p", str(port), "-w", str(folder), "-et", "-M"]

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        return [*self._settings(work, port, data), "-v", str(torrent)]

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        return [*self._settings(work, port, out), source]


class RTorrent(Client):
    name, program = "rtorrent", "rtorrent"
    install = "apt-get install rtorrent"

    def _run(self, work: Path, port: int, folder: Path, source: str) -> list[str]:
        session = work / "rtorrent-session"
        session.mkdir(parents=True, exist_ok=True)
        rc = work / "rtorrent.rc"  # a file: ``-o`` would split its values at the commas
        rc.write_text("\n".join([
            "system.daemon.set = true", f"session.path.set = {session}", f"directory.default.set = {folder}",
            f"network.port_range.set = {port}-{port}", "network.port_random.set = no",
            "network.bind_address.set = 127.0.0.1", "dht.mode.set = disable", "protocol.pex.set = no",
            "trackers.use_udp.set = no", "protocol.encryption.set = allow_incoming,try_outgoing,enable_retry",
            "pieces.hash.on_completion.set = yes", f'log.open_file = "log", "{work / "rtorrent.log"}"',
            'log.add_output = "info", "log"', f'load.start_verbose = "{source}"', "",
        ]))
        return ["rtorrent", "-n", "-o", f"import={rc}"]

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        return self._run(work, port, data, str(torrent))

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        return self._run(work, port, out, source)


class QBittorrent(Client):
    name, program = "qbittorrent", "qbittorrent-nox"
    install = "apt-get install qbittorrent-nox"

    def _profile(self, work: Path, port: int, folder: Path) -> list[str]:
        config = work / "qbt" / "qBittorrent" / "config"
        config.mkdir(parents=True, exist_ok=True)
        webui = free_port()  # its own pick: the port after ``port`` may be anybody's
        (config / "qBittorrent.conf").write_text("\n".join([
            "[LegalNotice]", "Accepted=true", "",
            "[BitTorrent]",
            f"Session\\Port={port}", "Session\\DHTEnabled=false", "Session\\LSDEnabled=false",
            "Session\\PeXEnabled=false", "Session\\Encryption=2", "Session\\BTProtocol=TCP",
            "Session\\Interface=lo", "Session\\InterfaceAddress=127.0.0.1", "Session\\InterfaceName=lo",
            "Session\\MultiConnectionsPerIp=true", f"Session\\DefaultSavePath={folder}",
            "Session\\TempPathEnabled=false", "Session\\AddExtensionToIncompleteFiles=false",
            "Session\\QueueingSystemEnabled=false", "Session\\AnonymousModeEnabled=false", "",
            "[Network]", "PortForwardingEnabled=false", "",
            "[Preferences]", f"WebUI\\Port={webui}", "WebUI\\Address=127.0.0.1", "WebUI\\UPnP=false",
            "Connection\\ResolvePeerCountries=false", "General\\UseRandomPort=false", "",
        ]))
        return ["qbittorrent-nox", f"--profile={work / 'qbt'}", f"--webui-port={webui}", f"--save-path={folder}"]

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        return [*self._profile(work, port, data), str(torrent)]

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        return [*self._profile(work, port, out), source]


class WebTorrent(Client):
    name, program = "webtorrent", "node"
    install = "make clients (npm install webtorrent-cli@4 into .npm-clients/)"

    def available(self) -> bool:
        return shutil.which("node") is not None and (NPM_CLIENTS / "node_modules" / "webtorrent").is_dir()

    def env(self, work: Path) -> dict[str, str]:
        return {**super().env(work), "NODE_PATH": str(NPM_CLIENTS / "node_modules")}

    def seed(self, torrent: Path, data: Path, port: int, work: Path) -> list[str]:
        return ["node", str(WEBTORRENT_PEER), str(torrent), str(data), str(port)]

    def leech(self, source: str, out: Path, port: int, work: Path, peer: str) -> list[str]:
        return ["node", str(WEBTORRENT_PEER), source, str(out), str(port), peer]


CLIENTS: dict[str, Client] = {c.name: c for c in (Aria2(), Transmission(), RTorrent(), QBittorrent(), WebTorrent())}


def missing(client: Client) -> str | None:
    """Why ``client`` cannot run here (a sentence), or None."""
    if client.available():
        return None
    return f"{client.name} is not installed ({client.program} not found): {client.install}, or run `make clients`"
