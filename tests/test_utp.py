"""The sans-I/O uTP core (BEP 29): packets, the connection's state machine, LEDBAT, and two
connections wired through an in-memory link that loses, reorders and duplicates datagrams."""

from __future__ import annotations

import heapq
import importlib.util
import random
import struct
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from btref import utp
from btref.errors import UtpError
from btref.utp import Packet, PacketType, State, UtpConnection

packets = st.builds(
    Packet,
    type=st.sampled_from(PacketType),
    connection_id=st.integers(0, 0xFFFF),
    seq_nr=st.integers(0, 0xFFFF),
    ack_nr=st.integers(0, 0xFFFF),
    wnd_size=st.integers(0, 0xFFFFFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    timestamp_difference=st.integers(0, 0xFFFFFFFF),
    sack=st.none() | st.integers(1, 8).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
    payload=st.binary(max_size=64),
)


@given(packets)
def test_encode_decode_round_trip(packet: Packet) -> None:
    assert utp.decode(utp.encode(packet)) == packet


def test_header_layout_is_bep29s() -> None:
    raw = utp.encode(Packet(PacketType.SYN, 0x1234, seq_nr=1, ack_nr=0, wnd_size=0x10000, timestamp=7,
                            timestamp_difference=9))
    assert raw == bytes([0x41, 0]) + struct.pack(">HIIIHH", 0x1234, 7, 9, 0x10000, 1, 0)


@given(st.binary(max_size=80))
def test_decode_raises_only_utp_error(data: bytes) -> None:
    try:
        utp.decode(data)
    except UtpError:
        pass


@pytest.mark.parametrize(("data", "words"), [
    (b"\x41" * 19, "shorter"),
    (bytes([0x42, 0]) + bytes(18), "version 2"),
    (bytes([0x51, 0]) + bytes(18), "type 5"),
    (bytes([0x21, 1]) + bytes(18), "cut off"),
    (bytes([0x21, 1]) + bytes(18) + bytes([0, 0]), "selective ack of 0 bytes"),
    (bytes([0x21, 1]) + bytes(18) + bytes([0, 130]) + bytes(130), "selective ack of 130 bytes"),
    (bytes([0x21, 2]) + bytes(18) + bytes([2, 0]) * 5, "more than 4"),
])
def test_decode_refuses(data: bytes, words: str) -> None:
    with pytest.raises(UtpError, match=words):
        utp.decode(data)


def test_a_selective_ack_of_any_length_is_taken() -> None:
    # libtorrent sends as few bytes as its bits need, not BEP 29's multiple of 4.
    raw = bytes([0x21, 1]) + bytes(18) + bytes([0, 1, 0x05])
    assert utp.decode(raw).sack == b"\x05"


def test_unknown_extensions_are_skipped() -> None:
    raw = bytes([0x01, 2]) + bytes(18) + bytes([1, 2, 0xAA, 0xBB, 0, 4, 1, 0, 0, 0]) + b"hi"
    packet = utp.decode(raw)
    assert (packet.sack, packet.payload) == (b"\x01\x00\x00\x00", b"hi")


def handshake(now: float = 0.0) -> tuple[UtpConnection, UtpConnection]:
    dialler = UtpConnection.connect(1000, now)
    [syn] = dialler.datagrams_to_send(now)
    assert utp.decode(syn).type is PacketType.SYN and utp.decode(syn).connection_id == 1000
    listener = UtpConnection.accept(utp.decode(syn), seq_nr=500, now=now)
    assert (listener.recv_id, listener.send_id, listener.state) == (1001, 1000, State.SYN_RECV)
    [state] = listener.datagrams_to_send(now)
    assert utp.decode(state).type is PacketType.STATE and utp.decode(state).ack_nr == 1
    dialler.receive_datagram(state, now)
    assert dialler.state is State.CONNECTED and dialler.ack_nr == 499
    return dialler, listener


def test_connection_ids_and_sequence_numbers() -> None:
    dialler, listener = handshake()
    dialler.send(b"hello")
    [data] = dialler.datagrams_to_send(0.01)
    packet = utp.decode(data)
    assert (packet.type, packet.connection_id, packet.seq_nr, packet.payload) == (PacketType.DATA, 1001, 2, b"hello")
    listener.receive_datagram(data, 0.02)
    assert listener.state is State.CONNECTED and listener.read() == b"hello"
    listener.send(b"world")
    [reply] = listener.datagrams_to_send(0.02)  # the data packet carries the ack
    packet = utp.decode(reply)
    assert (packet.connection_id, packet.seq_nr, packet.ack_nr) == (1000, 500, 2)
    dialler.receive_datagram(reply, 0.03)
    assert dialler.read() == b"world" and dialler.cur_window == 0


def test_sack_acks_packets_past_a_hole_and_resends_the_hole() -> None:
    dialler, listener = handshake()
    dialler.max_window = 10 * utp.PAYLOAD_SIZE
    dialler.send(bytes(5 * utp.PAYLOAD_SIZE))
    sent = dialler.datagrams_to_send(0.01)
    assert len(sent) == 5
    for datagram in sent[1:]:  # the first one is lost
        listener.receive_datagram(datagram, 0.02)
    [ack] = listener.datagrams_to_send(0.02)
    packet = utp.decode(ack)
    assert packet.ack_nr == 1 and packet.sack == b"\x0f\x00\x00\x00"  # packets 3 to 6
    window = dialler.max_window
    dialler.receive_datagram(ack, 0.03)
    assert dialler.max_window < window and not dialler.slow_start  # loss halves the window
    [resent] = dialler.datagrams_to_send(0.03)
    assert utp.decode(resent).seq_nr == 2
    listener.receive_datagram(resent, 0.04)
    assert listener.read() == bytes(5 * utp.PAYLOAD_SIZE)


def test_three_duplicate_acks_mean_loss() -> None:
    dialler, listener = handshake()
    dialler.max_window = 10 * utp.PAYLOAD_SIZE
    dialler.send(bytes(2 * utp.PAYLOAD_SIZE))
    dialler.datagrams_to_send(0.01)
    dup = utp.encode(Packet(PacketType.STATE, 1000, 500, 1, utp.RECEIVE_BUFFER))
    for _ in range(3):
        dialler.receive_datagram(dup, 0.02)
    [resent] = dialler.datagrams_to_send(0.02)
    assert utp.decode(resent).seq_nr == 2 and dialler.max_window == 5 * utp.PAYLOAD_SIZE


def test_an_ack_for_a_packet_never_sent_is_ignored() -> None:
    dialler, _ = handshake()
    dialler.send(b"x")
    dialler.datagrams_to_send(0.01)
    dialler.receive_datagram(utp.encode(Packet(PacketType.STATE, 1000, 500, 40, utp.RECEIVE_BUFFER)), 0.02)
    assert dialler.cur_window == 1


def test_timeouts_back_off_then_give_up() -> None:
    dialler, _ = handshake()
    dialler.send(b"x")
    dialler.datagrams_to_send(0.0)
    timeouts = []
    now = 0.0
    while dialler.state is State.CONNECTED:
        deadline = dialler.deadline
        assert deadline is not None
        timeouts.append(round(deadline - now, 3))
        now = deadline
        dialler.tick(now)
        dialler.datagrams_to_send(now)
    assert timeouts == [utp.MIN_TIMEOUT * 2 ** i for i in range(utp.MAX_TIMEOUTS + 1)]
    assert dialler.state is State.RESET and "timeouts" in (dialler.error or "")


def test_reset_ends_the_connection() -> None:
    dialler, listener = handshake()
    listener.abort()
    [reset] = listener.datagrams_to_send(0.1)
    dialler.receive_datagram(reset, 0.1)
    assert dialler.state is State.RESET and dialler.error == "the peer reset the connection"
    with pytest.raises(UtpError):
        dialler.send(b"late")


def test_out_of_order_data_is_bounded() -> None:
    _, listener = handshake()
    far = Packet(PacketType.DATA, 1001, (1 + utp.MAX_REORDER + 1) & 0xFFFF, 499, 1 << 20, payload=b"x")
    listener.receive_packet(far, 0.1)
    near = Packet(PacketType.DATA, 1001, 3, 499, 1 << 20, payload=bytes(utp.RECEIVE_BUFFER + 1))
    listener.receive_packet(near, 0.1)
    assert listener.window() == utp.RECEIVE_BUFFER


def ack_with_delay(conn: UtpConnection, delay_us: int, now: float) -> None:
    """Ack everything ``conn`` sent, reporting a one-way delay of ``delay_us``."""
    for datagram in conn.datagrams_to_send(now):
        seq = utp.decode(datagram).seq_nr
        conn.receive_packet(Packet(PacketType.STATE, 1000, 500, seq, utp.RECEIVE_BUFFER,
                                   timestamp_difference=1_000_000 + delay_us), now)


def test_ledbat_grows_below_target_and_shrinks_above() -> None:
    dialler, _ = handshake()
    dialler.slow_start = False
    dialler.send(bytes(400 * utp.PAYLOAD_SIZE))
    now = 0.0
    for _ in range(20):  # no queueing: the base delay itself
        now += 0.01
        ack_with_delay(dialler, 0, now)
    grown = dialler.max_window
    assert grown > 2 * utp.MIN_WINDOW
    for _ in range(20):  # 200 ms of queueing, twice the target
        now += 0.01
        ack_with_delay(dialler, 200_000, now)
    assert dialler.delays.queueing_delay() == 200_000
    assert dialler.max_window < grown


class Link:
    """Two connections and a lossy, reordering, duplicating datagram link between them, on a
    virtual clock. Each datagram is dropped with probability ``loss``, sent twice with
    probability ``dup``, and delayed by ``delay`` plus up to ``jitter`` seconds (so later
    datagrams overtake earlier ones)."""

    def __init__(self, rng: random.Random, loss: float, dup: float, delay: float, jitter: float) -> None:
        self.rng, self.loss, self.dup, self.delay, self.jitter = rng, loss, dup, delay, jitter
        self.now = 0.0
        self.queue: list[tuple[float, int, int, bytes]] = []
        self.count = 0
        self.ends: list[UtpConnection] = []

    def put(self, to: int, datagram: bytes) -> None:
        if self.rng.random() < self.loss:
            return
        for _ in range(2 if self.rng.random() < self.dup else 1):
            self.count += 1
            at = self.now + self.delay + self.rng.random() * self.jitter
            heapq.heappush(self.queue, (at, self.count, to, datagram))

    def flush(self) -> None:
        for i, conn in enumerate(self.ends):
            for datagram in conn.datagrams_to_send(self.now):
                self.put(1 - i, datagram)

    def step(self) -> bool:
        """Advance to the next event; False when nothing is left to happen."""
        times = [t for t in (c.deadline for c in self.ends) if t is not None]
        if self.queue:
            times.append(self.queue[0][0])
        if not times:
            return False
        self.now = max(self.now, min(times))
        while self.queue and self.queue[0][0] <= self.now:
            _, _, to, datagram = heapq.heappop(self.queue)
            conn = self.ends[to]
            if to == 1 and not self.ends[1:]:
                continue
            conn.receive_datagram(datagram, self.now)
        for conn in self.ends:
            deadline = conn.deadline
            if deadline is not None and deadline <= self.now:
                conn.tick(self.now)
        self.flush()
        return True


def run_transfer(link: Link, up: bytes, down: bytes, max_steps: int = 200_000) -> tuple[bytes, bytes] | None:
    """Dial, send ``up`` and ``down`` both ways and close; the bytes each side read, or
    ``None`` if the dial failed (every SYN or its ack lost)."""
    dialler = UtpConnection.connect(7, link.now)
    link.ends = [dialler]
    # The SYN may be lost or duplicated too: the listener is made by the first SYN to arrive.
    received = [bytearray(), bytearray()]
    listener: UtpConnection | None = None
    sent_up = sent_down = False
    for _ in range(max_steps):
        if listener is None:
            for datagram in dialler.datagrams_to_send(link.now):
                link.put(1, datagram)
            while link.queue and listener is None:
                at, _, to, datagram = heapq.heappop(link.queue)
                link.now = max(link.now, at)
                if to == 1:
                    listener = UtpConnection.accept(utp.decode(datagram), seq_nr=0xFFF0, now=link.now)
                    link.ends.append(listener)
            if listener is None:
                deadline = dialler.deadline
                if deadline is None:
                    break
                link.now = max(link.now, deadline)
                dialler.tick(link.now)
                continue
        if not sent_up and dialler.state is State.CONNECTED:
            dialler.send(up)
            dialler.close()
            sent_up = True
        if not sent_down:
            listener.send(down)
            listener.close()
            sent_down = True
        for i, conn in enumerate(link.ends):
            received[i] += conn.read()
        if all(c.state in (State.CLOSED, State.RESET) for c in link.ends):
            break
        if not link.step():
            break
    if (dialler.error or "").startswith("no answer after 3"):
        return None
    assert listener is not None
    for i, conn in enumerate(link.ends):
        received[i] += conn.read()
    assert dialler.error is None and listener.error is None, (dialler.error, listener.error)
    assert dialler.eof and listener.eof
    return bytes(received[1]), bytes(received[0])


@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.sampled_from([0.0, 0.01, 0.1, 0.2]),
    dup=st.sampled_from([0.0, 0.05, 0.2]),
    jitter=st.sampled_from([0.0, 0.005, 0.05]),
    up_size=st.integers(0, 200_000),
    down_size=st.integers(0, 50_000),
)
def test_lossy_reordering_duplicating_link_delivers_the_exact_stream(
        seed: int, loss: float, dup: float, jitter: float, up_size: int, down_size: int) -> None:
    rng = random.Random(seed)
    up, down = rng.randbytes(up_size), rng.randbytes(down_size)
    link = Link(rng, loss, dup, delay=0.01, jitter=jitter)
    got = run_transfer(link, up, down)
    # A dial that failed is not a broken stream: the property is about connections made.
    assume(got is not None)
    assert got == (up, down)


def test_a_megabyte_over_a_clean_link() -> None:
    rng = random.Random(1)
    up = rng.randbytes(1 << 20)
    link = Link(rng, loss=0.0, dup=0.0, delay=0.005, jitter=0.0)
    assert run_transfer(link, up, b"") == (up, b"")


def test_ledbat_yields_to_a_loss_based_flow_in_the_shaped_link_model() -> None:
    """bench/ledbat.py's model (the chapter's figure): uTP's window shrinks while TCP fills the queue."""
    spec = importlib.util.spec_from_file_location("ledbat", Path(__file__).parent.parent / "bench" / "ledbat.py")
    assert spec is not None and spec.loader is not None
    ledbat = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ledbat)
    samples = ledbat.simulate(500_000, 0.4, 0.02, tcp_start=15, tcp_stop=30, duration=30)
    alone = [s for s in samples if 10 <= s[0] < 15]
    beside = [s for s in samples if 25 <= s[0] < 30]
    assert all(s[1] > 20 * utp.PAYLOAD_SIZE for s in alone)  # a window of ~70 KB, 100 ms of queue
    assert all(s[1] <= 2 * utp.PAYLOAD_SIZE for s in beside)  # backed off to the minimum
    assert all(abs(s[3] - s[4]) < 0.05 for s in alone)  # uTP's measure follows the real queue
