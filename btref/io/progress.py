"""Progress of a download or seed, for people: a rich bar on a terminal, plain lines elsewhere.

``btref download`` and ``btref seed`` (:mod:`btref.net.driver` underneath; BEP 3 pieces
are the unit of progress) call :meth:`Progress.update` once a second with the session's
:meth:`~btref.net.driver.Client.stats`. On a terminal that redraws one
`rich <https://rich.readthedocs.io>`_ progress bar with the rate, the number of peers and
the time left; when the output is a file or a pipe (a log, a test, CI) it prints a plain
line at most every ``interval`` seconds, so logs stay short and readable::

    btref: 45.2% 116/256 pieces, 11.3 MiB/s down, 0.0 MiB/s up, 2 peers, ETA 12 s

Nothing here touches the network or the disk; a progress display is an observer.
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from rich.progress import Progress as RichProgress

__all__ = ["Progress", "format_line", "eta_text"]

_MIB = 1024 * 1024


def eta_text(left: int, rate: float) -> str:
    """``"12 s"``, ``"3 min"``, ``"2.5 h"`` or ``"?"`` (nothing arriving)."""
    if left <= 0:
        return "0 s"
    if rate <= 0:
        return "?"
    seconds = left / rate
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_line(stats: dict[str, Any]) -> str:
    """The plain progress line for one :meth:`~btref.net.driver.Client.stats` snapshot."""
    total = stats["total_bytes"] or 1
    percent = 100.0 * stats["bytes"] / total
    return (f"btref: {percent:.1f}% {stats['pieces']}/{stats['num_pieces']} pieces, "
            f"{stats['down_rate'] / _MIB:.1f} MiB/s down, {stats['up_rate'] / _MIB:.1f} MiB/s up, "
            f"{stats['peers']} peers, ETA {eta_text(stats['total_bytes'] - stats['bytes'], stats['down_rate'])}")


class Progress:
    """Show progress on ``stream``: a rich bar if it is a terminal (or ``tty=True``)."""

    def __init__(self, total_bytes: int, *, label: str = "download", stream: IO[str] | None = None,
                 tty: bool | None = None, interval: float = 5.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self._last: float | None = None
        self._bar: RichProgress | None = None
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn, DownloadColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                TransferSpeedColumn(), TextColumn("{task.fields[peers]} peers"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._task = self._bar.add_task(label, total=total_bytes, peers=0)
            self._bar.start()

    def update(self, stats: dict[str, Any], *, force: bool = False) -> None:
        """Show a :meth:`~btref.net.driver.Client.stats` snapshot."""
        if self._bar is not None:
            self._bar.update(self._task, completed=stats["bytes"], peers=stats["peers"])
            return
        now = time.monotonic()
        if force or self._last is None or now - self._last >= self.interval:
            self._last = now
            print(format_line(stats), file=self.stream, flush=True)

    def close(self, stats: dict[str, Any] | None = None) -> None:
        """Show the last state and release the terminal."""
        if stats is not None:
            self.update(stats, force=True)
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
