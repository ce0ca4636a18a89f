"""The ``dht`` discovery plugin: a BEP 5 Kademlia DHT, sans-I/O core plus an asyncio driver.

Modules, bottom up: :mod:`~btref_discovery.dht.krpc` (messages), :mod:`~btref_discovery.dht.routing`
(k-buckets), :mod:`~btref_discovery.dht.bep42` (node ids tied to addresses),
:mod:`~btref_discovery.dht.lookup` (iterative lookups), :mod:`~btref_discovery.dht.node` (the node),
:mod:`~btref_discovery.dht.io` (asyncio UDP), :mod:`~btref_discovery.dht.plugin` (the
``btref_announce`` hook) and :mod:`~btref_discovery.dht.sim` (many nodes on a virtual clock).
"""
