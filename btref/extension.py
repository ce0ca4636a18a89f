"""The BEP 10 extension handshake: the dictionary in ``extended`` message 0 (BEP 10 "handshake message").

After both handshakes set ``reserved[5] & 0x10``, each side may send an ``extended``
message with extension id 0 whose payload is a bencoded dictionary. The keys btref knows:

``m``
    extension name -> the id *the sender* wants to receive it under (0 disables it);
``v``
    client name and version, UTF-8;
``p``
    the sender's TCP listen port;
``reqq``
    how many outstanding requests the sender accepts (libtorrent: 250 by default);
``yourip``
    the address the sender sees us at, 4 (IPv4) or 16 (IPv6) bytes;
``metadata_size``
    BEP 9: bytes in the info dictionary, for fetching it from a magnet link;
``upload_only``
    BEP 21: 1 when the sender only uploads (a seed, or a partial seed that wants no more).

Peers are untrusted: the payload is at most 1 MiB (checked by :mod:`btref.connection`),
must be a bencoded dictionary, every known key must have its type and range, and ``m``
has at most 128 names. Unknown keys are ignored, as BEP 10 asks. Every failure is a
:class:`~btref.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from btref import bencode
from btref.errors import BencodeError, ProtocolError

__all__ = ["ExtensionHandshake", "decode_handshake", "MAX_EXTENSIONS", "MAX_METADATA_SIZE"]

#: Most extension names accepted in ``m`` (real clients announce about a dozen).
MAX_EXTENSIONS = 128
#: Largest ``metadata_size`` believed: an info dictionary of 64 MiB is already absurd.
MAX_METADATA_SIZE = 64 * 1024 * 1024
_MAX_NAME = 64
_MAX_VERSION = 256


def _dict(m: Mapping[str, int]) -> dict[str, int]:
    return dict(m)


@attrs.frozen
class ExtensionHandshake:
    """The fields of a BEP 10 handshake; ``None`` means "not sent"."""

    m: Mapping[str, int] = attrs.field(factory=dict, converter=_dict)
    v: str | None = None
    p: int | None = None
    reqq: int | None = None
    yourip: bytes | None = None
    metadata_size: int | None = None
    upload_only: int | None = None

    def encode(self) -> bytes:
        """The bencoded payload (without the ``extended`` id bytes)."""
        out: dict[bytes, object] = {b"m": {name.encode(): ext_id for name, ext_id in self.m.items()}}
        for key in ("p", "reqq", "metadata_size", "upload_only"):
            if getattr(self, key) is not None:
                out[key.encode()] = getattr(self, key)
        if self.v is not None:
            out[b"v"] = self.v.encode()
        if self.yourip is not None:
            out[b"yourip"] = self.yourip
        return bencode.encode(out)


def _int(d: Mapping[bytes, bencode.Value], key: bytes, top: int, low: int = 0) -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or not low <= value <= top:
        raise ProtocolError(f"extension handshake: {key.decode()!r} must be an integer in {low}..{top}, got {value!r}")
    return value


def decode_handshake(payload: bytes | memoryview) -> ExtensionHandshake:
    """Parse the payload of ``extended`` message 0 (BEP 10).

    :raises ProtocolError: for bencoding errors, a non-dictionary, or a known key with the
        wrong type or an out-of-range value.
    """
    try:
        d = bencode.decode(payload, strict=False)
    except BencodeError as exc:
        raise ProtocolError(f"extension handshake is not valid bencoding: {exc}") from exc
    if not isinstance(d, dict):
        raise ProtocolError(f"extension handshake must be a dictionary, got {type(d).__name__}")
    raw_m = d.get(b"m", {})
    if not isinstance(raw_m, dict):
        raise ProtocolError("extension handshake: 'm' must be a dictionary")
    if len(raw_m) > MAX_EXTENSIONS:
        raise ProtocolError(f"extension handshake: 'm' has {len(raw_m)} names (at most {MAX_EXTENSIONS})")
    m: dict[str, int] = {}
    for name, ext_id in raw_m.items():
        if len(name) > _MAX_NAME:
            raise ProtocolError(f"extension handshake: extension name of {len(name)} bytes (at most {_MAX_NAME})")
        if not isinstance(ext_id, int) or not 0 <= ext_id <= 255:
            raise ProtocolError(f"extension handshake: id of {name!r} must be an integer in 0..255, got {ext_id!r}")
        m[name.decode("utf-8", "replace")] = ext_id
    raw_v = d.get(b"v")
    v = None
    if raw_v is not None:
        if not isinstance(raw_v, bytes) or len(raw_v) > _MAX_VERSION:
            raise ProtocolError(f"extension handshake: 'v' must be a string of at most {_MAX_VERSION} bytes")
        v = raw_v.decode("utf-8", "replace")
    yourip = d.get(b"yourip")
    if yourip is not None and (not isinstance(yourip, bytes) or len(yourip) not in (4, 16)):
        raise ProtocolError("extension handshake: 'yourip' must be 4 or 16 bytes")
    return ExtensionHandshake(
        m=m, v=v, p=_int(d, b"p", 65535), reqq=_int(d, b"reqq", 1 << 31, 1), yourip=yourip,
        metadata_size=_int(d, b"metadata_size", MAX_METADATA_SIZE), upload_only=_int(d, b"upload_only", 1 << 31),
    )
