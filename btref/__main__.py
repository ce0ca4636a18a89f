"""``python -m btref`` runs the command-line interface (see :mod:`btref.cli`)."""

from btref.cli import main

raise SystemExit(main())
