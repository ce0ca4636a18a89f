"""Local service discovery over IPv6 (BEP 14's group ff15::efc0:988f), in a network namespace.

IPv6 multicast does not reach ``lo`` here (sending to the group fails with "Network is
unreachable", and with the MULTICAST flag and a route it is sent but never delivered), so
the test makes what a LAN would be: a fresh network namespace (``unshare -n``, so nothing
on the host changes and nothing needs undoing) with a veth pair ``v0``-``v1``. Plugin A
joins the group on ``v0``, plugin B on ``v1``; what one sends out of its end arrives at the
other's. A must hear B from a link-local address with its link named
(``fe80::...%v0``, or ``%v1``: see the comment in :func:`inside`): A starts first and hears B's start-up announce, and A reaches B's TCP
port at that address, as the driver would dial it.

It runs as a child process inside the namespace (:func:`inside`), which needs root
(``CAP_SYS_ADMIN``); anywhere else the test fails and says so.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from btref.discovery import AnnounceRequest, PeerAddress

ROOT = Path(__file__).resolve().parent.parent
# No duplicate address detection (nobody else is on this link), then wait (5 s at most) for
# both ends' link-local addresses: a multicast datagram needs one as its source.
SETUP = ("ip link set lo up && sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 "
         "&& ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up "
         "&& for i in $(seq 50); do ip -6 addr show dev v0 | grep -q fe80 && ip -6 addr show dev v1 | grep -q fe80 "
         "&& break; sleep 0.1; done")


def inside() -> None:
    """The scenario, run in the namespace: raises AssertionError when it does not hold."""
    from btref_discovery.lsd import LSD

    ih = bytes(range(20))

    async def scenario() -> None:
        served = asyncio.Event()

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            served.set()
            writer.close()

        server = await asyncio.start_server(accepted, "::", 0)
        b_port = server.sockets[0].getsockname()[1]
        heard: dict[str, list[PeerAddress]] = {"a": [], "b": []}
        a = LSD(interface="127.0.0.1", interface6="v0", listen=0)
        b = LSD(interface="127.0.0.1", interface6="v1", listen=0)
        for name, plugin, port in (("a", a, 7001), ("b", b, b_port)):
            await plugin.announce(AnnounceRequest(info_hash=ih, peer_id=bytes(20), port=port, event="started",
                                                  found=heard[name].append))
        async with asyncio.timeout(30):
            while not any("%" in p.host for p in heard["a"]):
                await asyncio.sleep(0.05)
            peer = next(p for p in heard["a"] if "%" in p.host)
            # On v0, or on v1 by B's multicast loopback: Linux hands an IPv6 group's datagram
            # to every socket in the group, whatever link it joined on. Both addresses reach B.
            assert peer.host.startswith("fe80::") and peer.host[-3:] in ("%v0", "%v1") and peer.port == b_port
            _, writer = await asyncio.open_connection(peer.host, peer.port)  # as the driver dials
            writer.close()
            await served.wait()
        for plugin in (a, b):
            plugin.btref_announce(AnnounceRequest(info_hash=ih, peer_id=bytes(20), port=7001, event="stopped"))
        server.close()
        await server.wait_closed()
        print("heard by A:", ", ".join(map(str, heard["a"])), "| by B:", ", ".join(map(str, heard["b"])))

    asyncio.run(scenario())


def run_in_namespace(setup: str, call: str, timeout: float = 180) -> str:
    """Run ``python -c call`` in a fresh network namespace after the shell commands ``setup``;
    its output. Fails the test, saying why, where a namespace cannot be made or the call fails."""
    missing = [tool for tool in ("unshare", "ip", "sysctl") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"this LSD test needs {', '.join(missing)} (util-linux, iproute2, procps)")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("this LSD test makes a network namespace (`unshare -n`), which needs root: "
                    f"run it as root, or deselect it ({probe.stderr.strip()})")
    child = f"{sys.executable} -c '{call}'"
    done = subprocess.run(["unshare", "-n", "sh", "-c", f"{setup} && {child}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_plugins_find_each_other_over_ipv6() -> None:
    assert "heard by A: " in run_in_namespace(SETUP, "from tests.test_lsd_ipv6 import inside; inside()")
