"""Lab 8: Kademlia, the DHT's routing table and iterative lookup (BEP 5).

Two modules to fill in, each behind the interface btref's own DHT node uses, so the
grader can put your code inside a real node and a simulated network of thousands:

* :mod:`kademlia_lab.routing`: XOR distance, bucket numbers, and the routing table
  (k-buckets that split near our own id, liveness, replacing nodes that stop answering);
* :mod:`kademlia_lab.lookup`: the iterative lookup's books (a shortlist, ``alpha``
  queries in flight, the ``k`` closest, knowing when to stop).

Read tutorials/lab8-kademlia.md first. Run ``pytest`` in this folder for quick checks,
``btref lab grade 8 .`` for the full grade.
"""
