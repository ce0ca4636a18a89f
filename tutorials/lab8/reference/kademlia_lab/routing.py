"""Lab 8 reference: btref's routing table (BEP 5, "Routing Table"), plus the bucket number."""

from __future__ import annotations

from btref_discovery.dht.routing import GOOD_FOR, ID_SPACE, MAX_FAILURES, Bucket, NodeEntry, RoutingTable, distance

__all__ = ["ID_SPACE", "GOOD_FOR", "MAX_FAILURES", "distance", "bucket_index", "NodeEntry", "Bucket", "RoutingTable"]


def bucket_index(own_id: bytes, node_id: bytes) -> int:
    """The number of the highest bit in which the two ids differ (159 down to 0)."""
    if own_id == node_id:
        raise ValueError("a node is at distance 0 from itself: it has no bucket")
    return distance(own_id, node_id).bit_length() - 1
