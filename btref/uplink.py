"""Splitting an uplink by shares: which connection gets the next block (sans-I/O).

A choker may answer with upload shares (:class:`~btref.actions.UploadShares`: PropShare,
BitTyrant): ``{a: 3, b: 1}`` means ``a`` gets three blocks for each of ``b``'s while both
have requests waiting. Whoever owns an uplink and sends one block at a time (the
simulator's :class:`~btref.sim.network.Network`, the asyncio driver with an upload limit)
asks :func:`next_destination` which busy connection goes next; both drivers use this one
function, so a choker's shares mean the same thing in a simulation and on real sockets.

The rule is *start-time fair queueing* (Goyal, Vin and Cheng, "Start-time Fair Queuing: a
scheduling algorithm for integrated services packet switching networks", SIGCOMM 1996),
counted in blocks rather than bytes (nearly every ``piece`` message carries one 16 KiB
block, BEP 3):

* each connection has a *finish tag*; sending it a block moves the tag ``1 / share``
  further, so a big share advances slowly and comes up again sooner;
* the next block goes to the busy connection whose *start tag* is smallest (its finish
  tag, or the uplink's clock if that is later); ties go to the first in round-robin order;
* the uplink's clock (its *virtual time*) becomes the start tag of the block just chosen.

Invariants: a connection that had nothing to send for a while starts again at the clock,
so idleness banks no credit (it cannot then take the uplink for a burst); while a set of
connections stays busy, their finish tags (blocks sent divided by share, from a common
start) stay within the largest ``1 / share`` of one another, so each gets blocks in
proportion to its share; a connection missing from the shares gets the smallest listed share (it
is served, never starved); the clock never goes backwards.
No socket, no time: the clock here is a count of blocks, not seconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, MutableMapping

__all__ = ["next_destination"]


# [docs: next-destination]
def next_destination(busy: Iterable[Hashable], shares: Mapping[Hashable, float],
                     tags: MutableMapping[Hashable, float], clock: float) -> tuple[Hashable, float]:
    """Pick the connection that gets the next block; returns ``(it, the new clock)``.

    ``busy`` lists the connections with a block waiting, in round-robin order (not empty);
    ``shares`` is the choker's split (not empty: without shares, plain round robin is the
    same and cheaper); ``tags`` holds each connection's finish tag and is updated for the
    one chosen. The caller keeps ``tags`` and the clock between calls.
    """
    smallest = min(shares.values())  # for a connection the choker did not list
    best, start = None, 0.0
    for key in busy:
        tag = tags.get(key, clock)
        if tag < clock:  # idle for a while: no banked credit
            tag = clock
        if best is None or tag < start:  # strictly smaller: ties keep round-robin order
            best, start = key, tag
    if best is None:
        raise ValueError("next_destination needs at least one busy connection")
    tags[best] = start + 1.0 / shares.get(best, smallest)
    return best, start
# [/docs: next-destination]
