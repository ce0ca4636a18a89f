"""Write the view as one self-contained HTML page: no network, no CDN, no build step.

The page is ``view.html`` with ``view.css`` and ``view.js`` (this package's data files)
and the event records (:mod:`btref.web.events`) inlined, so it opens from a USB stick in
a lecture hall. A live page (:mod:`btref.web.server`) is the same page with no records
inside; it receives them as server-sent events (the WHATWG HTML standard, "Server-sent
events").
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

__all__ = ["render"]


def _data(name: str) -> str:
    return resources.files("btref.web").joinpath(name).read_text(encoding="utf-8")


def render(records: list[dict[str, Any]], *, title: str = "btref swarm", live: bool = False) -> str:
    """The page, with ``records`` (header first) inlined; ``live``: it also listens on ``events``."""
    # "</" inside a <script> would end it early: JSON allows the escaped form "<\/".
    data = json.dumps(records, separators=(",", ":"), default=str).replace("</", "<\\/")
    parts = {"__STYLE__": _data("view.css"), "__SCRIPT__": _data("view.js"), "__EVENTS__": data,
             "__LIVE__": "true" if live else "false", "__TITLE__": html.escape(title)}
    page = _data("view.html")
    for key in ("__TITLE__", "__LIVE__", "__STYLE__", "__SCRIPT__", "__EVENTS__"):
        page = page.replace(key, parts[key])  # the records last: their text is never searched
    return page
