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
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

__all__ = ["EventLog", "read_events"]


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
