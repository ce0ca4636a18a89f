"""Fuzz the HTTP tracker codecs (BEP 3 "Trackers"; BEP 7, 23, 48): :mod:`btref.tracker`.

An input is read three ways, each of which may refuse it only with
:class:`~btref.errors.TrackerError`:

* as a whole HTTP response: :func:`~btref.tracker.parse_http_response` (status line,
  headers, ``Content-Length``, chunked bodies), and the body it returns as an announce
  and as a scrape answer;
* as a bare bencoded body: :func:`~btref.tracker.parse_announce_response` (dictionary
  and compact BEP 23 / BEP 7 peers) and :func:`~btref.tracker.parse_scrape_response`;
* as the query string of a request to the reference tracker (its server side):
  :func:`btref.tracker_state.parse_announce_query` and ``parse_scrape_query``.

Seeds: the BEP 3/23 tracker answers of the vectors, plus responses built here.
"""

from __future__ import annotations

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref import bencode
    from btref.errors import TrackerError
    from btref.tracker import parse_announce_response, parse_http_response, parse_scrape_response
    from btref.tracker_state import parse_announce_query, parse_scrape_query


def _body(body: bytes) -> None:
    try:
        result = parse_announce_response(body)
    except TrackerError:
        pass
    else:
        if result.interval < 1:
            raise AssertionError(f"announce answer with interval {result.interval}")
    try:
        parse_scrape_response(body)
    except TrackerError:
        pass


def TestOneInput(data: bytes) -> None:
    try:
        body = parse_http_response(data)
    except TrackerError:
        pass
    else:
        _body(body)
    _body(data)
    for parse in (parse_announce_query, parse_scrape_query):
        try:
            parse(data)
        except TrackerError:
            pass


def _http(body: bytes, head: bytes = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n") -> bytes:
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def seeds() -> list[bytes]:
    compact = bencode.encode({"interval": 1800, "min interval": 60, "complete": 1, "incomplete": 2,
                              "peers": b"\x0a\x00\x00\x01\x1a\xe1", "peers6": bytes(15) + b"\x01\x1a\xe1",
                              "tracker id": b"id", "warning message": b"w"})
    listed = bencode.encode({"interval": 900, "peers": [{"ip": b"10.0.0.1", "port": 6881, "peer id": b"p" * 20}]})
    scrape = bencode.encode({"files": {b"i" * 20: {"complete": 1, "downloaded": 2, "incomplete": 3}}})
    failure = bencode.encode({"failure reason": b"unknown info_hash"})
    out = [compact, listed, scrape, failure, _http(compact), _http(scrape), _http(failure, b"HTTP/1.1 400 Bad\r\n"),
           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nd8:in\r\n" + b"%x\r\n" % (len(listed) - 5)
           + listed[5:] + b"\r\n0\r\n\r\n",
           b"info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&peer_id=-BT0001-abcdefghijkl"
           b"&port=6881&uploaded=0&downloaded=0&left=1000&event=started&compact=1&numwant=50",
           b"info_hash=aaaaaaaaaaaaaaaaaaaa&info_hash=bbbbbbbbbbbbbbbbbbbb"]
    http = (harness.vector_json("bep3_peer_wire.json") or {}).get("http_tracker", {})
    for key in ("constructed_response_compact", "constructed_response_dict_peers", "constructed_failure"):
        case = http.get(key, {})
        body = bytes.fromhex(case["bencoded_hex"]) if "bencoded_hex" in case else case.get("bencoded", "").encode()
        if body:
            out += [body, _http(body)]
    request = http.get("bep23_example_request", "")
    if request.startswith("GET /announce?"):
        out.append(request.split("?", 1)[1].split(" ", 1)[0].encode())
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
