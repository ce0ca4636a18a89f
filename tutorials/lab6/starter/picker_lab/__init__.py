"""Lab 6: a piece picker of your own (BEP 3; Cohen 2003, section 2 "Piece selection").

Fill in :mod:`picker_lab.picker`. Read tutorials/lab6-write-a-picker.md first; run
``pytest`` in this folder for quick checks, ``btref lab grade 6 .`` for the full grade.
"""

from .picker import RarestFirstPicker

__all__ = ["RarestFirstPicker"]
