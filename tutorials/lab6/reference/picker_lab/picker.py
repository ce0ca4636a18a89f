"""Lab 6 reference: btref's rarest-first picker under the lab's name (BEP 3; Cohen 2003, section 2)."""

from __future__ import annotations

from btref_pickers.rarest_first import RarestFirst

__all__ = ["RarestFirstPicker"]


class RarestFirstPicker(RarestFirst):
    """Partial pieces first, a few random pieces, then the rarest pieces (lab 6)."""

    name = "lab6-rarest-first"
