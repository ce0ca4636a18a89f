"""Sphinx extension: draw btref's choke/interest table as an SVG state diagram.

The directive ``choke-diagram`` reads :data:`btref.peer.CHOKE_TABLE` at build time
and emits inline SVG (HTML builders only), so the picture in the book can never drift
from the table the code runs on. No network, no graphviz: just text and arithmetic.

Each direction of data flow gets a panel with four states, (choking, interested).
Choking changes left to right, interest top to bottom; the state where blocks flow
(unchoked and interested) is shaded.
"""

from __future__ import annotations

from html import escape

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

W, H = 190, 44  # state box
COL = {True: 60, False: 430}  # x of the box, by "choking"
ROW = {False: 50, True: 210}  # y of the box, by "interested"
PANEL_W, PANEL_H = 690, 290
TITLES = {
    "upload": "upload: our data to the peer (am_choking, peer_interested)",
    "download": "download: the peer's data to us (peer_choking, am_interested)",
}


def _box(state: tuple[bool, bool], top: int) -> str:
    choking, interested = state
    x, y = COL[choking], ROW[interested] + top
    flows = not choking and interested
    label = f"{'choked' if choking else 'unchoked'}, {'interested' if interested else 'not interested'}"
    fill = "#cde8cd" if flows else "#f4f4f4"
    extra = (f'<text x="{x + W / 2}" y="{y + H + 14}" text-anchor="middle" font-size="11" '
             f'fill="#2a6a2a">blocks flow</text>') if flows else ""
    return (f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="8" fill="{fill}" stroke="#444"/>'
            f'<text x="{x + W / 2}" y="{y + H / 2 + 5}" text-anchor="middle" font-size="13">{label}</text>{extra}')


def _arrow(src: tuple[bool, bool], dst: tuple[bool, bool], event: str, top: int) -> str:
    """A straight arrow between two boxes, shifted to its own side so opposite arrows do not overlap."""
    if src[0] != dst[0]:  # choking changes: horizontal
        forward = src[0]  # choked -> unchoked runs left to right
        y = ROW[src[1]] + top + H / 2 + (-8 if forward else 8)
        x1, x2 = (COL[True] + W, COL[False]) if forward else (COL[False], COL[True] + W)
        lx, ly, anchor = (x1 + x2) / 2, y + (-6 if forward else 16), "middle"
        coords = (x1, y, x2, y)
    else:  # interest changes: vertical
        down = not src[1]
        x = COL[src[0]] + W / 2 + (-24 if down else 24)
        y1, y2 = (ROW[False] + H, ROW[True]) if down else (ROW[True], ROW[False] + H)
        coords = (x, y1 + top, x, y2 + top)
        lx, ly, anchor = x + (-6 if down else 6), (y1 + y2) / 2 + top + 4, "end" if down else "start"
    x1, y1, x2, y2 = coords
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#1f4e8c" stroke-width="1.6" '
            f'marker-end="url(#arrow)"/><text x="{lx}" y="{ly}" text-anchor="{anchor}" font-size="12" '
            f'fill="#1f4e8c">{escape(event)}</text>')


def render(table: dict) -> str:
    """The SVG for ``table`` (the shape of :data:`btref.peer.CHOKE_TABLE`)."""
    parts = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e8c"/></marker></defs>']
    directions = list(dict.fromkeys(direction for direction, _, _ in table))
    for n, direction in enumerate(directions):
        top = n * PANEL_H
        parts.append(f'<text x="10" y="{top + 25}" font-size="14" font-weight="bold">{escape(TITLES.get(direction, direction))}</text>')
        states = {s for (d, s, _), new in table.items() if d == direction} | {
            new for (d, _, _), new in table.items() if d == direction}
        parts += [_box(s, top) for s in sorted(states, reverse=True)]
        parts += [_arrow(s, new, e, top) for (d, s, e), new in table.items() if d == direction]
    height = PANEL_H * len(directions)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PANEL_W} {height}" '
            f'width="100%" style="max-width:{PANEL_W}px" role="img" aria-label="choke and interest states" '
            f'font-family="sans-serif">{"".join(parts)}</svg>')


class ChokeDiagram(SphinxDirective):
    """``choke-diagram``: the choke/interest state diagram, drawn from the code's table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from btref.peer import CHOKE_TABLE

        return [nodes.raw("", render(CHOKE_TABLE), format="html")]


def setup(app):  # noqa: ANN001, ANN201 - the Sphinx extension entry point
    app.add_directive("choke-diagram", ChokeDiagram)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
