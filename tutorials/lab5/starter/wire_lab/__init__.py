"""Lab 5: the peer wire protocol, from scratch, in plain asyncio (BEP 3 "peer protocol").

``messages``: the handshake and the messages as bytes (no I/O); ``client``: a peer that
connects, asks and downloads. Fill in the functions marked ``NotImplementedError``, in the
order of the lab's steps (tutorials/lab5-peer-wire.md).
"""
