"""Fuzz the responder of message stream encryption (the Vuze "Message Stream Encryption"
spec, MSE/PE): :class:`btref.mse.Handshake` with ``initiator=False``.

Mutations cannot guess a Diffie-Hellman secret, so this harness plays an honest initiator,
written here a second time from the spec (``pow`` and ``cryptography``'s RC4, not
``btref.mse``'s code), and lets the input choose what that initiator says once the keys
are known. The first three input bytes set the scene, the rest is the *plaintext* of step 3's
encrypted part (VC, crypto_provide, len(PadC), PadC, len(IA), IA) and of anything after it,
which the harness encrypts with the initiator's key:

* byte 0, flags: bits 0-1 the responder's policy (``allow``, ``prefer``, ``require``,
  ``off``); ``4`` raw: everything after byte 2 is what the peer sends, from its first byte
  (plaintext handshakes, garbage keys); ``8`` ask for a torrent the responder does not serve;
* byte 1: how the stream is cut into reads (0: one read, else 1 to 80 bytes at a time);
* byte 2: the length of PadA is twice this byte.

Only :class:`~btref.errors.EncryptionError` may escape. When the responder is done it must
have found our info hash, chosen one method, and hand back as payload exactly IA and what
followed it (decrypted if it chose RC4, as sent if it chose plaintext).
"""

from __future__ import annotations

import hashlib
import random

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref.errors import EncryptionError
    from btref.mse import KEY_SIZE, P, PLAINTEXT, POLICIES, RC4, VC, Handshake

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

INFO_HASH = bytes(range(20))
RAW, WRONG_TORRENT = 4, 8
X_A = 0x1F2E3D4C5B6A79881726354453627180A9B8C7D6  # the initiator's private key (160 bits)
Y_A = pow(2, X_A, P).to_bytes(KEY_SIZE, "big")


def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts)).digest()


def _chunks(stream: bytes, seed: int) -> list[bytes]:
    if seed == 0:
        return [stream]
    rng, out, at = random.Random(seed), [], 0
    while at < len(stream):
        size = rng.randint(1, 80)
        out.append(stream[at : at + size])
        at += size
    return out


def TestOneInput(data: bytes) -> None:
    if len(data) < 3:
        return
    flags, cut, pad = data[:3]
    policy = ("allow", "prefer", "require", "off")[flags & 3]
    assert policy in POLICIES
    responder = Handshake(initiator=False, policy=policy, random_bytes=random.Random(0).randbytes,
                          info_hashes=[INFO_HASH])
    try:
        if flags & RAW:
            for chunk in _chunks(data[3:], cut):
                responder.receive_data(chunk)
            return
        reply = b"".join(responder.receive_data(c) for c in _chunks(Y_A + bytes(2 * pad), cut))
        if len(reply) < KEY_SIZE:
            raise AssertionError(f"no Yb after a whole Ya: {reply!r}")
        secret = pow(int.from_bytes(reply[:KEY_SIZE], "big"), X_A, P).to_bytes(KEY_SIZE, "big")
        skey = b"\xee" * 20 if flags & WRONG_TORRENT else INFO_HASH
        rc4 = Cipher(ARC4(_sha1(b"keyA", secret, skey)), mode=None).encryptor()
        rc4.update(bytes(1024))
        plain = data[3:]
        mask = bytes(x ^ y for x, y in zip(_sha1(b"req2", skey), _sha1(b"req3", secret)))
        step3 = _sha1(b"req1", secret) + mask + rc4.update(plain)
        for chunk in _chunks(step3, cut):
            responder.receive_data(chunk)
    except EncryptionError:
        return
    if not responder.done:
        return
    if flags & RAW:
        return
    assert responder.info_hash == INFO_HASH and responder.method in (PLAINTEXT, RC4)
    assert plain[:8] == VC
    start = 14 + int.from_bytes(plain[12:14], "big") + 2
    ia_end = start + int.from_bytes(plain[start - 2:start], "big")
    after = plain[ia_end:] if responder.method == RC4 else step3[40 + ia_end:]
    expected = plain[start:ia_end] + after
    assert responder.payload == expected, (responder.payload[:40], expected[:40])


def seeds() -> list[bytes]:
    def step3(provide: int, pad_c: int = 0, ia: bytes = b"") -> bytes:
        return VC + provide.to_bytes(4, "big") + pad_c.to_bytes(2, "big") + bytes(pad_c) \
            + len(ia).to_bytes(2, "big") + ia

    hello = b"\x13BitTorrent protocol" + bytes(48)
    return [
        bytes([2, 0, 0]) + step3(RC4, 0, hello) + b"\x00\x00\x00\x01\x02",
        bytes([1, 7, 100]) + step3(RC4 | PLAINTEXT, 16, hello),
        bytes([0, 3, 255]) + step3(RC4 | PLAINTEXT) + hello,
        bytes([2 | WRONG_TORRENT, 0, 1]) + step3(RC4),
        bytes([RAW, 0, 0]) + hello,
        bytes([RAW | 2, 5, 0]) + hello,
        bytes([RAW | 3, 0, 0]) + bytes(200),
    ]


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
