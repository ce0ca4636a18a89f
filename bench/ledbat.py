"""LEDBAT beside TCP through one bottleneck: the figure of docs/core/utp.md (BEP 29).

Usage::

    .venv/bin/python bench/ledbat.py                       # writes docs/_static/utp-ledbat.png
    .venv/bin/python bench/ledbat.py --out /tmp/l.png --rate 1000

A model on a virtual clock, no sockets: two real :class:`btref.utp.UtpConnection` objects
(the sans-I/O core, unchanged) send one long stream through a shaped link: a FIFO queue
drained at ``--rate`` KB/s, holding at most ``--buffer`` ms of it, then ``--delay`` ms of
propagation; acks come back after the propagation delay alone. From ``--tcp-start`` to
``--tcp-stop`` seconds a loss-based flow shares the queue: a textbook TCP Reno model (slow
start, one more packet per round trip, half the window on a drop, once per round trip),
not a kernel TCP. Plotted every 100 ms: uTP's ``max_window`` and the TCP flow's window, the
queueing delay at the bottleneck, and the queueing delay uTP measured from its packets'
timestamps. It prints one line per phase: the mean of each over that phase.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
from collections.abc import Callable
from pathlib import Path

from btref import utp
from btref.utp import UtpConnection

ROOT = Path(__file__).resolve().parent.parent
TCP_PACKET = 1500


class Bottleneck:
    """A FIFO queue drained at ``rate`` bytes/s with room for ``capacity`` bytes."""

    def __init__(self, rate: float, capacity: float, delay: float) -> None:
        self.rate, self.capacity, self.delay = rate, capacity, delay
        self.free_at = 0.0  # when the link has sent everything queued so far

    def queued(self, now: float) -> float:
        return max(0.0, self.free_at - now) * self.rate

    def enqueue(self, size: int, now: float) -> float | None:
        """Arrival time at the far end, or ``None`` if the queue is full (dropped)."""
        if self.queued(now) + size > self.capacity:
            return None
        self.free_at = max(now, self.free_at) + size / self.rate
        return self.free_at + self.delay


def simulate(rate: float, buffer: float, delay: float, tcp_start: float, tcp_stop: float,
             duration: float) -> list[tuple[float, float, float, float, float]]:
    """(time, uTP window bytes, TCP window bytes, queueing delay s, uTP's measured delay s) every 100 ms."""
    link = Bottleneck(rate, rate * buffer, delay)
    events: list[tuple[float, int, Callable[[], None]]] = []
    order = itertools.count()
    now = 0.0

    def at(when: float, action: Callable[[], None]) -> None:
        heapq.heappush(events, (when, next(order), action))

    sender = UtpConnection.connect(100, now)
    receiver: list[UtpConnection] = []

    def to_receiver(datagram: bytes) -> None:
        if not receiver:
            receiver.append(UtpConnection.accept(utp.decode(datagram), 1000, now))
        else:
            receiver[0].receive_datagram(datagram, now)

    def to_sender(datagram: bytes) -> None:
        sender.receive_datagram(datagram, now)

    tcp = {"cwnd": 2.0, "ssthresh": 1e9, "inflight": 0, "last_halving": -1.0, "on": False}

    def tcp_ack() -> None:
        tcp["inflight"] -= 1
        if tcp["cwnd"] < tcp["ssthresh"]:
            tcp["cwnd"] += 1
        else:
            tcp["cwnd"] += 1 / tcp["cwnd"]

    def tcp_loss() -> None:
        tcp["inflight"] -= 1
        if now - tcp["last_halving"] > 2 * delay + buffer:  # once per round trip
            tcp["cwnd"] = tcp["ssthresh"] = max(tcp["cwnd"] / 2, 2.0)
            tcp["last_halving"] = now

    samples = []
    next_sample = 0.0
    while now < duration:
        # Senders put on the wire what their windows allow.
        if sender.pending < 256 * 1024 and sender.state is utp.State.CONNECTED:
            sender.send(bytes(64 * 1024))
        for datagram in sender.datagrams_to_send(now):
            arrival = link.enqueue(len(datagram), now)
            if arrival is not None:
                at(arrival, functools.partial(to_receiver, datagram))
        if receiver:
            receiver[0].read()
            for datagram in receiver[0].datagrams_to_send(now):
                at(now + delay, functools.partial(to_sender, datagram))
        tcp["on"] = tcp_start <= now < tcp_stop
        while tcp["on"] and tcp["inflight"] < int(tcp["cwnd"]):
            tcp["inflight"] += 1
            arrival = link.enqueue(TCP_PACKET, now)
            if arrival is None:  # three duplicate acks tell the sender about a round trip later
                at(now + 2 * delay + link.queued(now) / rate, tcp_loss)
            else:
                at(arrival + delay, tcp_ack)
        if now >= next_sample:
            samples.append((now, float(sender.max_window), tcp["cwnd"] * TCP_PACKET if tcp["on"] else 0.0,
                            link.queued(now) / rate, sender.delays.queueing_delay() / 1e6))
            next_sample += 0.1
        # Advance to the next thing that happens.
        times = [next_sample, duration]
        if events:
            times.append(events[0][0])
        for conn in (sender, *receiver):
            if conn.deadline is not None:
                times.append(conn.deadline)
        if not tcp["on"] and now < tcp_start:
            times.append(tcp_start)
        now = max(now, min(times))
        while events and events[0][0] <= now:
            heapq.heappop(events)[2]()
        for conn in (sender, *receiver):
            if conn.deadline is not None and conn.deadline <= now:
                conn.tick(now)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500, help="bottleneck rate in KB/s (default 500)")
    parser.add_argument("--buffer", type=float, default=400, help="bottleneck queue in ms of traffic (default 400)")
    parser.add_argument("--delay", type=float, default=20, help="one-way propagation delay in ms (default 20)")
    parser.add_argument("--tcp-start", type=float, default=30, help="when the TCP flow starts, s (default 30)")
    parser.add_argument("--tcp-stop", type=float, default=60, help="when it stops, s (default 60)")
    parser.add_argument("--duration", type=float, default=90, help="seconds simulated (default 90)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "_static" / "utp-ledbat.png"))
    args = parser.parse_args()
    samples = simulate(args.rate * 1000, args.buffer / 1000, args.delay / 1000, args.tcp_start, args.tcp_stop,
                       args.duration)
    for name, lo, hi in (("uTP alone", 10, args.tcp_start), ("uTP beside TCP", args.tcp_start + 5, args.tcp_stop),
                         ("uTP alone again", args.tcp_stop + 5, args.duration)):
        phase = [s for s in samples if lo <= s[0] < hi]
        mean = [sum(s[i] for s in phase) / len(phase) for i in range(1, 5)]
        print(f"{name:<16} {lo:5.0f}-{hi:<5.0f}s  uTP window {mean[0] / 1000:7.1f} KB  TCP window {mean[1] / 1000:7.1f} KB"
              f"  queueing delay {mean[2] * 1000:6.1f} ms  measured by uTP {mean[3] * 1000:6.1f} ms")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s[0] for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5.5))
    top.plot(t, [s[1] / 1000 for s in samples], label="uTP max_window")
    top.plot(t, [s[2] / 1000 for s in samples], label="TCP (Reno model) window")
    top.set_ylabel("window (KB)")
    top.legend(loc="upper right")
    bottom.plot(t, [s[3] * 1000 for s in samples], label="queueing delay at the bottleneck")
    bottom.plot(t, [s[4] * 1000 for s in samples], label="queueing delay measured by uTP", linestyle="--")
    bottom.axhline(utp.TARGET_DELAY / 1000, color="grey", linewidth=0.8, label="LEDBAT target (100 ms)")
    bottom.set_ylabel("delay (ms)")
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="upper right")
    for ax in (top, bottom):
        ax.axvspan(args.tcp_start, args.tcp_stop, color="grey", alpha=0.12)
    fig.suptitle(f"uTP beside a TCP flow: {args.rate:g} KB/s bottleneck, {args.buffer:g} ms queue, "
                 f"{args.delay:g} ms each way")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    out = Path(args.out).resolve()
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
