"""Lab 7's reference solution: btref's own tracker code behind the lab's interface (BEP 3, 15, 23).

``http_tracker`` re-exports :mod:`btref.tracker`'s HTTP codecs and the built-in
``http-tracker`` plugin; ``udp_tracker`` the BEP 15 codecs and the ``udp-tracker`` plugin,
with two small adapters that give the parsers the lab's shape.
"""
