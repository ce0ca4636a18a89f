"""Fuzz the .torrent parser (BEP 3 "metainfo files"; BEP 12, 19, 27, 47, 52): :func:`btref.metainfo.parse`.

Every input is parsed leniently (the default) and, when that succeeds, strictly. Only
:class:`~btref.errors.MetainfoError` and :class:`~btref.errors.BencodeError` (the two
``parse`` documents) may refuse it. A torrent that parses must then be usable without
surprises, which is checked here: its piece geometry (every piece of 1 to
``piece_length`` bytes at the ends), its JSON summary, :func:`btref.metainfo.from_info`
on its own info bytes (the BEP 9 path) giving the same info hashes, and its magnet link
round-tripping through :func:`btref.magnet.parse_magnet`.

Seeds: libtorrent's 108 test torrents and the BEP 52 reference torrents (vectors), plus
small v1, multi-file, v2 and hybrid torrents built here.
"""

from __future__ import annotations

import json

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref import bencode, metainfo
    from btref.errors import BencodeError, MetainfoError
    from btref.magnet import Magnet, parse_magnet

DOCUMENTED = (MetainfoError, BencodeError)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def TestOneInput(data: bytes) -> None:
    try:
        torrent = metainfo.parse(data)
    except DOCUMENTED:
        return
    check(torrent.num_pieces >= 1, "a torrent without pieces")
    for index in {0, torrent.num_pieces - 1}:
        check(1 <= torrent.piece_size(index) <= torrent.piece_length, f"piece {index} has a bad size")
    json.dumps(torrent.to_dict())
    again = metainfo.from_info(torrent.info_bytes)
    check((again.info_hash_v1, again.info_hash_v2) == (torrent.info_hash_v1, torrent.info_hash_v2),
          "from_info gives other info hashes")
    magnet = Magnet.from_torrent(torrent)
    check(parse_magnet(magnet.to_uri()) == magnet, "the torrent's magnet does not round-trip")
    try:
        metainfo.parse(data, strict=True)
    except DOCUMENTED:
        pass


def _torrent(info: dict, **outer: object) -> bytes:
    return bencode.encode({"announce": "http://t.example/announce", **outer, "info": info})


def seeds() -> list[bytes]:
    block = 16384
    v1_single = {"name": "a.txt", "piece length": block, "length": 20000, "pieces": bytes(40)}
    v1_multi = {
        "name": "dir", "piece length": block, "pieces": bytes(60),
        "files": [
            {"length": 10000, "path": ["x", "a"]},
            {"length": block - 10000, "path": [".pad", str(block - 10000)], "attr": "p"},
            {"length": 20000, "path": ["b"]},
            {"length": 0, "path": ["link"], "attr": "l", "symlink path": ["b"]},
        ],
    }
    root = bytes(range(32))
    v2 = {"name": "v2", "piece length": block, "meta version": 2,
          "file tree": {"a": {"": {"length": 1000, "pieces root": root}}, "e": {"": {"length": 0}}}}
    v2_layers = {"name": "big", "piece length": block, "meta version": 2,
                 "file tree": {"big": {"": {"length": 3 * block, "pieces root": root}}}}
    hybrid = {"name": "h", "piece length": block, "meta version": 2, "length": 1000, "pieces": bytes(20),
              "file tree": {"h": {"": {"length": 1000, "pieces root": root}}}}
    out = [
        _torrent(v1_single),
        _torrent(v1_single, **{"announce-list": [["http://a/announce", "udp://b:1"], ["http://c/"]],
                               "url-list": ["http://ws/"], "comment": "c", "creation date": 1}),
        _torrent({**v1_single, "private": 1}),
        _torrent(v1_multi),
        _torrent(v2),
        _torrent(v2_layers, **{"piece layers": {root: bytes(3 * 32)}}),
        _torrent(hybrid),
    ]
    out += harness.vector_files("libtorrent-test-torrents", ".torrent")
    out += harness.vector_files("bep52-test-torrents", ".torrent")
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
