"""Lab 8 reference: btref's iterative lookup (BEP 5; Kademlia's node lookup)."""

from __future__ import annotations

from btref_discovery.dht.lookup import MAX_CANDIDATES, Candidate, Lookup

__all__ = ["MAX_CANDIDATES", "Candidate", "Lookup"]
