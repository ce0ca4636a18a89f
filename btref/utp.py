"""uTP, the micro transport protocol, as a sans-I/O object (BEP 29) with LEDBAT congestion
control (RFC 6817, as BEP 29 applies it).

uTP carries the same peer wire stream as TCP, but in UDP datagrams and with a congestion
controller that measures one-way *delay* instead of waiting for loss: it keeps the queue at
the bottleneck below a 100 ms target and so yields to TCP and to everything else the user
does on the link.

Like h11, a :class:`UtpConnection` touches no socket and reads no clock. The driver feeds it
the datagrams it received (:meth:`UtpConnection.receive_datagram`) and the application's
bytes (:meth:`UtpConnection.send`); it asks for the datagrams to put on the wire
(:meth:`UtpConnection.datagrams_to_send`), for the bytes that arrived in order
(:meth:`UtpConnection.read`) and for the next time it must call :meth:`UtpConnection.tick`
(:attr:`UtpConnection.deadline`). Every call takes ``now``, in seconds.

What it keeps, per connection (one object per socket pair):

* the explicit state machine of :class:`State`: ``SYN_SENT`` (we dialled) or ``SYN_RECV``
  (we answered a SYN), ``CONNECTED``, ``FIN_SENT``, and the end states ``CLOSED`` and
  ``RESET`` (the peer reset us, or it stopped answering: :attr:`UtpConnection.error` says);
* connection ids (BEP 29 "connection setup"): the dialler picks ``id`` to receive on and
  sends on ``id + 1``; the answering side does the opposite;
* 16-bit sequence and ack numbers compared modulo 2**16;
* the selective ack extension: a bitmask of the packets received past ``ack_nr + 1``;
* LEDBAT: ``max_window`` grows or shrinks by how far the measured queueing delay is from
  :data:`TARGET_DELAY` (:meth:`UtpConnection._ledbat`); loss (three duplicate acks, or three
  packets selectively acked past a hole) halves it; a timeout shrinks it to one packet;
* RTT and RTT variance give the retransmission timeout, at least :data:`MIN_TIMEOUT` and
  doubled on each timeout in a row (exponential backoff).

Hard limits, since the peer is untrusted (DEVELOPERS.md, principle 4): a datagram that is
not a uTP header raises :class:`~btref.errors.UtpError` from :func:`decode`; an ack for a
packet never sent is ignored; out-of-order data is buffered only within
:data:`MAX_REORDER` packets of ``ack_nr`` and :data:`RECEIVE_BUFFER` bytes in all (beyond
that it is dropped, and the sender resends it later).

Path MTU discovery is left out: every data packet carries at most :data:`PAYLOAD_SIZE`
bytes, a conservative size that fits any Ethernet path inside IPv4 or IPv6 and UDP.
"""

from __future__ import annotations

import enum
import struct
from collections import OrderedDict, deque

import attrs

from btref.errors import UtpError

__all__ = [
    "MAX_REORDER", "MIN_TIMEOUT", "PAYLOAD_SIZE", "RECEIVE_BUFFER", "TARGET_DELAY",
    "Packet", "PacketType", "State", "UtpConnection", "decode", "encode",
]

VERSION = 1
HEADER = struct.Struct(">BBHIIIHH")
#: Extension 1 of BEP 29: selective acks.
EXT_SACK = 1
#: Most extensions read from one header; real packets carry one or two.
MAX_EXTENSIONS = 4
#: Largest selective ack bitmask sent, in bytes (256 packets).
MAX_SACK_BYTES = 32
#: Largest accepted: one bit per packet of the reorder window we keep (:data:`MAX_REORDER`).
MAX_SACK_ACCEPTED = 128

#: Bytes of stream per data packet: 1400 + 20 (uTP) + 8 (UDP) + 40 (IPv6) < 1500.
PAYLOAD_SIZE = 1400
#: LEDBAT's target queueing delay (BEP 29: 100 ms), in microseconds.
TARGET_DELAY = 100_000
#: Most the window grows in one RTT when the delay is far below target (libutp's figure).
MAX_WINDOW_INCREASE = 3000
#: The window never shrinks below one packet, so a connection can always probe.
MIN_WINDOW = PAYLOAD_SIZE
#: Lowest retransmission timeout (BEP 29: 500 ms), and the first one, before any RTT sample.
MIN_TIMEOUT = 0.5
INITIAL_TIMEOUT = 1.0
#: Timeouts in a row after which the peer is taken for gone (SYN: fewer, nobody may be there).
MAX_TIMEOUTS = 8
MAX_SYN_TIMEOUTS = 3
#: Duplicate acks (or packets selectively acked past a hole) that mean a packet was lost.
DUP_ACKS = 3
#: Base delay history: the minimum one-way delay over this many seconds (BEP 29: two minutes).
BASE_DELAY_HISTORY = 120.0
#: Out-of-order data: packets accepted at most this far past ``ack_nr``.
MAX_REORDER = 1024
#: Receive buffer: out-of-order plus unread bytes; advertised to the peer as ``wnd_size``.
RECEIVE_BUFFER = 1 << 20
#: Most packets in flight (the sequence space and the peer's reorder buffer both need bounds).
MAX_IN_FLIGHT = 1000
#: A connection with nothing to say sends a bare ack this often, so NATs keep the mapping.
KEEPALIVE = 29.0

_SEQ = 0xFFFF
_U32 = 0xFFFFFFFF


class PacketType(enum.IntEnum):
    """The ``type`` field of the header (BEP 29)."""

    DATA = 0
    FIN = 1
    STATE = 2
    RESET = 3
    SYN = 4


@attrs.frozen
class Packet:
    """One uTP datagram: the 20-byte header, a selective ack and the payload."""

    type: PacketType
    connection_id: int
    seq_nr: int
    ack_nr: int
    wnd_size: int = 0
    timestamp: int = 0
    timestamp_difference: int = 0
    sack: bytes | None = None
    payload: bytes = b""


def encode(packet: Packet) -> bytes:
    """The datagram for ``packet``."""
    head = HEADER.pack(
        (packet.type << 4) | VERSION, EXT_SACK if packet.sack is not None else 0,
        packet.connection_id, packet.timestamp & _U32, packet.timestamp_difference & _U32,
        packet.wnd_size & _U32, packet.seq_nr & _SEQ, packet.ack_nr & _SEQ,
    )
    if packet.sack is None:
        return head + packet.payload
    return head + bytes((0, len(packet.sack))) + packet.sack + packet.payload


def decode(datagram: bytes) -> Packet:
    """Parse one datagram; raises :class:`~btref.errors.UtpError` if it is not uTP version 1."""
    if len(datagram) < HEADER.size:
        raise UtpError(f"uTP datagram of {len(datagram)} bytes is shorter than the 20-byte header")
    type_ver, extension, conn_id, ts, ts_diff, wnd, seq_nr, ack_nr = HEADER.unpack_from(datagram)
    if type_ver & 0x0F != VERSION:
        raise UtpError(f"uTP version {type_ver & 0x0F}, expected {VERSION}")
    if type_ver >> 4 > PacketType.SYN:
        raise UtpError(f"unknown uTP packet type {type_ver >> 4}")
    offset, sack, count = HEADER.size, None, 0
    while extension:
        count += 1
        if count > MAX_EXTENSIONS:
            raise UtpError(f"more than {MAX_EXTENSIONS} uTP extensions")
        if offset + 2 > len(datagram):
            raise UtpError(f"uTP extension header cut off at byte {offset}")
        following, length = datagram[offset], datagram[offset + 1]
        body = datagram[offset + 2:offset + 2 + length]
        if len(body) != length:
            raise UtpError(f"uTP extension {extension} of {length} bytes cut off at byte {offset}")
        if extension == EXT_SACK:
            # BEP 29 asks for a multiple of 4 bytes; libtorrent sends as few bytes as its
            # bits need (often 1), so any length from 1 byte is taken.
            if length == 0 or length > MAX_SACK_ACCEPTED:
                raise UtpError(f"selective ack of {length} bytes (1 to {MAX_SACK_ACCEPTED})")
            sack = bytes(body)
        # Other extensions (libtorrent's close reason, BEP 29's retired ones) are skipped.
        extension, offset = following, offset + 2 + length
    return Packet(PacketType(type_ver >> 4), conn_id, seq_nr, ack_nr, wnd, ts, ts_diff, sack,
                  bytes(datagram[offset:]))


class State(enum.Enum):
    """Where a connection is; the end states are ``CLOSED`` and ``RESET``."""

    SYN_SENT = "syn-sent"  #: we sent a SYN and wait for its ack
    SYN_RECV = "syn-recv"  #: we acked a SYN and wait for the dialler's first packet
    CONNECTED = "connected"
    FIN_SENT = "fin-sent"  #: we sent our FIN (the application closed); the peer may still send
    CLOSED = "closed"  #: both FINs acked, or ``abort`` was called
    RESET = "reset"  #: the peer sent a RESET or stopped answering (:attr:`UtpConnection.error`)


@attrs.define
class _Outgoing:
    """A packet we sent and the peer has not acked."""

    type: PacketType
    seq_nr: int
    payload: bytes
    sent_at: float = 0.0
    transmissions: int = 0
    need_resend: bool = True  # not on the wire (yet, or any more): outside cur_window
    fast_resent: bool = False  # resent once on duplicate or selective acks; then only on timeout


def _seq_less(a: int, b: int) -> bool:
    """``a`` comes before ``b`` in the 16-bit sequence space."""
    return a != b and ((b - a) & _SEQ) < 0x8000


def _micros(now: float) -> int:
    return int(now * 1_000_000) & _U32


class _DelayHistory:
    """One-way delay samples: the base delay (the minimum over :data:`BASE_DELAY_HISTORY`,
    kept as one minimum per 10-second bucket) and the current delay (the smallest of the
    last three samples, which filters one-off jitter as libutp does).

    Samples are timestamp differences between two unsynchronised clocks, so only their
    differences mean anything; they are compared modulo 2**32.
    """

    BUCKET = 10.0

    def __init__(self) -> None:
        self._buckets: deque[tuple[float, int]] = deque()
        self._recent: deque[int] = deque(maxlen=3)

    @staticmethod
    def _lower(a: int, b: int) -> int:
        return a if ((b - a) & _U32) < 0x80000000 else b

    def add(self, sample: int, now: float) -> None:
        self._recent.append(sample)
        if self._buckets and now - self._buckets[-1][0] < self.BUCKET:
            start, low = self._buckets[-1]
            self._buckets[-1] = (start, self._lower(low, sample))
        else:
            self._buckets.append((now, sample))
        while now - self._buckets[0][0] > BASE_DELAY_HISTORY:
            self._buckets.popleft()

    def queueing_delay(self) -> int:
        """Microseconds above the base delay, per the most recent samples (0 before any)."""
        if not self._recent:
            return 0
        base = self._buckets[0][1]
        for _, low in self._buckets:
            base = self._lower(base, low)
        current = self._recent[0]
        for sample in self._recent:
            current = self._lower(current, sample)
        delay = (current - base) & _U32
        return 0 if delay >= 0x80000000 else delay


class UtpConnection:
    """One uTP connection: a reliable, ordered byte stream over datagrams.

    Make one with :meth:`connect` (we dial) or :meth:`accept` (a SYN arrived). The driver
    picks the random numbers (connection id, first sequence number), so this class stays
    deterministic.
    """

    def __init__(self, recv_id: int, send_id: int, seq_nr: int, state: State, now: float) -> None:
        self.recv_id = recv_id & _SEQ
        self.send_id = send_id & _SEQ
        self.state = state
        self.error: str | None = None
        self.seq_nr = seq_nr & _SEQ  # the next sequence number we send
        self._first_seq = self.seq_nr
        self.ack_nr = 0  # the last packet of the peer's received in order
        # Congestion control (LEDBAT) and the peer's receive window, in payload bytes.
        self.max_window = 2 * MIN_WINDOW
        self.peer_window = RECEIVE_BUFFER
        self.slow_start = True
        self.delays = _DelayHistory()
        self.rtt = 0.0
        self.rtt_var = 0.8
        self.timeout = INITIAL_TIMEOUT
        self._timeouts = 0  # in a row
        self._rto_deadline: float | None = None
        self._last_sent = now
        # Sending.
        self._send_buffer = bytearray()
        self._in_flight: OrderedDict[int, _Outgoing] = OrderedDict()
        self._fin_queued = False
        self._dup_acks = 0
        self._recovery_until: int | None = None  # no second halving until this seq is acked
        self._ack_due = False
        self._reset_due = False
        self._aborted = False
        # Receiving.
        self._reorder: dict[int, bytes] = {}
        self._reorder_bytes = 0
        self._readable = bytearray()
        self._peer_fin_seq: int | None = None
        self.eof = False  # the peer's FIN arrived and everything before it was read in order
        self._reply_micro = 0  # timestamp_difference for the packets we send

    # -- making connections ----------------------------------------------------------

    @classmethod
    def connect(cls, recv_id: int, now: float) -> UtpConnection:
        """Dial: a connection in ``SYN_SENT`` whose first datagram is the SYN."""
        conn = cls(recv_id, recv_id + 1, 1, State.SYN_SENT, now)
        conn._queue(PacketType.SYN, b"")
        return conn

    @classmethod
    def accept(cls, syn: Packet, seq_nr: int, now: float) -> UtpConnection:
        """Answer ``syn``: a connection in ``SYN_RECV`` that acks it at once."""
        if syn.type is not PacketType.SYN:
            raise UtpError(f"a uTP connection starts with a SYN, not {syn.type.name}")
        conn = cls(syn.connection_id + 1, syn.connection_id, seq_nr, State.SYN_RECV, now)
        conn.ack_nr = syn.seq_nr
        conn._note_timestamp(syn, now)
        conn._ack_due = True
        return conn

    # -- the application's side ------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue bytes of the stream; :meth:`datagrams_to_send` puts them on the wire."""
        if self._fin_queued or self.state in (State.CLOSED, State.RESET):
            raise UtpError(f"cannot send on a uTP connection that is {self.state.value} or closing")
        self._send_buffer += data

    def close(self) -> None:
        """End our half of the stream: a FIN follows the queued bytes."""
        if self.state not in (State.CLOSED, State.RESET):
            self._fin_queued = True

    def abort(self) -> None:
        """Reset the connection: one RESET goes out and the connection is closed."""
        if self.state not in (State.CLOSED, State.RESET, State.SYN_SENT):
            self._reset_due = True
        self._aborted = True
        self._ack_due = False
        self.state = State.CLOSED

    def read(self) -> bytes:
        """The bytes that arrived in order since the last call."""
        data = bytes(self._readable)
        was_small = self.window() < PAYLOAD_SIZE
        self._readable.clear()
        if data and was_small:
            self._ack_due = True  # tell the peer the window is open again
        return data

    @property
    def closing(self) -> bool:
        """Our half is closed or closing (``close`` or ``abort`` was called, or the end came)."""
        return self._fin_queued or self.state in (State.FIN_SENT, State.CLOSED, State.RESET)

    @property
    def pending(self) -> int:
        """Bytes queued or in flight, not yet acked (a writer's buffer size)."""
        return len(self._send_buffer) + sum(len(p.payload) for p in self._in_flight.values())

    @property
    def cur_window(self) -> int:
        """Payload bytes on the wire and not yet acked."""
        return sum(len(p.payload) for p in self._in_flight.values() if not p.need_resend)

    def window(self) -> int:
        """The receive window we advertise: free room in the receive buffer."""
        return max(0, RECEIVE_BUFFER - self._reorder_bytes - len(self._readable))

    @property
    def deadline(self) -> float | None:
        """When :meth:`tick` must be called next (``None``: only when a datagram arrives)."""
        if self.state in (State.CLOSED, State.RESET):
            return None
        if self._rto_deadline is not None:
            return self._rto_deadline
        return self._last_sent + KEEPALIVE

    # -- datagrams in ----------------------------------------------------------------

    def receive_datagram(self, datagram: bytes, now: float) -> None:
        """Feed one datagram addressed to this connection (raises :class:`UtpError` if malformed)."""
        self.receive_packet(decode(datagram), now)

    def receive_packet(self, packet: Packet, now: float) -> None:
        """Feed one decoded packet."""
        if self.state is State.CLOSED and self.error is None and not self._aborted:
            # Like TCP's TIME-WAIT: the peer resends its FIN until our ack gets through.
            self._ack_due = packet.type in (PacketType.DATA, PacketType.FIN)
            return
        if self.state in (State.CLOSED, State.RESET):
            return
        if packet.type is PacketType.RESET:
            self._fail("the peer reset the connection")
            return
        if packet.type is PacketType.SYN:
            if self.state is State.SYN_RECV and packet.seq_nr == self.ack_nr:
                self._ack_due = True  # our ack was lost: send it again
            return
        if self.state is State.SYN_SENT:
            # Only a STATE answers our SYN: it carries the seq_nr of the peer's first data
            # packet, which a data packet that overtook it cannot tell (it is resent later).
            if packet.type is not PacketType.STATE:
                return
            self.ack_nr = (packet.seq_nr - 1) & _SEQ
            self.state = State.CONNECTED
        elif self.state is State.SYN_RECV:
            self.state = State.CONNECTED
        self._note_timestamp(packet, now)
        self.peer_window = packet.wnd_size
        self._process_ack(packet, now)
        if packet.type in (PacketType.DATA, PacketType.FIN):
            self._receive_data(packet)
        self._maybe_closed()

    def _note_timestamp(self, packet: Packet, now: float) -> None:
        self._reply_micro = (_micros(now) - packet.timestamp) & _U32

    def _process_ack(self, packet: Packet, now: float) -> None:
        if not self._in_flight:
            return
        oldest = next(iter(self._in_flight))
        newest = (self.seq_nr - 1) & _SEQ
        ack = packet.ack_nr
        if _seq_less(newest, ack) or _seq_less(ack, (oldest - 1) & _SEQ):
            return  # acks what we never sent, or an old ack: ignore it
        acked: list[_Outgoing] = []
        for seq in list(self._in_flight):
            if _seq_less(ack, seq):
                break
            acked.append(self._in_flight.pop(seq))
        lost: _Outgoing | None = None
        if packet.sack is not None:
            acked += self._selective_acks(packet.sack, ack)
            lost = self._lost_by_sack(packet.sack, ack)
        if not acked and packet.type is PacketType.STATE and self._in_flight:
            self._dup_acks += 1
            if self._dup_acks >= DUP_ACKS:
                lost = self._in_flight[next(iter(self._in_flight))]
                self._dup_acks = 0
        elif acked:
            self._dup_acks = 0
        if acked:
            self._timeouts = 0
            self._on_acked(acked, packet, now)
        if lost is not None and not lost.need_resend and not lost.fast_resent:
            self._on_loss(lost)
        if not self._in_flight:
            self._rto_deadline = None
        elif acked:
            self._rto_deadline = now + self.timeout

    def _selective_acks(self, sack: bytes, ack: int) -> list[_Outgoing]:
        acked = []
        for i in range(len(sack) * 8):
            if sack[i // 8] >> (i % 8) & 1:
                packet = self._in_flight.pop((ack + 2 + i) & _SEQ, None)
                if packet is not None:
                    acked.append(packet)
        return acked

    def _lost_by_sack(self, sack: bytes, ack: int) -> _Outgoing | None:
        """The first unacked packet with :data:`DUP_ACKS` packets selectively acked past it."""
        first = self._in_flight.get((ack + 1) & _SEQ)
        received_after = sum(bin(byte).count("1") for byte in sack)
        return first if first is not None and received_after >= DUP_ACKS else None

    def _on_acked(self, acked: list[_Outgoing], packet: Packet, now: float) -> None:
        for out in acked:
            if out.transmissions == 1:  # Karn: a resent packet's RTT is ambiguous
                self._rtt_sample(now - out.sent_at)
        if self._recovery_until is not None and not _seq_less(packet.ack_nr, self._recovery_until):
            self._recovery_until = None
        if packet.timestamp_difference:
            self.delays.add(packet.timestamp_difference, now)
        self._ledbat(sum(len(p.payload) for p in acked))

    def _rtt_sample(self, rtt: float) -> None:
        """BEP 29: rtt and rtt_var as TCP keeps them (RFC 6298), timeout at least 500 ms."""
        if self.rtt == 0.0:
            self.rtt, self.rtt_var = rtt, rtt / 2
        else:
            self.rtt_var += (abs(self.rtt - rtt) - self.rtt_var) / 4
            self.rtt += (rtt - self.rtt) / 8
        self.timeout = max(self.rtt + 4 * self.rtt_var, MIN_TIMEOUT)

    def _ledbat(self, bytes_acked: int) -> None:
        """Move ``max_window`` by how far the queueing delay is from the target (BEP 29):

        ``off_target = (TARGET - delay) / TARGET``, between -1 and 1; the window moves by
        ``MAX_WINDOW_INCREASE * off_target * bytes_acked / max_window`` per ack, that is by
        at most :data:`MAX_WINDOW_INCREASE` bytes per round trip when a whole window is acked.
        Until the first loss or the first delay above target the window doubles each round
        trip instead (slow start, as libtorrent does), so a loopback transfer starts quickly.
        """
        if bytes_acked == 0:
            return
        delay = self.delays.queueing_delay()
        off_target = max(-1.0, (TARGET_DELAY - delay) / TARGET_DELAY)
        if self.slow_start and off_target > 0:
            self.max_window += bytes_acked
            return
        self.slow_start = False
        window_factor = min(bytes_acked, self.max_window) / max(self.max_window, bytes_acked)
        self.max_window += int(MAX_WINDOW_INCREASE * off_target * window_factor)
        self.max_window = max(self.max_window, MIN_WINDOW)

    def _on_loss(self, lost: _Outgoing) -> None:
        """A packet lost by duplicate or selective acks: resend it, halve the window once per window."""
        lost.need_resend = True
        lost.fast_resent = True
        self.slow_start = False
        if self._recovery_until is None:
            self.max_window = max(self.max_window // 2, MIN_WINDOW)
            self._recovery_until = (self.seq_nr - 1) & _SEQ

    def _receive_data(self, packet: Packet) -> None:
        self._ack_due = True  # every data packet is acked, duplicates too (their ack was lost)
        seq = packet.seq_nr
        distance = (seq - self.ack_nr) & _SEQ
        if distance == 0 or distance > MAX_REORDER:
            return  # already have it, or too far ahead to buffer
        if packet.type is PacketType.FIN:
            self._peer_fin_seq = seq
        if self._peer_fin_seq is not None and _seq_less(self._peer_fin_seq, seq):
            return  # nothing comes after the FIN
        if distance > 1:
            if seq not in self._reorder and len(packet.payload) <= self.window():
                self._reorder[seq] = packet.payload
                self._reorder_bytes += len(packet.payload)
            return
        if len(packet.payload) > self.window():
            return  # no room: dropped, and the sender retries
        self._deliver(seq, packet.payload)
        while (nxt := (self.ack_nr + 1) & _SEQ) in self._reorder:
            payload = self._reorder.pop(nxt)
            self._reorder_bytes -= len(payload)
            self._deliver(nxt, payload)

    def _deliver(self, seq: int, payload: bytes) -> None:
        self.ack_nr = seq
        self._readable += payload
        if seq == self._peer_fin_seq:
            self.eof = True
            self._reorder.clear()
            self._reorder_bytes = 0

    def _maybe_closed(self) -> None:
        if self.eof and self.state is State.FIN_SENT and not self._in_flight:
            self.state = State.CLOSED

    def _fail(self, reason: str) -> None:
        self.state = State.RESET
        self.error = reason
        self._rto_deadline = None

    # -- timers ----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Run the timers: resend on timeout (with exponential backoff), keep-alive."""
        if self.state in (State.CLOSED, State.RESET):
            return
        if self._rto_deadline is not None and now >= self._rto_deadline:
            self._timeouts += 1
            limit = MAX_SYN_TIMEOUTS if self.state is State.SYN_SENT else MAX_TIMEOUTS
            if self._timeouts > limit:
                self._fail(f"no answer after {limit} timeouts")
                return
            self.timeout *= 2
            self.max_window = MIN_WINDOW
            self.slow_start = False
            self.peer_window = max(self.peer_window, PAYLOAD_SIZE)  # probe a closed window
            for out in self._in_flight.values():
                out.need_resend = True
            self._rto_deadline = now + self.timeout
        elif self._rto_deadline is None and now >= self._last_sent + KEEPALIVE:
            self._ack_due = True

    # -- datagrams out ---------------------------------------------------------------

    def datagrams_to_send(self, now: float) -> list[bytes]:
        """The datagrams to send now: resends, new data as the window allows, FIN, acks."""
        out: list[Packet] = []
        if self.state is State.SYN_RECV and self._ack_due:
            # A bare ack first, as libutp, with our first seq_nr even if data went out since.
            out.append(self._packet(PacketType.STATE, self._first_seq, b"", now))
            self._ack_due = False
        if self._reset_due:
            self._reset_due = False
            out.append(self._packet(PacketType.RESET, self.seq_nr, b"", now))
        if self.state in (State.CLOSED, State.RESET):
            if self._ack_due and self.state is State.CLOSED:
                out.append(self._packet(PacketType.STATE, self.seq_nr, b"", now))
            self._ack_due = False
            return [encode(p) for p in out]
        self._packetize()
        window = min(self.max_window, self.peer_window)
        for item in self._in_flight.values():
            if not item.need_resend:
                continue
            in_flight = self.cur_window
            if in_flight and in_flight + len(item.payload) > window:
                break
            item.need_resend = False
            item.transmissions += 1
            item.sent_at = now
            out.append(self._packet(item.type, item.seq_nr, item.payload, now))
        if out and self._rto_deadline is None and self._in_flight:
            self._rto_deadline = now + self.timeout
        if self._ack_due and not any(p.type in (PacketType.DATA, PacketType.FIN) for p in out):
            if self.state is not State.SYN_SENT:
                out.append(self._packet(PacketType.STATE, self.seq_nr, b"", now))
        self._ack_due = False
        if out:
            self._last_sent = now
        return [encode(p) for p in out]

    def _packetize(self) -> None:
        """Cut the send buffer into packets (the window decides when they leave)."""
        if self.state is State.SYN_SENT:
            return
        while self._send_buffer and len(self._in_flight) < MAX_IN_FLIGHT:
            if self.cur_window + PAYLOAD_SIZE > min(self.max_window, self.peer_window) and self._in_flight:
                return  # keep the bytes here, where more can join the last packet
            payload = bytes(self._send_buffer[:PAYLOAD_SIZE])
            del self._send_buffer[:PAYLOAD_SIZE]
            self._queue(PacketType.DATA, payload)
        if self._fin_queued and not self._send_buffer and self.state is not State.FIN_SENT \
                and len(self._in_flight) < MAX_IN_FLIGHT:
            self._queue(PacketType.FIN, b"")
            self.state = State.FIN_SENT

    def _queue(self, kind: PacketType, payload: bytes) -> None:
        self._in_flight[self.seq_nr] = _Outgoing(kind, self.seq_nr, payload)
        self.seq_nr = (self.seq_nr + 1) & _SEQ

    def _packet(self, kind: PacketType, seq_nr: int, payload: bytes, now: float) -> Packet:
        conn_id = self.recv_id if kind is PacketType.SYN else self.send_id
        return Packet(kind, conn_id, seq_nr, self.ack_nr, self.window(), _micros(now),
                      self._reply_micro, self._sack(), payload)

    def _sack(self) -> bytes | None:
        """The selective ack bitmask: bit ``i`` is packet ``ack_nr + 2 + i``."""
        if not self._reorder:
            return None
        farthest = max((seq - self.ack_nr - 2) & _SEQ for seq in self._reorder)
        size = min(MAX_SACK_BYTES, (farthest // 32 + 1) * 4)
        mask = bytearray(size)
        for seq in self._reorder:
            i = (seq - self.ack_nr - 2) & _SEQ
            if i < size * 8:
                mask[i // 8] |= 1 << (i % 8)
        return bytes(mask)
