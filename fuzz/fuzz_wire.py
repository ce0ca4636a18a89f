"""Fuzz the peer wire protocol (BEP 3 "peer protocol"; BEP 6, 9, 10, 11, 52): :class:`btref.connection.Connection`.

The first four input bytes set the scene, the rest is what the peer sends:

* byte 0, flags: ``1`` both sides set the BEP 6 fast bit, ``2`` the BEP 10 extension bit,
  ``4`` we are the listener (else we dialled), ``8`` the input carries the peer's
  handshake itself (else a valid one is sent first, so the messages after it count);
  bits 4-5 say which pieces we have: none, all, the even ones, or piece 0;
* byte 1: the torrent has ``1 + byte`` pieces of 32 KiB;
* byte 2: its last piece is ``1 + 128 * byte`` bytes;
* byte 3: how the stream is cut into reads: 0 is one read, else a generator seeded with
  it cuts pieces of 1 to 80 bytes (so length prefixes and headers get split).

The bytes go where a driver sends them. :meth:`Connection.receive_data
<btref.connection.Connection.receive_data>` (handshake and framing) may refuse them only
with :class:`~btref.errors.ProtocolError`, after which every call must raise it again,
and the messages it returns, encoded again, must be exactly the bytes it consumed. The
messages of each read then go to a :class:`~btref.session.Session` (which keeps the rules
of what may come when, and closes the connection on a broken one: nothing may escape
it), whose block reads are answered and whose clock ticks once a read. The payload of
every BEP 10 ``extended`` message is also read as the extension handshake (id 0,
:func:`btref.extension.decode_handshake`) or as BEP 9 ``ut_metadata``
(:func:`btref.metadata.decode_message`, :func:`~btref.metadata.answer_request`) and
BEP 11 ``ut_pex`` (``btref_discovery.pex.decode_pex``), each allowed ``ProtocolError`` only.

Seeds: the BEP 3, 9, 10 and 11 messages of the vectors after a handshake, plus streams
built here.
"""

from __future__ import annotations

import functools
import random

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref import bencode, extension, metadata, wire
    from btref.actions import ReadBlock
    from btref.connection import Connection
    from btref.discovery import PeerAddress
    from btref.errors import ProtocolError
    from btref.metainfo import Torrent, parse
    from btref.pieceset import PieceSet
    from btref.plugins import plugin_manager
    from btref.session import Session
    from btref_discovery.pex import decode_pex, encode_pex

INFO_HASH = bytes(range(20))
PIECE_LENGTH = 32768
FAST, EXTENSION, LISTENER, RAW_HANDSHAKE = 1, 2, 4, 8
PEER = "peer"
#: The info dictionary a seeder answers ``ut_metadata`` requests from: two pieces and a bit.
INFO_BYTES = bytes(2 * metadata.PIECE_SIZE + 100)
#: Plugins that keep no state between sessions, so one registry serves every input.
HOOK = plugin_manager({"pickers": ["rarest-first"], "chokers": ["unchoke-all"], "hashes": ["sha1"]}).hook


@functools.lru_cache(maxsize=4096)
def torrent(num_pieces: int, last_size: int) -> Torrent:
    length = (num_pieces - 1) * PIECE_LENGTH + last_size
    info = {"name": "f", "piece length": PIECE_LENGTH, "length": length, "pieces": bytes(20 * num_pieces)}
    return parse(bencode.encode({"info": info}))


def _have(mode: int, num_pieces: int) -> PieceSet:
    if mode == 1:
        return PieceSet.full(num_pieces)
    have = PieceSet(num_pieces)
    for index in range(0, num_pieces, 2) if mode == 2 else [0] if mode == 3 else []:
        have.set(index)
    return have


def _chunks(stream: bytes, seed: int) -> list[bytes]:
    if seed == 0:
        return [stream]
    rng, out, at = random.Random(seed), [], 0
    while at < len(stream):
        size = rng.randint(1, 80)
        out.append(stream[at : at + size])
        at += size
    return out


def _handshake(flags: int) -> bytes:
    reserved = wire.make_reserved(fast=bool(flags & FAST), extension=bool(flags & EXTENSION))
    return wire.encode(wire.Handshake(INFO_HASH, b"-XX0001-peerpeerpeer", reserved))


def _extended(msg: wire.Extended) -> None:
    if msg.ext_id == 0:
        parsers = [extension.decode_handshake]
    else:
        parsers = [metadata.decode_message, lambda p: metadata.answer_request(INFO_BYTES, p), decode_pex]
    for parse_payload in parsers:
        try:
            parse_payload(msg.payload)
        except ProtocolError:
            pass


def _to_session(session: Session, messages: list[wire.Message], now: float) -> None:
    """Hand one read's messages to the session as the driver does, then answer its block
    reads (with zeros: the data does not matter here) and let its clock tick."""
    actions = session.messages_received(PEER, messages, now)
    for action in actions:
        if isinstance(action, ReadBlock):
            session.block_read(action.key, action.index, action.begin, bytes(action.length), now)
    session.tick(now)


def TestOneInput(data: bytes) -> None:
    if len(data) < 4:
        return
    flags, pieces, last, cut = data[:4]
    num_pieces, last_size = 1 + pieces, 1 + 128 * last

    def piece_size(index: int) -> int:
        return last_size if index == num_pieces - 1 else PIECE_LENGTH

    listener = bool(flags & LISTENER)
    conn = Connection(
        num_pieces, piece_size, peer_id=b"-RF0001-ourselvesxyz",
        info_hash=None if listener else INFO_HASH, info_hashes={INFO_HASH} if listener else None,
        reserved=wire.make_reserved(fast=bool(flags & FAST), extension=bool(flags & EXTENSION)),
        initiator=not listener,
    )
    session = Session(torrent(num_pieces, last_size), HOOK, have=_have((flags >> 4) & 3, num_pieces),
                      rng=random.Random(1))
    stream = data[4:] if flags & RAW_HANDSHAKE else _handshake(flags) + data[4:]
    received: list[wire.Message | wire.Handshake] = []
    fed, now = 0, 0.0
    for chunk in _chunks(stream, cut):
        now += 1.0
        try:
            batch = conn.receive_data(chunk)
        except ProtocolError:
            try:
                conn.receive_data(b"")
            except ProtocolError:
                break
            raise AssertionError("a failed connection accepted more data") from None
        fed += len(chunk)
        received += batch
        messages = [m for m in batch if not isinstance(m, wire.Handshake)]
        if len(messages) < len(batch):
            session.peer_connected(PEER, now, fast=conn.fast, extensions=conn.extension)
        if messages:
            _to_session(session, messages, now)
    # Whatever was fed before a failure: the messages returned, encoded again, are its start.
    echoed = b"".join(wire.encode(m) for m in received)
    if len(echoed) > fed or stream[: len(echoed)] != echoed:
        raise AssertionError(f"messages {received!r} do not match the bytes {stream[:200]!r}")
    for msg in received:
        if isinstance(msg, wire.Extended):
            _extended(msg)


def seeds() -> list[bytes]:
    def msgs(*messages: wire.Message) -> bytes:
        return b"".join(wire.encode(m) for m in messages)

    both = FAST | EXTENSION
    out = [
        bytes([0, 9, 255, 0]) + msgs(wire.Bitfield(b"\xff\xc0"), wire.Unchoke(), wire.Have(3),
                                     wire.Piece(0, 0, b"data"), wire.KeepAlive()),
        bytes([both, 9, 255, 7]) + msgs(wire.HaveAll(), wire.AllowedFast(1), wire.Suggest(2),
                                        wire.Extended(0, b"d1:md11:ut_metadatai3eee"), wire.Port(6881)),
        bytes([both | LISTENER | 0x10, 0, 1, 3]) + msgs(wire.HaveNone(), wire.Interested(), wire.Request(0, 0, 129),
                                                        wire.Cancel(0, 0, 129), wire.Choke(), wire.NotInterested()),
        bytes([both | 0x20, 3, 0, 0]) + msgs(wire.HaveAll(), wire.Unchoke(), wire.Interested(),
                                             wire.Request(0, 0, 16384), wire.Piece(1, 0, bytes(16384)),
                                             wire.Reject(1, 16384, 16384)),
        bytes([both | 0x30, 3, 0, 0]) + msgs(wire.HashRequest(bytes(32), 0, 0, 2, 0),
                                             wire.HashReject(bytes(32), 0, 0, 2, 0),
                                             wire.Hashes(bytes(32), 0, 0, 2, 0, bytes(64))),
        bytes([RAW_HANDSHAKE | LISTENER, 9, 255, 5]) + _handshake(0) + msgs(wire.Unchoke(), wire.Have(0)),
        bytes([EXTENSION, 0, 0, 0]) + msgs(
            wire.Extended(0, extension.ExtensionHandshake({"ut_metadata": 3, "ut_pex": 1}, "btref", 6881, 250,
                                                          bytes(4), len(INFO_BYTES)).encode()),
            wire.Extended(3, metadata.encode_message(metadata.MetadataMessage(metadata.REQUEST, 1))),
            wire.Extended(3, metadata.encode_message(metadata.MetadataMessage(metadata.DATA, 0, 5, b"abcde"))),
            wire.Extended(3, metadata.encode_message(metadata.MetadataMessage(metadata.REJECT, 2))),
            wire.Extended(1, encode_pex([(PeerAddress("10.0.0.1", 6881), 2), (PeerAddress("::1", 1), 0)],
                                        [PeerAddress("10.0.0.2", 80)]))),
    ]
    for case in (harness.vector_json("bep3_peer_wire.json") or {}).get("messages", []):
        out.append(bytes([EXTENSION, 9, 255, 0]) + bytes.fromhex(case["hex"]))
    ext = harness.vector_json("bep9_10_11_extension.json") or {}
    payloads = [(0, bytes.fromhex(ext["bep10"]["example_corrected_from_table"]["bencoded_hex"]))] if ext else []
    for case in ext.get("bep9", {}).get("messages", []):
        text = case.get("bencoded") or case.get("bencoded_corrected") or case.get("bencoded_as_printed", "")
        payloads.append((3, text.encode("latin-1")))
    if ext:
        payloads.append((1, bytes.fromhex(ext["bep11"]["constructed_example"]["bencoded_hex"])))
    for ext_id, payload in payloads:
        out.append(bytes([EXTENSION, 0, 0, 0]) + msgs(wire.Extended(ext_id, payload)))
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
