"""Lab 6's reference solution: btref's own rarest-first behind the lab's interface (BEP 3;
Cohen 2003, section 2 "Piece selection")."""

from .picker import RarestFirstPicker

__all__ = ["RarestFirstPicker"]
