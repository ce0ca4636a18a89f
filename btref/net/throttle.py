"""Rate limits for the asyncio driver: an upload limit split among the connections by the
choker's shares, and a download limit on what the client reads.

Without a limit the driver serves every ``ReadBlock`` at once and the kernel's TCP splits
the link among the connections by what each takes. With
``Client(upload_limit=RATE)`` the client owns its uplink, as the simulator's
hosts do, so it can honour :class:`~btref.actions.UploadShares` (PropShare, BitTyrant):

* each ``ReadBlock`` waits in its connection's FIFO queue (:meth:`LimitedUplink.queue`);
* one task (:meth:`LimitedUplink.run`) takes a small batch of blocks, the next
  connection's first block each time: round robin, or, when the last ``UploadShares``
  gave shares, start-time fair queueing (:class:`btref.uplink.Uplink`, the very queue the
  simulator's hosts keep);
* the batch is served (disk read, ``block_read``, send) and then paid for through a
  :class:`TokenBucket`, with the payload bytes that really left: a block the engine no
  longer wants (choked, cancelled) is dropped by ``block_read`` and costs nothing.

With ``Client(download_limit=RATE)`` every connection's read loop pays the same
:class:`TokenBucket` for the payload bytes each read brought, before it reads again: the
client takes data in no faster than ``RATE`` on average, and TCP's flow control (the
socket's receive buffer fills up) slows the senders down, as libtorrent's limit does. A
read's bytes are taken as they come, so the limit holds on average, over seconds, not
within one read of :data:`~btref.net.peer_io.READ_SIZE` bytes.

Invariants: payload leaves at ``rate`` bytes per second on average, with bursts of at most
a quarter second's worth after idle time (protocol messages are not counted, as in most
clients); one connection's blocks leave in the order they were asked for; the
connections' order follows the shares only among connections with blocks waiting (an idle
one banks no credit); a closed connection's blocks are forgotten; :meth:`LimitedUplink.close`
makes the task return at once, so a stopping client never waits for its limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from btref.actions import ReadBlock
from btref.uplink import Uplink

__all__ = ["TokenBucket", "LimitedUplink", "BATCH_SECONDS"]

#: A batch holds about this many seconds' worth of the limit (at least one block): small
#: enough that the shares show within a fraction of a second, big enough that a fast limit
#: does not cost one disk job per 16 KiB block.
BATCH_SECONDS = 0.05


# [docs: token-bucket]
class TokenBucket:
    """Allow ``rate`` bytes per second on average: :meth:`take` waits when over budget.

    The budget may go negative: a caller that takes ``n`` bytes sleeps until the debt is
    paid back at ``rate``. Callers queue on a lock (FIFO), so batches leave in the order
    they were asked for. :meth:`close` wakes every waiter and makes :meth:`take` return
    False, so a stopping client never waits for its throttle.
    """

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst = rate, burst
        self.tokens = burst
        #: Every byte paid for so far.
        self.spent = 0
        self._stamp: float | None = None
        self._lock = asyncio.Lock()
        self._closed = asyncio.Event()

    def spend(self, n: int, now: float) -> float:
        """Pay ``n`` bytes at time ``now`` (any clock, seconds); returns how long to wait
        before the next payment is on budget (0: not in debt). The accounting alone, so a
        test can run it on a clock of its own."""
        if self._stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self.tokens -= n
        self.spent += n
        return max(0.0, -self.tokens / self.rate)

    async def take(self, n: int) -> bool:
        """Spend ``n`` bytes of budget, waiting as long as that takes; False once closed."""
        async with self._lock:
            wait = self.spend(n, asyncio.get_running_loop().time())
            if wait > 0 and not self._closed.is_set():
                try:
                    await asyncio.wait_for(self._closed.wait(), wait)
                except TimeoutError:
                    pass
            return not self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
# [/docs: token-bucket]


class LimitedUplink:
    """Per-connection queues of ``ReadBlock`` actions, served at ``rate`` by shares.

    ``serve(batch)`` carries a batch out (the session's disk read and ``block_read``) and
    returns the payload bytes it sent.
    """

    def __init__(self, rate: float, serve: Callable[[list[ReadBlock]], Awaitable[int]]) -> None:
        self.bucket = TokenBucket(rate, burst=rate / 4)
        self.batch_bytes = rate * BATCH_SECONDS
        self._serve = serve
        #: The blocks asked for, per connection, in the order they will leave (round
        #: robin, or by the choker's shares): the same queue the simulator's hosts use.
        self.waiting: Uplink[Hashable, ReadBlock] = Uplink()
        self._work = asyncio.Event()
        self.closed = False

    def queue(self, reads: list[ReadBlock]) -> None:
        """Requests the engine accepted (``ReadBlock``): they wait for the uplink."""
        for read in reads:
            self.waiting.push(read.key, read)
        self._work.set()

    def set_shares(self, shares: tuple[tuple[Hashable, float], ...]) -> None:
        """The last :class:`~btref.actions.UploadShares`: ``()`` means equal shares again."""
        self.waiting.set_shares(shares)

    @property
    def shares(self) -> dict[Hashable, float]:
        """The split in force (empty: equal shares)."""
        return self.waiting.shares

    def forget(self, key: Hashable) -> None:
        """A connection closed: nobody will take its blocks."""
        self.waiting.forget(key)

    # [docs: limited-uplink]
    async def run(self) -> None:
        """Serve batches until :meth:`close` (or cancellation)."""
        waiting = self.waiting
        while not self.closed:
            if not waiting:
                self._work.clear()
                await self._work.wait()
                continue
            batch = [waiting.pop()[1]]
            size = batch[0].length
            while waiting and size < self.batch_bytes:
                batch.append(waiting.pop()[1])
                size += batch[-1].length
            # Pay after sending, for what was sent: the bucket's debt makes the next batch
            # wait, so the average holds, and a block dropped by the engine costs nothing.
            if not await self.bucket.take(await self._serve(batch)):
                return
    # [/docs: limited-uplink]

    def close(self) -> None:
        self.closed = True
        self.bucket.close()
        self._work.set()
