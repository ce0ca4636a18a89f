"""Fuzz the bencoding decoder (BEP 3, "bencoding"): :mod:`btref.bencode`.

Every input goes through :func:`~btref.bencode.decode` (strict and lenient),
:func:`~btref.bencode.decode_prefix` and :func:`~btref.bencode.decode_with_spans`. Only
:class:`~btref.errors.BencodeError` may refuse it. What is accepted must also keep the
module's invariants, checked here:

* strict decoding round-trips: ``encode(decode(b)) == b``;
* a leniently decoded value re-encodes to bytes that decode strictly to the same value;
* ``decode_prefix`` reports a length whose bytes decode to the same value;
* every span of ``decode_with_spans`` holds exactly the value reported for its key.

Seeds: libtorrent's bdecode cases and the BEP 3 examples (vectors), plus a few generated.
"""

from __future__ import annotations

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref import bencode
    from btref.errors import BencodeError


def check(condition: bool, what: str, data: bytes) -> None:
    if not condition:
        raise AssertionError(f"{what}, for input {data[:200]!r}")


def TestOneInput(data: bytes) -> None:
    try:
        value = bencode.decode(data)
    except BencodeError:
        pass
    else:
        check(bencode.encode(value) == data, "strict decode does not round-trip", data)
    try:
        loose = bencode.decode(data, strict=False)
    except BencodeError:
        pass
    else:
        check(bencode.decode(bencode.encode(loose)) == loose, "lenient value does not re-encode", data)
    try:
        value, used = bencode.decode_prefix(data, strict=False)
    except BencodeError:
        pass
    else:
        check(0 < used <= len(data), "decode_prefix length out of range", data)
        check(bencode.decode(data[:used], strict=False) == value, "decode_prefix disagrees with decode", data)
    try:
        top, spans = bencode.decode_with_spans(data, strict=False)
    except BencodeError:
        pass
    else:
        check(spans.keys() == top.keys(), "spans and keys differ", data)
        for key, (start, end) in spans.items():
            check(bencode.decode(data[start:end], strict=False) == top[key], f"span of {key!r} is wrong", data)


def seeds() -> list[bytes]:
    out = [
        b"i0e", b"i-42e", b"4:spam", b"0:", b"le", b"de", b"l4:spami42ee", b"d3:cow3:moo4:spaml1:a1:bee",
        b"d4:infod6:lengthi1e4:name1:aee", b"i9223372036854775807e", b"i-9223372036854775808e",
        b"l" * 100 + b"e" * 100, b"d1:ad1:bd1:cleeee", b"i03e", b"03:abc", b"d1:b0:1:a0:e",
    ]
    cases = harness.vector_json("libtorrent-bdecode-cases.json") or {}
    for case in cases.get("bdecode", []) + cases.get("bep3_examples", []):
        out.append(bytes.fromhex(case["input_hex"]))
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
