"""Lab 5's reference solution: btref's own wire code behind the lab's interface (BEP 3 "peer protocol").

``messages`` adapts :mod:`btref.wire` (and :class:`btref.pieceset.PieceSet` for bitfields);
``client`` drives a :class:`btref.connection.Connection` (the handshake check and the
framing, with its limits) from a short asyncio loop.
"""
