"""Message stream encryption (btref.mse): the sans-I/O handshake, its limits, and real connections.

The handshake runs between two :class:`~btref.mse.Handshake` objects in memory (bytes cut at
every size hypothesis picks), against libtorrent with forced RC4 encryption in both directions
on loopback, and btref to btref under ``require``.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.errors import EncryptionError, ProtocolError
from btref.mse import KEY_SIZE, MAX_PAD, PLAINTEXT, PROTOCOL_PREFIX, RC4, Handshake, Policy
from btref.net.driver import Client
from btref.net.events import read_events
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree

INFO_HASH = bytes(range(20))
OTHER = b"\xff" * 20


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def pair(a_policy: Policy, b_policy: Policy, seed: int = 1) -> tuple[Handshake, Handshake]:
    a = Handshake(initiator=True, policy=a_policy, random_bytes=seeded(seed), info_hash=INFO_HASH)
    b = Handshake(initiator=False, policy=b_policy, random_bytes=seeded(seed + 1), info_hashes=[OTHER, INFO_HASH])
    return a, b


def shake(a: Handshake, b: Handshake, chunk: int = 1 << 20, ia: bytes = b"") -> None:
    """Carry bytes both ways, ``chunk`` at a time, until neither side has more to say."""
    to_b, to_a = a.start(), b""
    while to_b or to_a:
        for i in range(0, len(to_b), chunk):
            to_a += b.receive_data(to_b[i:i + chunk])
        to_b = b""
        for i in range(0, len(to_a), chunk):
            to_b += a.receive_data(to_a[i:i + chunk]) if not a.done else b""
        to_a = b""


@pytest.mark.parametrize(("a_policy", "b_policy", "method"), [
    ("require", "require", RC4), ("require", "allow", RC4), ("prefer", "prefer", RC4),
    ("prefer", "allow", PLAINTEXT), ("prefer", "require", RC4),
])
def test_both_sides_agree_and_streams_round_trip(a_policy: Policy, b_policy: Policy, method: int) -> None:
    a, b = pair(a_policy, b_policy)
    shake(a, b)
    assert a.done and b.done and a.method == b.method == method
    assert b.info_hash == INFO_HASH
    assert b.decrypt(bytes(a.encrypt(b"hello"))) == b"hello"
    assert a.decrypt(bytes(b.encrypt(b"world"))) == b"world"
    assert (bytes(a.encrypt(b"x" * 8)) != b"x" * 8) == (method == RC4)


@given(seed=st.integers(0, 2**32), chunk=st.integers(1, 700))
def test_any_pads_and_any_cuts(seed: int, chunk: int) -> None:
    a, b = pair("require", "require", seed)
    shake(a, b, chunk)
    assert a.done and b.done and a.encrypted and b.encrypted


def test_bytes_after_the_handshake_are_payload() -> None:
    a, b = pair("require", "require")
    first = a.start()
    reply = b.receive_data(first)
    step3 = a.receive_data(reply[:KEY_SIZE])  # only Yb: A answers at once
    step4 = b.receive_data(step3)
    a.receive_data(reply[KEY_SIZE:] + step4 + b.encrypt(PROTOCOL_PREFIX))
    assert a.done and a.payload == PROTOCOL_PREFIX


def test_the_same_seed_gives_the_same_bytes() -> None:
    assert pair("require", "require", 7)[0].start() == pair("require", "require", 7)[0].start()


def test_responder_takes_a_plaintext_handshake_unless_required() -> None:
    hello = PROTOCOL_PREFIX + bytes(48)
    b = Handshake(initiator=False, policy="allow", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    assert b.receive_data(hello[:5]) == b"" and not b.done  # 19 first: wait for the whole prefix
    assert b.receive_data(hello[5:]) == b""
    assert b.done and b.skipped and not b.encrypted and b.payload == hello
    strict = Handshake(initiator=False, policy="require", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    with pytest.raises(EncryptionError, match="plaintext"):
        strict.receive_data(hello)
    off = Handshake(initiator=False, policy="off", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    with pytest.raises(EncryptionError, match="off"):
        off.receive_data(b"\x00" * 96)


def test_hard_limits() -> None:
    b = Handshake(initiator=False, policy="require", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    b.receive_data(pair("require", "require")[0].start()[:KEY_SIZE])
    with pytest.raises(EncryptionError, match="req1"):  # garbage, never the sync hash
        b.receive_data(bytes(MAX_PAD + 20))
    a = Handshake(initiator=True, policy="require", random_bytes=seeded(1), info_hash=INFO_HASH)
    a.start()
    a.receive_data(b"\x05" * KEY_SIZE)
    with pytest.raises(EncryptionError, match="verification constant"):
        a.receive_data(bytes(MAX_PAD + 8))
    for key in (bytes(KEY_SIZE), (1).to_bytes(KEY_SIZE, "big")):
        weak = Handshake(initiator=True, policy="require", random_bytes=seeded(1), info_hash=INFO_HASH)
        with pytest.raises(EncryptionError, match="degenerate"):
            weak.receive_data(key)


def test_unknown_torrent_and_no_common_method() -> None:
    a = Handshake(initiator=True, policy="require", random_bytes=seeded(1), info_hash=OTHER)
    b = Handshake(initiator=False, policy="require", random_bytes=seeded(2), info_hashes=[INFO_HASH])
    with pytest.raises(EncryptionError, match="do not serve"):
        shake(a, b)
    a, b = pair("require", "require")
    b._provided = 0  # what a peer offering nothing we know gets: checked by _select
    with pytest.raises(EncryptionError, match="none we accept"):
        b._select()
    assert issubclass(EncryptionError, ProtocolError)  # the driver drops the connection


@given(data=st.binary(max_size=2000))
def test_responder_never_crashes_on_garbage(data: bytes) -> None:
    b = Handshake(initiator=False, policy="prefer", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    try:
        b.receive_data(data)
    except EncryptionError:
        pass


# -- real connections ------------------------------------------------------------------------


def forced_lt() -> LT:
    lt = pytest.importorskip("libtorrent")
    return LT(out_enc_policy=lt.enc_policy.forced, in_enc_policy=lt.enc_policy.forced,
              allowed_enc_level=lt.enc_level.rc4)


@pytest.mark.interop
def test_btref_downloads_from_libtorrent_with_forced_encryption(tmp_path: Path) -> None:
    lts = forced_lt()
    try:
        async def scenario() -> None:
            data, torrent, src = make_torrent(tmp_path, "hybrid")
            handle = lts.add(data, src)
            await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{lts.port}"],
                              encryption="require", stall_timeout=60) as leech:
                assert await leech.run(), f"{leech.error}; {lts.recent()}"

        run(scenario(), 120)
        assert same_tree(tmp_path / "src", tmp_path / "dst")
    finally:
        lts.close()


@pytest.mark.interop
def test_libtorrent_downloads_from_btref_with_forced_encryption(tmp_path: Path) -> None:
    lts = forced_lt()
    try:
        async def scenario() -> None:
            data, torrent, src = make_torrent(tmp_path, "v1")
            async with Client(torrent, src, host="127.0.0.1", seed=True, encryption="require") as seeder:
                await seeder.complete.wait()
                handle = lts.add(data, tmp_path / "dst")
                handle.connect_peer(("127.0.0.1", seeder.port))
                await lts.wait(lambda: handle.status().is_seeding, "download from btref")
                assert seeder.uploaded >= torrent.total_length

        run(scenario(), 120)
        assert same_tree(tmp_path / "src", tmp_path / "dst")
    finally:
        lts.close()


def test_btref_to_btref_require_and_a_plaintext_peer_refused(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, encryption="require",
                          events=tmp_path / "seed.jsonl") as seeder:
            peers = [f"127.0.0.1:{seeder.port}"]
            async with Client(torrent, tmp_path / "plain", host="127.0.0.1", peers=peers,
                              stall_timeout=1) as plain:
                assert not await plain.run()  # --encryption off: the seed refuses it
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=peers,
                              encryption="require") as leech:
                assert await leech.run()
            async with Client(torrent, tmp_path / "dst2", host="127.0.0.1", peers=peers,
                              encryption="prefer") as leech:
                assert await leech.run()

    run(scenario(), 120)
    assert same_tree(src, tmp_path / "dst") and same_tree(src, tmp_path / "dst2")
    failed = [e for e in read_events(tmp_path / "seed.jsonl") if e["event"] == "handshake_failed"]
    assert any("plaintext" in e["reason"] for e in failed)


def test_cli_seed_and_download_with_require(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from btref.cli import main
    from tests.test_cli_network import btref_process

    data, _, src = make_torrent(tmp_path, "v1")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                       "--encryption", "require") as (proc, first):
        match = re.search(r"on 127\.0\.0\.1:(\d+); encryption require", first)
        assert match, first
        status = main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                       "--peer", f"127.0.0.1:{match.group(1)}", "--encryption", "require"])
    assert status == 0 and same_tree(src, tmp_path / "out")
    assert "encryption require" in capsys.readouterr().out


def test_prefer_falls_back_to_plaintext_for_a_peer_without_mse(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True) as seeder:  # --encryption off
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{seeder.port}"],
                              encryption="prefer", events=tmp_path / "leech.jsonl") as leech:
                assert await leech.run()

    run(scenario(), 120)
    assert same_tree(src, tmp_path / "dst")
    failed = [e for e in read_events(tmp_path / "leech.jsonl") if e["event"] == "handshake_failed"]
    assert len(failed) == 1 and "MSE" in failed[0]["reason"]


# -- a peer written by hand from the spec, to say what an honest Handshake never says ---------

X_PEER = 0x1F2E3D4C5B6A79881726354453627180A9B8C7D6


def _sha1(*parts: bytes) -> bytes:
    import hashlib

    return hashlib.sha1(b"".join(parts)).digest()


def _rc4(key: bytes):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher

    stream = Cipher(ARC4(key), mode=None).encryptor()
    stream.update(bytes(1024))
    return stream


def _their_secret(key: bytes) -> bytes:
    from btref.mse import P

    return pow(int.from_bytes(key[:KEY_SIZE], "big"), X_PEER, P).to_bytes(KEY_SIZE, "big")


def _our_key() -> bytes:
    from btref.mse import P

    return pow(2, X_PEER, P).to_bytes(KEY_SIZE, "big")


def _step3(provide: int, pad_c: int = 0, ia_len: int = 0, vc: bytes = bytes(8)) -> bytes:
    return vc + provide.to_bytes(4, "big") + pad_c.to_bytes(2, "big") + bytes(min(pad_c, 600)) \
        + ia_len.to_bytes(2, "big")


@pytest.mark.parametrize(("plain", "error"), [
    (_step3(RC4, vc=b"\x01" * 8), "not zeros"),
    (_step3(RC4, pad_c=MAX_PAD + 1), "PadC"),
    (_step3(RC4, ia_len=65535), "initial payload"),
])
def test_responder_refuses_a_bad_step_3(plain: bytes, error: str) -> None:
    b = Handshake(initiator=False, policy="prefer", random_bytes=seeded(1), info_hashes=[INFO_HASH])
    secret = _their_secret(b.receive_data(_our_key()))
    mask = bytes(x ^ y for x, y in zip(_sha1(b"req2", INFO_HASH), _sha1(b"req3", secret)))
    with pytest.raises(EncryptionError, match=error):
        b.receive_data(_sha1(b"req1", secret) + mask + _rc4(_sha1(b"keyA", secret, INFO_HASH)).update(plain))


@pytest.mark.parametrize(("select", "pad_d", "error"), [
    (PLAINTEXT, 0, "not one we offered"), (RC4 | PLAINTEXT, 0, "not one we offered"), (RC4, MAX_PAD + 1, "PadD"),
])
def test_initiator_refuses_a_bad_step_4(select: int, pad_d: int, error: str) -> None:
    a = Handshake(initiator=True, policy="require", random_bytes=seeded(1), info_hash=INFO_HASH)
    secret = _their_secret(a.start())
    a.receive_data(_our_key())  # step 3, which this peer need not read
    plain = bytes(8) + select.to_bytes(4, "big") + pad_d.to_bytes(2, "big")
    step4 = _rc4(_sha1(b"keyB", secret, INFO_HASH)).update(plain)
    with pytest.raises(EncryptionError, match=error):
        a.receive_data(step4)


def test_initiator_waits_for_the_whole_pad_d_and_then_refuses_more_handshake() -> None:
    a = Handshake(initiator=True, policy="prefer", random_bytes=seeded(1), info_hash=INFO_HASH)
    secret = _their_secret(a.start())
    a.receive_data(_our_key())
    plain = bytes(8) + RC4.to_bytes(4, "big") + (3).to_bytes(2, "big") + bytes(3)
    step4 = _rc4(_sha1(b"keyB", secret, INFO_HASH)).update(plain)
    a.receive_data(step4[:-1])
    assert not a.done
    a.receive_data(step4[-1:])
    assert a.done and a.encrypted
    with pytest.raises(EncryptionError, match="over"):
        a.receive_data(b"more")
    with pytest.raises(ValueError, match="info hash"):
        Handshake(initiator=True, policy="require", random_bytes=seeded(1))
