"""The deterministic discrete-event swarm simulator (the driver with a virtual clock).

The simulator runs the *same* sans-I/O engine (:mod:`btref.session`, BEP 3 peer protocol)
and the *same* strategy plugins as the asyncio driver; only the I/O is simulated:

* :mod:`btref.sim.loop`: the event queue and the virtual clock;
* :mod:`btref.sim.network`: upload/download capacities, latency, fair sharing;
* :mod:`btref.sim.virtual`: torrents whose data is never materialised;
* :mod:`btref.sim.swarm`: peers (one engine session each) arriving and leaving;
* :mod:`btref.sim.haves`: ``have`` messages delivered in batches;
* :mod:`btref.sim.metrics`, :mod:`btref.sim.plots`: what a run measured, as JSON and figures;
* :mod:`btref.sim.scenarios`: named set-ups and their registry;
* :mod:`btref.sim.compare`: strategy grids run in parallel, with confidence intervals.
"""

from __future__ import annotations

__all__ = ["loop", "network", "virtual", "swarm", "haves", "metrics", "scenarios", "walkthrough"]
