"""The ``--events FILE.jsonl`` log: one JSON object per line for every engine event.

The engine reports what happens as :class:`~btref.actions.Event` actions (a peer
connected, a piece verified or failed, a ban, a rechoke, completion; BEP 3 "peer
messages" vocabulary). The asyncio driver (:mod:`btref.net.driver`) adds its own (a
connection failed, an announce answered) and hands every one to an :class:`EventLog`,
which writes::

    {"t": 0.153, "event": "piece_verified", "index": 7}

``t`` is seconds since the client started (the driver's monotonic clock), so a log can
be replayed or plotted next to a simulator run. Values JSON cannot hold (bytes, tuples of
addresses, exceptions) are written as their ``str``.

Invariant: a line is written whole and flushed at once, so a crash leaves a readable log
(at worst without its last event).

:class:`ChokeLog` adds the choker's reasons to such a log, for experiments on choking
(``bench/mainline.py``): every answer of the ``btref_rechoke`` hook (BEP 3 "choking") with
the session's ``now``, whether it was a periodic round and when that round was due, and the
optimistic picks with the pool they were drawn from. It wraps one session's hook, so it
works the same under the asyncio driver and the simulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.session import Session
    from btref.views import PeerView, SwarmView

__all__ = ["EventLog", "read_events", "ChokeLog"]


class EventLog:
    """Append events to a JSON-lines file (``path``) or an open text stream."""

    def __init__(self, target: str | os.PathLike[str] | IO[str], *, start: float = 0.0) -> None:
        if isinstance(target, (str, os.PathLike)):
            self._stream: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._owned = True
        else:
            self._stream, self._owned = target, False
        self.start = start

    def write(self, name: str, fields: dict[str, Any], now: float) -> None:
        """One event at driver time ``now``."""
        record = {"t": round(now - self.start, 6), "event": name, **fields}
        self._stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            self._stream.close()


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every event of a log written by :class:`EventLog`, in order (for tests and notebooks)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class ChokeLog:
    """Record every choker answer of ``session`` as a ``choke_decision`` event.

    Attaching puts this object between the session's :class:`~btref.choking.ChokeRounds`
    and its plugin hook, so it sees each call as it happens (a round, or a fill when a
    peer becomes interested) and hands the choker's answer on unchanged. ``write(name,
    fields)`` receives each record (:meth:`btref.net.driver.Client.event`, or a list's
    ``append`` in the simulator); ``name_of`` turns a peer key into a name both drivers
    share (the remote peer id, the simulated peer's name).

    A record holds ``now``; ``round`` (true for the periodic round, which is the first call
    after the round clock moved) with ``due``, the time that round was scheduled for;
    ``chosen``, the answer in the choker's order; ``interested``, ``downloaders`` and
    ``snubbed``, the names of the interested peers, of those of them we unchoked (as the
    call found them), and of the snubbed peers. For a choker with optimistic slots (an
    ``optimistic`` list and a ``rotated_at`` time, as tit-for-tat keeps) also
    ``optimistic``, and at a rotation ``rotated`` with the pool it drew from split into
    ``pool_new`` and ``pool_old`` by the choker's ``new_peer_age``.
    """

    def __init__(self, session: Session, write: Callable[[str, dict[str, Any]], None],
                 name_of: Callable[[Hashable], str] = str) -> None:
        self.session, self.write, self.name_of = session, write, name_of
        self.hook = session.choking.hook
        #: The choker plugin the session calls (the first implementation of the hook).
        self.choker: Any = self.hook.btref_rechoke.get_hookimpls()[-1].plugin
        self.next_round: float | None = session.choking.next_round
        session.choking.hook = self

    def btref_rechoke(self, *, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Any:
        """Ask the choker, record its answer, return the answer unchanged."""
        answer = self.hook.btref_rechoke(swarm=swarm, peers=peers, now=now)
        rounds = self.session.choking
        name = self.name_of
        record: dict[str, Any] = {"now": now, "round": rounds.next_round != self.next_round}
        if record["round"]:
            due = self.next_round
            record["due"] = now if due is None else due  # the first round runs at the first tick
            self.next_round = rounds.next_round
        record["chosen"] = [name(key) for key in (answer or ())]
        record["interested"] = sorted(name(p.key) for p in peers if p.peer_interested)
        record["downloaders"] = sorted(name(p.key) for p in peers if p.peer_interested and not p.am_choking)
        record["snubbed"] = sorted(name(p.key) for p in peers if p.snubbed)
        optimistic = getattr(self.choker, "optimistic", None)
        if optimistic is not None:
            record["optimistic"] = [name(key) for key in optimistic]
            if getattr(self.choker, "rotated_at", None) == now:
                age = getattr(self.choker, "new_peer_age", 0.0)
                regular = set(answer or ()) - set(optimistic)
                pool = [p for p in peers if p.peer_interested and p.key not in regular]
                record["rotated"] = True
                record["pool_new"] = sorted(name(p.key) for p in pool if now - p.connected_at < age)
                record["pool_old"] = sorted(name(p.key) for p in pool if now - p.connected_at >= age)
        self.write("choke_decision", record)
        return answer
