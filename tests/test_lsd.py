"""Local service discovery (BEP 14): the BT-SEARCH codec, the announce rules, the plugin on loopback.

The codec and :class:`~btref_discovery.lsd.Announcer` are sans-I/O and tested with plain
values and hypothesis (hostile datagrams). The plugin tests put two :class:`LSD` instances
in BEP 14's multicast group on 127.0.0.1, on a UDP port chosen at run time so that no
other client on the machine hears them.

Multicast on loopback: Linux delivers a datagram sent to a group with ``IP_MULTICAST_IF``
127.0.0.1 to every socket that joined the group on 127.0.0.1, even when ``lo`` lacks the
MULTICAST flag, and needs no root and no change to the host.
:func:`require_loopback_multicast` checks that before a test relies on it, and fails with
what to do where it does not hold.
"""

from __future__ import annotations

import asyncio
import select
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.discovery import AnnounceRequest, PeerAddress
from btref.errors import BtrefError, LSDError, TrackerError
from btref_discovery.lsd import (LSD, MAX_INFOHASHES, MAX_LINES, MAX_SIZE, Announcer, Search, decode_search,
                                 encode_search)
from tests.ltsession import until

IH, IH2 = bytes(range(20)), b"\xab" * 20
LIBTORRENT_STYLE = (b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 47019\r\n"
                    b"Infohash: 000102030405060708090a0b0c0d0e0f10111213\r\ncookie: 1ddfb7a8\r\n\r\n\r\n")


def free_udp_port() -> int:
    """A UDP port that was free a moment ago, for a group only this test's plugins use."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def require_loopback_multicast() -> None:
    """Fail the test with what to do when a multicast datagram on 127.0.0.1 does not come back."""
    port = free_udp_port()
    group = socket.inet_aton("239.192.152.143")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        try:
            rx.bind(("", port))
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group + socket.inet_aton("127.0.0.1"))
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            tx.sendto(b"probe", ("239.192.152.143", port))
            ok = bool(select.select([rx], [], [], 5.0)[0])
        except OSError as exc:
            ok, why = False, str(exc)
        else:
            why = "the datagram did not come back"
    if not ok:
        pytest.fail(f"multicast on loopback does not work here ({why}); as root, `ip link set lo multicast on` "
                    "(undo: `ip link set lo multicast off`) usually fixes it")


class GroupListener:
    """A socket in BEP 14's group on ``interface`` (``port``): what the tests hear, to wait on."""

    def __init__(self, port: int, interface: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("", port))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                             socket.inet_aton("239.192.152.143") + socket.inet_aton(interface))

    def __enter__(self) -> GroupListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def wait_for(self, info_hash: bytes, timeout: float = 60.0) -> Search:
        """The next announce of ``info_hash``; fails the test when none comes in ``timeout`` s."""
        while select.select([self.sock], [], [], timeout)[0]:
            try:
                search = decode_search(self.sock.recv(MAX_SIZE + 1))
            except LSDError:
                continue
            if info_hash in search.info_hashes:
                return search
        pytest.fail(f"no BT-SEARCH for {info_hash.hex()} within {timeout:g} s")


def test_encode_is_bep14_form():
    data = encode_search(Search(6881, (IH, IH2), "c0ffee"))
    assert data == (b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n"
                    b"Infohash: 000102030405060708090a0b0c0d0e0f10111213\r\n"
                    b"Infohash: " + IH2.hex().encode() + b"\r\ncookie: c0ffee\r\n\r\n\r\n")
    assert decode_search(data) == Search(6881, (IH, IH2), "c0ffee")


def test_decode_what_libtorrent_sends():
    """The datagram libtorrent 2 sent on this machine (its extra CRLF at the end included)."""
    assert decode_search(LIBTORRENT_STYLE) == Search(47019, (IH,), "1ddfb7a8", "239.192.152.143:6771")


def test_decode_is_lenient_where_bep14_is_silent():
    """Header names in any case, bare LF line ends, unknown headers, no cookie, no Host."""
    data = b"BT-SEARCH * HTTP/1.1\nPORT: 1\nX-Other: y\ninfohash: " + IH.hex().upper().encode() + b"\n\n"
    assert decode_search(data) == Search(1, (IH,), None, "")


@pytest.mark.parametrize("data, message", [
    (b"x" * (MAX_SIZE + 1), "over the limit of 1400"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: \xff\r\n\r\n", "not ASCII"),
    (b"M-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n", "request line"),
    (b"BT-SEARCH * HTTP/1.1\r\n" + b"X: y\r\n" * (MAX_LINES + 1), "header lines"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort 1\r\n\r\n", "is not 'Name: value'"),
    (b"BT-SEARCH * HTTP/1.1\r\nInfohash: " + b"0" * 40 + b"\r\n\r\n", "no Port"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 0\r\n\r\n", "Port '0'"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\n\r\n", "Port '65536'"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nPort: 2\r\n\r\n", "Port '2'"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n", "no Infohash"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 00zz\r\n\r\n", "not 40 hex digits"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n" + b"Infohash: " + b"0" * 40 + b"\r\n" * 1
     + b"cookie: " + b"c" * 65 + b"\r\n\r\n", "cookie of 65"),
    (b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n" + (b"Infohash: " + b"0" * 40 + b"\r\n") * (MAX_INFOHASHES + 1),
     "more than 20 info hashes"),
])
def test_decode_refuses(data, message):
    with pytest.raises(LSDError, match=message):
        decode_search(data)


@given(st.binary(max_size=2 * MAX_SIZE))
def test_hostile_bytes_give_a_search_or_lsd_error(data):
    try:
        search = decode_search(data)
    except LSDError:
        return
    assert 0 < search.port < 65536 and 0 < len(search.info_hashes) <= MAX_INFOHASHES


header = st.sampled_from(["Host", "Port", "Infohash", "cookie", "X"])
value = st.one_of(st.text("0123456789abcdef", max_size=42), st.text(max_size=20).filter(str.isascii))


@given(st.lists(st.tuples(header, value), max_size=40), st.sampled_from(["\r\n", "\n"]))
def test_hostile_headers_give_a_search_or_lsd_error(lines, end):
    text = end.join(["BT-SEARCH * HTTP/1.1", *(f"{n}: {v}" for n, v in lines)]) + end + end
    try:
        search = decode_search(text.encode("ascii"))
    except LSDError as exc:
        assert isinstance(exc, BtrefError) and str(exc).startswith("BT-SEARCH: ")
        return
    assert encode_search(search).startswith(b"BT-SEARCH * HTTP/1.1\r\n")


@given(st.integers(1, 65535), st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=MAX_INFOHASHES),
       st.text("0123456789abcdef", min_size=1, max_size=16))
def test_round_trip(port, hashes, cookie):
    search = Search(port, tuple(hashes), cookie)
    data = encode_search(search)
    assert len(data) <= MAX_SIZE and decode_search(data) == search


def test_announce_rules():
    """On start, at most once a minute per torrent, again after the interval; one torrent a datagram."""
    a = Announcer("me", interval=300, min_interval=60)
    a.torrents.update({IH: 6881, IH2: 6881})
    first = a.announce(0.0, [IH, IH2])
    assert first == [Search(6881, (IH,), "me"), Search(6881, (IH2,), "me")]
    assert all(len(encode_search(d)) <= 200 for d in first)  # Transmission's limit
    assert a.announce(59.0, [IH]) == [] and a.due(299.0) == []
    assert a.announce(60.0, [IH]) != []  # a restart a minute later may announce again
    assert [d.info_hashes for d in a.due(300.0)] == [(IH2,)]
    assert a.announce(400.0, [b"\x00" * 20]) == []  # not one of ours


def test_receive_rules():
    """Our own cookie is dropped; only our torrents; a sender counts once a minute; a budget a minute."""
    a = Announcer("me", accept_per_minute=3)
    a.torrents[IH] = 1
    assert a.receive(encode_search(Search(7000, (IH,), "me")), "10.0.0.2", 0.0) == []
    assert a.receive(encode_search(Search(7000, (IH, IH2), "you")), "10.0.0.2", 0.0) == [
        (IH, PeerAddress("10.0.0.2", 7000))]
    assert a.receive(encode_search(Search(7000, (IH,), "you")), "10.0.0.2", 59.0) == []
    assert a.receive(encode_search(Search(7000, (IH,), "you")), "10.0.0.2", 61.0) != []
    flood = [a.receive(encode_search(Search(7000 + n, (IH,))), "10.0.0.3", 62.0) for n in range(5)]
    assert [len(f) for f in flood] == [1, 1, 0, 0, 0]  # 3 a minute, from the window opened at 61
    assert a.receive(encode_search(Search(8000, (IH,))), "10.0.0.3", 121.0) != []  # a new minute
    with pytest.raises(LSDError):
        a.receive(b"garbage", "10.0.0.3", 122.0)


def request(port: int, found=None, **kw) -> AnnounceRequest:
    return AnnounceRequest(info_hash=IH, peer_id=b"-RF0001-%012d" % port, port=port, found=found, **kw)


def test_registered_and_checked():
    assert plugins.available()["discovery"]["lsd"].cls is LSD
    assert isinstance(plugins.create("discovery", "lsd", interface="127.0.0.1"), LSD)
    with pytest.raises(LSDError, match="not an IPv4 address"):
        LSD(interface="eth0")
    with pytest.raises(LSDError, match="no network interface named 'nope0'"):
        LSD(interface6="nope0")
    assert LSD().btref_announce(request(1, private=True)) is None


def test_two_plugins_find_each_other_on_loopback():
    """The second plugin's start is heard by the first (through ``found``); the second
    hears the first at the first's next periodic announce."""
    require_loopback_multicast()

    async def scenario() -> None:
        group_port = free_udp_port()
        first, second = (LSD(interface="127.0.0.1", port=group_port) for _ in range(2))
        heard: list[PeerAddress] = []
        await first.announce(request(7001, heard.append, event="started"))
        await second.announce(request(7002, event="started"))  # listens 1 s, hears nobody
        await until(lambda: heard, "the first plugin hearing the second")
        assert heard == [PeerAddress("127.0.0.1", 7002)]  # never itself: the cookie
        assert not second.socks  # without `found`, the socket lives for one announce
        answer = asyncio.ensure_future(second.announce(request(7002)))
        await until(lambda: second.socks, "the second plugin joining the group again")
        first.announcer.last_sent[IH] -= first.announcer.interval  # as if 5 minutes had passed
        first._tick()  # what its timer does once a minute
        assert (await answer).peers == (PeerAddress("127.0.0.1", 7001),)
        assert first.btref_announce(request(7001, event="stopped")) is None
        assert not first.socks and first.timer is None

    asyncio.run(scenario())


def test_malformed_datagrams_are_dropped():
    require_loopback_multicast()

    async def scenario() -> None:
        group_port = free_udp_port()
        plugin = LSD(interface="127.0.0.1", port=group_port)
        heard: list[PeerAddress] = []
        await plugin.announce(request(7001, heard.append, event="started"))
        assert plugin.socks
        plugin.socks[0].sendto(b"BT-SEARCH * HTTP/1.1\r\nPort: x\r\n\r\n", ("239.192.152.143", group_port))
        plugin.socks[0].sendto(encode_search(Search(7003, (IH,))), ("239.192.152.143", group_port))
        await until(lambda: heard, "the good datagram after the bad one")
        assert plugin.dropped == 1 and heard == [PeerAddress("127.0.0.1", 7003)]
        plugin.btref_announce(request(7001, event="stopped"))

    asyncio.run(scenario())


def test_the_socket_never_outlives_its_use():
    """A cancelled announce closes its socket; a socket whose event loop ended is closed by
    the next announce, in a new loop."""
    require_loopback_multicast()
    plugin = LSD(interface="127.0.0.1", port=free_udp_port(), listen=30)

    async def cancelled() -> None:
        task = asyncio.ensure_future(plugin.announce(request(7001)))
        await until(lambda: plugin.socks, "the plugin joining the group")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert not plugin.socks
    asyncio.run(plugin.announce(request(7001, found=lambda peer: None)))  # the loop ends, no "stopped"
    [old] = plugin.socks
    assert old.fileno() >= 0
    asyncio.run(plugin.announce(request(7001, found=lambda peer: None)))
    assert old.fileno() == -1 and plugin.socks and plugin.socks[0] is not old
    plugin.btref_announce(request(7001, event="stopped"))
    assert not plugin.socks


def test_an_interface_that_is_not_ours_is_a_tracker_error():
    async def scenario() -> None:
        with pytest.raises(TrackerError, match="lsd: cannot join"):
            await LSD(interface="203.0.113.254", port=free_udp_port()).announce(request(7001))

    asyncio.run(scenario())
