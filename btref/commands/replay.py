"""``btref replay FILE.jsonl --html``: a recorded ``--events`` log as the browser view.

A real download or seed run with ``--events FILE.jsonl`` (:mod:`btref.net.events`) logs
what its engine saw (BEP 3 "peer messages": pieces verified, rechokes, bans). This turns
the log into the records of :mod:`btref.web.events` and writes the same self-contained
page as ``btref sim --html`` (:mod:`btref.web.page`), to replay the run with a slider.

A log is untrusted input: a line that is not JSON stops the command with its line
number (exit 2); records that are not events are left out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from btref.commands.common import CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.commands.common import Subparsers

HELP = "replay a recorded --events log in the browser view (one HTML file)"
DESCRIPTION = """\
Turn an event log written by `btref download ... --events FILE.jsonl` (or `btref
seed`) into the browser view: one HTML file with a timeline, play/pause and a
slider, the client's piece map filling in, its unchoke decisions and bans. The
file needs no network: open it in any browser.
"""
EPILOG = """\
examples:
  btref download album.torrent -o out --peer 127.0.0.1:6881 --events log.jsonl
  btref replay log.jsonl --html                  writes log.html
  btref replay log.jsonl --html -o lecture.html --name me

next: `btref sim walkthrough --html` shows a whole simulated swarm the same way;
the book's chapter "Watching a swarm" documents the event schema.
"""

#: The largest log read (a long real run logs a few MB).
MAX_LOG = 256 * 1024 * 1024


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("replay", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="FILE.jsonl", help="an event log written by --events")
    p.add_argument("--html", action="store_true", required=True, help="write the browser view (the only output)")
    p.add_argument("-o", "--output", metavar="FILE.html", help="where to write it (default: the log's name, .html)")
    p.add_argument("--name", default="local", help="the client's row label (default: local)")
    p.set_defaults(run=run)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines log. :raises CommandError: unreadable, too large, not JSON lines."""
    try:
        if path.stat().st_size > MAX_LOG:
            raise CommandError(f"{path}: larger than {MAX_LOG // 2**20} MiB; cut it with head -n first")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f"{path}: cannot read it: {getattr(e, 'strerror', None) or e}") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                raise CommandError(f"{path}, line {number}: not a JSON object (is it an --events log?)") from None
    return records


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from btref.web import events, page

    out = out or sys.stdout
    path = Path(args.log)
    records = events.from_log(read_log(path), client=args.name, title=f"btref replay {path.name}")
    target = Path(args.output) if args.output else path.with_suffix(".html")
    target.write_text(page.render(events.sample(records), title=records[0]["title"]), encoding="utf-8")
    verified = sum(1 for r in records if r["event"] == "piece_verified")
    print(f"{path}: {len(records) - 1} events, {verified} pieces verified, {records[0]['pieces']} pieces; "
          f"wrote {target} (open it in a browser)", file=out)
    return 0
