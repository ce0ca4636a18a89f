"""The client-server vs peer-to-peer lessons, each checked for its point (btref.sim.lessons,
the lesson scenarios of btref.sim.scenarios, ``btref demo --control``).

Every swarm here is small and every run is determined by its seed; nothing asserts on time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btref.cli import main
from btref.sim import lessons, scenarios
from btref.wire import BLOCK_SIZE as BLOCK

# -- a single point of failure ----------------------------------------------------------------


def _after(m: dict) -> int:
    """Blocks downloaded after the (first) seed left."""
    return (sum(p["bytes_down"] for p in m["peers"]) - m["departures"][0]["bytes_down"]) // BLOCK


def test_when_the_server_leaves_every_download_stops() -> None:
    _, m = scenarios.run("server-leaves", seed=1)
    [gone] = m["departures"]
    assert gone["peer"] == "S" and gone["completed"] == 0 and m["summary"]["completed"] == 0
    assert _after(m) == 0  # the clients only talk to the server: nothing moves any more
    assert "nothing moved after S left" in "\n".join(lessons.departures(m))


def test_when_the_seed_leaves_at_the_same_moment_the_swarm_finishes() -> None:
    _, server = scenarios.run("server-leaves", seed=1)
    _, m = scenarios.run("seed-leaves", seed=1)
    [gone] = m["departures"]
    assert gone["time"] == server["departures"][0]["time"]
    assert gone["pieces_held"] == m["pieces"] and gone["completed"] < m["summary"]["leechers"]
    assert m["summary"]["completed"] == m["summary"]["leechers"] and _after(m) > 0
    assert "the file outlived its first source" in "\n".join(lessons.departures(m))


def test_a_seed_that_leaves_before_every_piece_is_out_takes_pieces_with_it() -> None:
    _, m = scenarios.run("seed-leaves-early", seed=1)
    [gone] = m["departures"]
    assert gone["pieces_held"] < m["pieces"] and m["summary"]["min_replication"] == 0
    assert m["summary"]["completed"] == 0 and _after(m) > 0  # the peers traded what was left
    lost = m["pieces"] - gone["pieces_held"]
    assert f"{lost} pieces left with S: no peer can complete" in "\n".join(lessons.departures(m))


def test_departures_report_a_swarm_done_before_its_seed_left() -> None:
    metrics = {"pieces": 4, "piece_length": BLOCK, "peers": [], "departures": [],
               "summary": {"last_completion": 3.0}}
    assert lessons.departures(metrics) == ["every peer completed (the last at 3.0 s) before the seed left."]


# -- a lying peer -----------------------------------------------------------------------------


def test_the_liar_is_banned_by_every_peer_and_every_download_completes() -> None:
    _, m = scenarios.run("liar", peers=4, pieces=12, seed=3)
    s = m["summary"]
    assert s["completed"] == s["leechers"] == 4
    leechers = [p for p in m["peers"] if not p["seed"]]
    bans = [(i["peer"], i["banned"]) for i in m["incidents"] if i["event"] == "peer_banned"]
    assert sorted(bans) == [(p["name"], "L") for p in leechers] and s["bans"] == 4
    failures = [i for i in m["incidents"] if i["event"] == "piece_failed"]
    assert failures and all(i["senders"] == ["L"] for i in failures) and s["hash_failures"] == len(failures)
    for p in leechers:  # every block the liar sent was caught: one failed piece each
        assert p["down_from"].get("L", 0) // BLOCK == sum(1 for i in failures if i["peer"] == p["name"])
    text = "\n".join(lessons.liar(m))
    assert "P0  failed its hash check: piece" in text and "banned L at" in text and "completed at" in text
    assert "L was banned by 4 of 4 peers" in text
    # the liar's claimed pieces are no copies, and its upload is no part of the bound
    assert s["lower_bound"] == scenarios.run("flash-crowd", peers=4, pieces=12)[1]["summary"]["lower_bound"]


# -- start-up latency and privacy -----------------------------------------------------------------


def test_the_server_starts_sooner_at_low_demand_and_its_first_piece_grows_with_demand() -> None:
    _, m = scenarios.run("startup", peers=16, pieces=12)
    assert [row["peers"] for row in m["rows"]] == [1, 2, 4, 8, 16]
    server = [row["server"]["first_piece_mean"] for row in m["rows"]]
    swarm = [row["swarm"]["first_piece_mean"] for row in m["rows"]]
    assert server == sorted(server) and server[-1] > 3 * server[0]
    assert all(a <= b for a, b in zip(server, swarm))  # low demand: the server answers first
    last = [row["server"]["last_completion"] for row in m["rows"]]
    assert last[-1] > 12 * last[0]  # ... but it sends the whole file to every client
    assert m["summary"]["peers"] == 16 and m["summary"]["server_first_piece_mean"] == server[-1]
    text = "\n".join(lessons.startup(m))
    assert "first verified piece, mean / last" in text and text.count(" s ") >= 5


def test_in_a_swarm_every_peer_learns_your_address_and_a_server_alone_does_otherwise() -> None:
    _, m = scenarios.run("privacy", peers=5, pieces=6)
    for p in m["client-server"]:
        if p["seed"]:
            assert p["learned"] == {f"P{i}": "connection" for i in range(5)}
        else:
            assert p["learned"] == {"S": "tracker"} and p["known_by"] == ["S"] and list(p["down_from"]) == ["S"]
    names = {p["name"] for p in m["swarm"]}
    for p in m["swarm"]:
        assert set(p["known_by"]) == names - {p["name"]}
    s = m["summary"]
    assert s["client_server_known_by_mean"] < 2 and s["swarm_known_by_mean"] == len(names) - 1
    text = "\n".join(lessons.privacy(m))
    assert "learned by" in text and "all from S" in text and "*: learned from an incoming connection" in text


def test_first_block_and_first_piece_per_peer() -> None:
    _, m = scenarios.run("flash-crowd", peers=4, pieces=6, seed=2)
    for p in m["peers"]:
        if p["seed"]:
            assert p["first_piece"] is None
        else:
            assert 0 < p["first_block"] <= p["first_piece"] <= p["download_time"]
            assert "learned" not in p  # addresses only when recorded
    assert m["summary"]["first_piece_max"] >= m["summary"]["first_piece_mean"] > 0


# -- the command ---------------------------------------------------------------------------------


def test_btref_sim_prints_each_lesson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "liar", "--peers", "3", "--pieces", "8", "--no-plots", "--out", str(tmp_path / "l")]) == 0
    out = capsys.readouterr().out
    assert "banned L at" in out and "L was banned by 3 of 3 peers" in out
    assert json.loads((tmp_path / "l" / "metrics.json").read_text())["summary"]["bans"] == 3
    assert main(["sim", "server-leaves", "--no-plots", "--out", str(tmp_path / "s")]) == 1  # nobody completes
    assert "S left at 10.0 s" in capsys.readouterr().out
    assert main(["sim", "privacy", "--peers", "3", "--pieces", "4", "--no-plots", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "client-server:" in out and "learned by" in out and "hops" not in out
    assert "addresses_learned_mean" not in out  # the report replaces the key: value lines
    assert main(["sim", "startup", "--peers", "2", "--pieces", "4", "--no-plots", "--out", str(tmp_path / "t")]) == 0
    assert "server            swarm" in capsys.readouterr().out
    assert main(["sim", "--help"]) == 0 and "btref sim server-leaves" in capsys.readouterr().out


# -- control: a changed file is a new torrent, and the old swarm lives on ---------------------------


def test_btref_demo_control(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from btref.commands import demo
    from btref.metainfo import parse

    assert main(["demo", "--control", "--workdir", str(tmp_path), "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "== step 5 of 5: the old swarm lives on ==" in out
    old = parse((tmp_path / "btref-sample.torrent").read_bytes())
    new = parse((tmp_path / "btref-sample-changed.torrent").read_bytes())
    assert old.name == new.name and old.total_length == new.total_length
    assert old.info_hash_v1 != new.info_hash_v1 and old.info_hash_v2 != new.info_hash_v2
    assert f"new torrent: info hash v1 {new.info_hash_v1.hex()}" in out
    # the changed data fails the old torrent at the changed piece, from the command line too
    piece = demo.flipped_piece(old)
    assert piece == 2 and f"bad:     1 (pieces {piece})" in out
    assert main(["verify", str(tmp_path / "btref-sample.torrent"), str(tmp_path / "changed")]) == 1
    assert f"(pieces {piece})" in capsys.readouterr().out
    # the old seeder refused the new info hash and served the old bytes
    assert "the seeder closed the connection" in out and "6 of 6 pieces downloaded and verified" in out
    for f in ("README.txt", "data/numbers.bin", "data/verse.txt"):
        got = (tmp_path / "fetched" / "btref-sample" / f).read_bytes()
        assert got == (tmp_path / "btref-sample" / f).read_bytes()
    changed = (tmp_path / "changed" / "btref-sample" / "data" / "numbers.bin").read_bytes()
    assert changed != (tmp_path / "fetched" / "btref-sample" / "data" / "numbers.bin").read_bytes()


def test_demo_control_says_when_the_lesson_does_not_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the byte not changed, every step would report it (the lesson checks itself)."""
    import io

    from btref.commands import demo

    flips: list[Path] = []
    monkeypatch.setattr(demo, "flip", flips.append)
    t = demo.tour(tmp_path, io.StringIO(), demo.CONTROL_STEPS, timeout=60.0)
    assert len(flips) == 1 and t.failures == [
        "the changed file kept the old info hash",
        "expected exactly piece 2 to fail against the old torrent, got []",
        "the old seeder accepted a handshake for the new info hash",
    ]


def test_demo_control_gives_up_on_a_silent_swarm(tmp_path: Path) -> None:
    import io

    from btref.commands import demo

    t = demo.tour(tmp_path, io.StringIO(), demo.CONTROL_STEPS, timeout=0.0)
    assert t.failures == ["the old swarm did not deliver within 0 s"]


# -- the glossary ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_TERMS = [
    "swarm", "seeder", "leecher", "peer", "piece", "block", "info hash", "torrent", "magnet link", "tracker",
    "DHT", "PEX", "choke", "unchoke", "optimistic unchoke", "interested", "have", "bitfield", "rarest first",
    "end game", "tit for tat", "free rider", "hash check", "ban",
]


def _glossary() -> dict[str, str]:
    """The glossary's terms and their definitions, from the ``{glossary}`` block."""
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}\n", 1)[1].split("\n```", 1)[0]
    terms: dict[str, str] = {}
    term = None
    for line in block.splitlines():
        if line and not line.startswith((" ", ":")):
            term = line
            terms[term] = ""
        elif term is not None:
            terms[term] += line.strip() + " "
    return terms


def test_the_glossary_defines_each_word_briefly_and_links_it_to_a_chapter() -> None:
    terms = _glossary()
    assert set(REQUIRED_TERMS) <= set(terms), set(REQUIRED_TERMS) - set(terms)
    for term, definition in terms.items():
        assert "{doc}`" in definition or "](" in definition, f"{term!r} links to no chapter"
        sentences = definition.replace("e.g.", "eg").count(". ") + 1
        assert sentences <= 4, f"{term!r}: keep it to a sentence or two and a link"


def test_the_glossary_and_the_lessons_are_in_the_book_and_the_readmes() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "\nglossary\n" in index and "\nlessons\n" in index
    assert "docs/glossary.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../docs/glossary.md" in (ROOT / "tutorials" / "README.md").read_text(encoding="utf-8")
    overview = (ROOT / "docs" / "overview.md").read_text(encoding="utf-8")
    for command in ("btref sim startup", "btref sim server-leaves", "btref sim privacy", "btref demo --control",
                    "btref sim liar"):
        assert command in overview

