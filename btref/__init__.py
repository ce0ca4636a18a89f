"""btref: a BitTorrent reference implementation for reading, teaching and experiments.

The core (this package) is *sans-I/O*: it parses and builds bytes, keeps the state of a
torrent session, and asks plugins (see :mod:`btref.hookspecs`) for every strategy decision.
Drivers in :mod:`btref.net` (asyncio, real sockets) and :mod:`btref.sim` (a virtual clock)
do the I/O.
"""

__version__ = "0.1.0"
