"""Lab 7: tracker clients, as btref discovery plugins (BEP 3 "Trackers", BEP 15, BEP 23).

``http_tracker``: the HTTP announce (a GET, a bencoded answer, compact peers);
``udp_tracker``: the UDP announce (connect, announce, transaction ids, retries). Fill in the
functions marked ``NotImplementedError``, in the order of the lab's steps
(tutorials/lab7-trackers.md). ``pyproject.toml`` makes this folder a plugin package that
btref finds by name once installed (Step 7).
"""
