"""Message stream encryption (MSE, also called PE), as a sans-I/O object: the Diffie-Hellman
handshake that runs before BitTorrent's own, and the RC4 streams after it.

MSE is no BEP: it is the "Message Stream Encryption" specification Azureus (Vuze) wrote and
libtorrent, Transmission, qBittorrent, aria2 and rtorrent all speak. Like
:class:`btref.connection.Connection`, a :class:`Handshake` reads no socket: the driver feeds
it the bytes received (:meth:`Handshake.receive_data` gives back the bytes to send) until
:attr:`Handshake.done`; then :meth:`Handshake.encrypt` and :meth:`Handshake.decrypt` carry
the BitTorrent stream, and :attr:`Handshake.payload` holds the bytes of that stream that came
with the handshake. The steps, A the initiator (who dialled) and B the responder::

    1 A->B: Ya, PadA
    2 B->A: Yb, PadB
    3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
            ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
    4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload stream)
    5 A->B: ENCRYPT2(payload stream)

``Ya``/``Yb`` are Diffie-Hellman public keys (:data:`P`, generator 2, 96 bytes big-endian),
``S`` the shared secret, ``SKEY`` the torrent's info hash (which the responder learns only
by trying the hashes it serves), HASH is SHA-1, ``VC`` eight zero bytes. ENCRYPT is RC4 with
key ``HASH('keyA', S, SKEY)`` from A to B and ``HASH('keyB', S, SKEY)`` from B to A, the first
1024 bytes of each key stream thrown away. ENCRYPT2 is that RC4 stream if ``crypto_select``
chose RC4 (bit 0x02), or no encryption at all if it chose plaintext (0x01). ``IA`` is the
initiator's first payload bytes; btref's own is empty (it sends its BitTorrent handshake
after step 4, once it knows whether to encrypt it).

Invariants and hard limits (peers are untrusted): the random pads are at most
:data:`MAX_PAD` bytes, so the responder looks for ``HASH('req1', S)`` only in the first
96 + 512 + 20 bytes and the initiator for the encrypted VC only in the first 96 + 512 + 8; a
declared PadC, PadD or IA longer than its limit, a VC that is not zeros, an info hash we do
not serve, or a method we did not offer raises :class:`~btref.errors.EncryptionError` and the
connection is dead. A responder first checks for a plaintext BitTorrent handshake (byte 19
and ``BitTorrent protocol``): then no MSE happens and every byte is payload. Randomness (the
private key, the pad lengths and bytes) comes from the ``random_bytes`` callable the driver
passes, so a test with a seeded source gets the same bytes every run.

RC4 is the ``cryptography`` package's (``ARC4``, kept under ``hazmat.decrepit`` because it is
broken as a cipher); the Diffie-Hellman is Python's ``pow``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from typing import Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext

from btref.errors import EncryptionError

__all__ = [
    "P", "G", "KEY_SIZE", "MAX_PAD", "MAX_IA", "VC", "PLAINTEXT", "RC4", "POLICIES", "Policy",
    "Handshake", "dials_encrypted", "PROTOCOL_PREFIX",
]

#: The 768-bit prime of the Diffie-Hellman exchange (the spec's P).
P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563", 16)
#: The generator.
G = 2
#: Bytes of a public key on the wire: P is 768 bits.
KEY_SIZE = 96
#: The most random bytes a peer may put after its key (PadA, PadB) or declare (PadC, PadD).
MAX_PAD = 512
#: The most initial payload (IA) we take inside step 3: a handshake and a few messages.
MAX_IA = 16 * 1024
#: The verification constant: eight zero bytes, encrypted, mark where the RC4 stream starts.
VC = bytes(8)
#: ``crypto_provide``/``crypto_select`` bits.
PLAINTEXT, RC4 = 0x01, 0x02
#: The first 20 bytes of a plaintext BitTorrent handshake (BEP 3).
PROTOCOL_PREFIX = b"\x13BitTorrent protocol"

#: ``--encryption``: what we dial with and what we accept (see :func:`dials_encrypted`).
Policy = Literal["off", "allow", "prefer", "require"]
POLICIES: tuple[Policy, ...] = ("off", "allow", "prefer", "require")

_PRIVATE_KEY_BYTES = 20  # 160 bits, the spec's minimum for Xa and Xb
_DISCARD = 1024  # RC4's first key-stream bytes are its weakest: both sides drop them


def dials_encrypted(policy: Policy) -> bool:
    """Do we open our connections with MSE? Only ``prefer`` and ``require`` do."""
    return policy in ("prefer", "require")


def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts)).digest()


def _rc4(key: bytes) -> CipherContext:
    """An RC4 stream with its first :data:`_DISCARD` bytes already used up."""
    stream = Cipher(ARC4(key), mode=None).encryptor()
    stream.update(bytes(_DISCARD))
    return stream


def _offered(policy: Policy) -> int:
    """The ``crypto_provide`` bits a policy offers (or accepts) in an MSE handshake."""
    return RC4 if policy == "require" else PLAINTEXT | RC4


class Handshake:
    """One connection's MSE handshake, then its RC4 (or plain) streams.

    ``initiator``: we dialled; then ``info_hash`` is the torrent we ask for (SKEY). A
    responder gets ``info_hashes``, every hash it answers to. ``policy`` says which methods
    we offer or accept (``require``: RC4 only; ``prefer``: RC4 when the peer allows it;
    ``allow``: plaintext when the peer allows it; ``off`` accepts only a plaintext
    BitTorrent handshake). ``random_bytes(n)`` returns ``n`` random bytes (``os.urandom``
    in the driver).
    """

    def __init__(self, *, initiator: bool, policy: Policy, random_bytes: Callable[[int], bytes],
                 info_hash: bytes | None = None, info_hashes: Collection[bytes] = ()) -> None:
        if initiator and info_hash is None:
            raise ValueError("an initiator needs the info hash it asks for")
        self.initiator, self.policy = initiator, policy
        self._random = random_bytes
        self._private = int.from_bytes(random_bytes(_PRIVATE_KEY_BYTES), "big")
        self._skey = info_hash
        self._by_req2 = {_sha1(b"req2", h): h for h in info_hashes}
        self._buf = bytearray()
        self._state = "yb" if initiator else "detect"
        self._secret = b""
        self._encryptor: CipherContext | None = None
        self._decryptor: CipherContext | None = None
        self._pad = 0  # length of the pad being skipped (PadC, PadD) or of IA
        self._provided = 0
        self._vc_mark = b""  # initiator: VC as B's RC4 stream encrypts it
        self._req1 = b""  # responder: HASH('req1', S), which ends PadA
        #: ``PLAINTEXT`` or ``RC4`` once :attr:`done`: how the BitTorrent stream travels.
        self.method = 0
        #: True when the peer skipped MSE and sent a plaintext BitTorrent handshake.
        self.skipped = False
        #: Bytes of the BitTorrent stream that came with the handshake, already decrypted.
        self.payload = b""
        #: The info hash the connection is for (a responder learns it in step 3).
        self.info_hash = info_hash
        self.done = False

    # -- the handshake -------------------------------------------------------------------

    def start(self) -> bytes:
        """The initiator's first bytes: step 1, ``Ya`` and PadA (a responder sends nothing first)."""
        return self._public_key() + self._padding() if self.initiator else b""

    def receive_data(self, data: bytes) -> bytes:
        """Take bytes from the peer; return the bytes to send it (maybe none).

        :raises EncryptionError: when the peer breaks the handshake or our policy refuses it.
        """
        if self.done:
            raise EncryptionError("the MSE handshake is over: decrypt() takes the stream")
        self._buf += data
        out = bytearray()
        while not self.done:
            step = getattr(self, f"_on_{self._state}")
            sent = step()
            if sent is None:
                break  # more bytes needed
            out += sent
        return bytes(out)

    @property
    def encrypted(self) -> bool:
        """Is the BitTorrent stream RC4 after the handshake?"""
        return self.method == RC4

    def encrypt(self, data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
        """The bytes to send for ``data`` of the BitTorrent stream (``data`` itself in plaintext)."""
        if self._encryptor is None or self.method != RC4:
            return data
        return self._encryptor.update(data)

    def decrypt(self, data: bytes) -> bytes:
        """The BitTorrent stream in ``data`` received after the handshake."""
        if self._decryptor is None or self.method != RC4:
            return data
        return self._decryptor.update(data)

    # -- steps (each returns the bytes to send, or None when it needs more bytes) -------

    def _public_key(self) -> bytes:
        return pow(G, self._private, P).to_bytes(KEY_SIZE, "big")

    def _padding(self) -> bytes:
        return self._random(int.from_bytes(self._random(2), "big") % (MAX_PAD + 1))

    def _take(self, n: int) -> bytes | None:
        if len(self._buf) < n:
            return None
        taken = bytes(self._buf[:n])
        del self._buf[:n]
        return taken

    def _shared_secret(self, their_key: bytes) -> None:
        y = int.from_bytes(their_key, "big")
        if not 1 < y < P - 1:  # 0, 1 and P-1 would make S known to anyone watching
            raise EncryptionError("the peer's Diffie-Hellman key is degenerate")
        self._secret = pow(y, self._private, P).to_bytes(KEY_SIZE, "big")

    def _keys(self) -> None:
        assert self._skey is not None
        a = _rc4(_sha1(b"keyA", self._secret, self._skey))
        b = _rc4(_sha1(b"keyB", self._secret, self._skey))
        self._encryptor, self._decryptor = (a, b) if self.initiator else (b, a)

    def _finish(self, method: int) -> bytes:
        self.method, self.done = method, True
        rest, self._buf = bytes(self._buf), bytearray()
        self.payload += self.decrypt(rest)
        return b""

    # initiator: step 2 in, step 3 out; then step 4 in

    def _on_yb(self) -> bytes | None:
        their_key = self._take(KEY_SIZE)
        if their_key is None:
            return None
        self._shared_secret(their_key)
        self._keys()
        assert self._encryptor is not None and self._skey is not None
        self._provided = _offered(self.policy)
        req = _sha1(b"req1", self._secret) + bytes(
            x ^ y for x, y in zip(_sha1(b"req2", self._skey), _sha1(b"req3", self._secret)))
        # The encrypted VC B will send: its position ends PadB, whose length we do not know.
        self._vc_mark = _rc4(_sha1(b"keyB", self._secret, self._skey)).update(VC)
        self._state = "vc"
        ia = b""
        plain = VC + self._provided.to_bytes(4, "big") + (0).to_bytes(2, "big") + len(ia).to_bytes(2, "big") + ia
        return req + self._encryptor.update(plain)

    def _on_vc(self) -> bytes | None:
        at = self._buf.find(self._vc_mark, 0, MAX_PAD + len(VC))
        if at < 0:
            if len(self._buf) >= MAX_PAD + len(VC):
                raise EncryptionError(f"no verification constant in the first {MAX_PAD} bytes after the key")
            return None
        del self._buf[:at]
        vc = self._decrypt_handshake(len(VC))
        assert vc == VC  # found by its encrypted form
        self._state = "select"
        return b""

    def _on_select(self) -> bytes | None:
        head = self._decrypt_handshake(6)
        if head is None:
            return None
        select, self._pad = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
        if select not in (PLAINTEXT, RC4) or not select & self._provided:
            raise EncryptionError(f"the peer selected crypto method {select:#x}, not one we offered")
        if self._pad > MAX_PAD:
            raise EncryptionError(f"PadD of {self._pad} bytes is over the {MAX_PAD}-byte limit")
        self.method = select
        self._state = "pad_d"
        return b""

    def _on_pad_d(self) -> bytes | None:
        if self._decrypt_handshake(self._pad) is None:
            return None
        return self._finish(self.method)

    # responder: step 1 (or a plaintext handshake) in, step 2 out; step 3 in, step 4 out

    def _on_detect(self) -> bytes | None:
        if not self._buf:
            return None
        if self._buf[0] == PROTOCOL_PREFIX[0]:
            if len(self._buf) < len(PROTOCOL_PREFIX):
                return None
            if self._buf.startswith(PROTOCOL_PREFIX):
                if self.policy == "require":
                    raise EncryptionError("a plaintext handshake, and --encryption require refuses it")
                self.skipped = True
                return self._finish(PLAINTEXT)
        if self.policy == "off":
            raise EncryptionError("not a BitTorrent handshake (MSE, which --encryption off refuses?)")
        self._state = "ya"
        return b""

    def _on_ya(self) -> bytes | None:
        their_key = self._take(KEY_SIZE)
        if their_key is None:
            return None
        self._shared_secret(their_key)
        self._req1 = _sha1(b"req1", self._secret)
        self._state = "req1"
        return self._public_key() + self._padding()

    def _on_req1(self) -> bytes | None:
        window = MAX_PAD + len(self._req1)
        at = self._buf.find(self._req1, 0, window)
        if at < 0:
            if len(self._buf) >= window:
                raise EncryptionError(f"no HASH('req1', S) in the first {MAX_PAD} bytes after the key")
            return None
        del self._buf[:at + len(self._req1)]
        self._state = "req2"
        return b""

    def _on_req2(self) -> bytes | None:
        masked = self._take(20)
        if masked is None:
            return None
        req2 = bytes(x ^ y for x, y in zip(masked, _sha1(b"req3", self._secret)))
        self._skey = self.info_hash = self._by_req2.get(req2)
        if self._skey is None:
            raise EncryptionError("the peer asked for a torrent we do not serve")
        self._keys()
        self._state = "provide"
        return b""

    def _on_provide(self) -> bytes | None:
        head = self._decrypt_handshake(len(VC) + 6)
        if head is None:
            return None
        if head[:len(VC)] != VC:
            raise EncryptionError("the verification constant is not zeros (wrong key?)")
        self._provided = int.from_bytes(head[8:12], "big")
        self._pad = int.from_bytes(head[12:14], "big")
        if self._pad > MAX_PAD:
            raise EncryptionError(f"PadC of {self._pad} bytes is over the {MAX_PAD}-byte limit")
        self._state = "pad_c"
        return b""

    def _on_pad_c(self) -> bytes | None:
        if len(self._buf) < self._pad + 2:
            return None
        length = self._decrypt_handshake(self._pad + 2)
        assert length is not None
        self._pad = int.from_bytes(length[-2:], "big")
        if self._pad > MAX_IA:
            raise EncryptionError(f"an initial payload of {self._pad} bytes is over the {MAX_IA}-byte limit")
        self._state = "ia"
        return b""

    def _on_ia(self) -> bytes | None:
        ia = self._decrypt_handshake(self._pad)
        if ia is None:
            return None
        self.payload = ia  # always RC4, whatever crypto_select says about the stream after it
        method = self._select()
        assert self._encryptor is not None
        reply = self._encryptor.update(VC + method.to_bytes(4, "big") + (0).to_bytes(2, "big"))
        self._finish(method)
        return reply

    def _select(self) -> int:
        both = self._provided & _offered(self.policy)
        if not both:
            raise EncryptionError(f"the peer offers crypto methods {self._provided:#x}, none we accept")
        if both == PLAINTEXT | RC4:
            return PLAINTEXT if self.policy == "allow" else RC4
        return both

    def _decrypt_handshake(self, n: int) -> bytes | None:
        """Take and decrypt the next ``n`` handshake bytes (None until they are all in)."""
        taken = self._take(n)
        if taken is None:
            return None
        assert self._decryptor is not None
        return self._decryptor.update(taken)
