"""btref.claims: each check on hand-made answers, and the suites catching plugins that lie.

The first tests call the checks directly. The last ones run the real conformance suites in
a fresh process on the plugins of ``tests/wrong_plugins.py``, registered for that run
through an entry point as a third-party package would be: each breaks the claim it
declares, and the suite must say which state broke which claim. (That every built-in keeps
its claims is the suites' own run over the installed plugins, part of ``make test``.)
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections.abc import Hashable, Sequence
from pathlib import Path

import pytest

from btref import claims, plugins
from btref.errors import PluginError
from btref.views import PeerView, SwarmView, peer_view, swarm_view
from tests import wrong_plugins

ROOT = Path(__file__).resolve().parent.parent


# -- declarations ----------------------------------------------------------------------------


class Declares:
    def __init__(self, names: object, **attributes: object) -> None:
        self.claims = names
        for name, value in attributes.items():
            setattr(self, name, value)


def test_declared_reads_the_claims_attribute() -> None:
    assert claims.declared(object()) == ()
    assert claims.declared(Declares(["random"])) == ("random",)
    with pytest.raises(PluginError, match="must be a tuple of claim names"):
        claims.declared(Declares("rarest-first"))


def test_problems_name_what_is_wrong() -> None:
    assert claims.problems(plugins.create("pickers", "rarest-first"), "pickers") == []
    assert claims.problems(Declares(("rarest_first",)), "pickers") == [
        "claims 'rarest_first', which is not a pickers claim (known: rarest-first, strict-priority, "
        "random-first, random, sequential)"]
    assert claims.problems(Declares(("random-first",)), "pickers") == [
        "claims 'random-first', whose check reads its attribute random_first, which it does not have"]
    assert "seed_slots or regular_slots" in claims.problems(Declares(("seed-fastest",)), "chokers")[0]
    assert claims.problems(Declares(("seed-fastest",), seed_slots=2), "chokers") == []
    lonely = claims.problems(Declares(("optimistic-unchoke",), regular_slots=3), "chokers")
    assert lonely == ["claims 'optimistic-unchoke' without 'tit-for-tat': the optimistic slot is the one beyond "
                      "the regular slots, so the check needs both"]
    assert "must be a tuple" in claims.problems(Declares(7), "chokers")[0]


def test_every_builtin_declares_known_claims() -> None:
    declared = {info.name: claims.declared(info.cls())
                for family in ("pickers", "chokers") for info in plugins.available()[family].values()}
    assert declared["rarest-first"] == ("rarest-first", "strict-priority", "random-first")
    assert declared["random"] == ("strict-priority", "random")
    assert declared["tit-for-tat"] == ("tit-for-tat", "optimistic-unchoke", "seed-fastest")
    assert declared["seed-round-robin"] == ("tit-for-tat", "optimistic-unchoke", "seed-round-robin")
    for family in ("pickers", "chokers"):
        for info in plugins.available()[family].values():
            assert claims.problems(info.cls(), family) == [], info.name
    assert claims.declared(plugins.create("pickers", "random", partial_first=False)) == ("random",)


def test_copies_in_words() -> None:
    assert (claims.copies(0), claims.copies(1), claims.copies(5)) == ("0 copies", "1 copy", "5 copies")


# -- picker checks ---------------------------------------------------------------------------

PICKER = object()  # a picker that claims nothing: no random-first phase


def views(n: int, *, have: Sequence[int] = (), copies: Sequence[int] | None = None, started: Sequence[int] = (),
          has: Sequence[int] = ()) -> tuple[SwarmView, PeerView]:
    return (swarm_view(n, have=have, availability=copies, in_progress=started),
            peer_view("peer", n, has=has))


def test_rarest_first() -> None:
    swarm, peer = views(4, copies=[3, 1, 2, 1], has=[0, 1, 2], started=[2])
    assert claims.rarest_first(PICKER, swarm, peer, 2, [2, 1]) is None  # the partial piece is another claim's
    assert claims.rarest_first(PICKER, swarm, peer, 1, [0]) == (
        "rarest-first: picked piece 0 (3 copies) while piece 1 (1 copy) was offered and needed")
    assert claims.rarest_first(PICKER, swarm, peer, 2, [0, 1]) == (
        "rarest-first: listed piece 0 (3 copies) before piece 1 (1 copy); the answer is best first, so the "
        "rarer piece comes first")
    newcomer = plugins.create("pickers", "rarest-first")  # random_first=4: we have 0 pieces
    assert claims.rarest_first(newcomer, swarm, peer, 1, [0]) is None


def test_strict_priority() -> None:
    swarm, peer = views(5, has=[0, 1, 2, 3], started=[2, 3, 4])
    assert claims.strict_priority(PICKER, swarm, peer, 3, [3, 2, 0]) is None
    assert claims.strict_priority(PICKER, swarm, peer, 1, [2]) is None  # count used up by partial pieces
    assert claims.strict_priority(PICKER, swarm, peer, 3, [3, 0, 2]) == (
        "strict-priority: started new piece 0 while partial piece 2, which the peer has, was not picked before it")


def test_sequential() -> None:
    swarm, peer = views(8, have=[0, 2], has=[1, 3, 4, 5, 6, 7], started=[6])
    window = Declares((), window=3)  # playhead 1: the window is pieces 1..3
    assert claims.sequential(window, swarm, peer, 5, [3, 1, 6, 4, 5]) is None
    assert claims.sequential(window, swarm, peer, 2, [1, 4]) == (
        "sequential: picked piece 4, outside the window 1..3, before piece 3, which is inside it and offered")
    assert claims.sequential(window, swarm, peer, 3, [1, 3, 5]) == (
        "sequential: picked the new pieces [5] beyond the window; in file order they would be [4]")
    assert claims.sequential(PICKER, swarm, peer, 2, [1, 3]) is None  # window 1: strict file order


def test_random_choice() -> None:
    swarm, peer = views(6, copies=[1, 2, 3, 1, 1, 1], has=[0, 1, 2, 5], started=[5])
    fair = plugins.find("pickers", "random").cls
    assert claims.random_choice(fair, swarm, peer) is None
    lowest = wrong_plugins.LastFirst
    assert claims.random_choice(lowest, swarm, peer) == (
        "random: over 120 rng seeds the first new piece picked was always one of [2 (3 copies)], never piece "
        "0 (1 copy), 1 (2 copies); new pieces must be drawn at random with swarm.rng, not chosen by copies")
    assert claims.random_choice(lowest, *views(3, has=[0])) is None  # one new piece: nothing to draw
    greedy = wrong_plugins.RarestAlways  # random_first=4
    assert "random-first phase (we have 0 of random_first=4" in (claims.random_choice(greedy, swarm, peer,
                                                                                     "random-first") or "")
    late, _ = views(6, have=[0, 1, 2, 3])
    assert claims.random_choice(greedy, late, peer_view("p", 6, has=[4, 5]), "random-first") is None


# -- choker checks ---------------------------------------------------------------------------

LEECHING = swarm_view(4, rng=random.Random(1))
SEEDING = swarm_view(4, have=range(4), rng=random.Random(1))


def peer(key: str, *, interested: bool = True, down: float = 0.0, up: float = 0.0,
         snubbed: bool = False) -> PeerView:
    return peer_view(key, 4, peer_interested=interested, download_rate=down, upload_rate=up, snubbed=snubbed)


def test_tit_for_tat() -> None:
    tft = Declares((), regular_slots=2)
    peers = [peer("a", down=10), peer("b", down=5), peer("c", down=5), peer("s", down=99, snubbed=True),
             peer("x", interested=False, down=50)]
    assert claims.tit_for_tat(tft, LEECHING, peers, ["a", "c"]) is None  # a tie may go either way
    assert claims.tit_for_tat(tft, LEECHING, peers, ["a", "b", "c"]) is None  # an optimistic extra is fine
    assert claims.tit_for_tat(tft, LEECHING, peers, ["b", "c"]) == (
        "tit-for-tat: left 'a' choked, which sends us 10 B/s, while only 0 of its 2 slots went to interested "
        "peers at least that fast (unchoked: 'b' 5 B/s, 'c' 5 B/s)")
    assert claims.tit_for_tat(tft, SEEDING, peers, []) is None  # seed mode is another claim's


def test_seed_fastest() -> None:
    peers = [peer("a", up=10), peer("b", up=5), peer("c", up=1)]
    assert claims.seed_fastest(Declares((), seed_slots=1, regular_slots=3), SEEDING, peers, ["a"]) is None
    assert claims.seed_fastest(Declares((), regular_slots=1), SEEDING, peers, ["b"]) == (
        "seed-fastest: left 'a' choked, which takes from us 10 B/s, while only 0 of its 1 slots went to interested "
        "peers at least that fast (unchoked: 'b' 5 B/s)")
    assert claims.seed_fastest(Declares((), regular_slots=1), LEECHING, peers, []) is None


class Scripted:
    """A choker answering from a script, one answer per call."""

    def __init__(self, answers: Sequence[object], **attributes: object) -> None:
        self.answers = list(answers)
        self.shown: list[tuple[PeerView, ...]] = []
        for name, value in attributes.items():
            setattr(self, name, value)

    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> object:
        self.shown.append(tuple(peers))
        return self.answers.pop(0)


def test_play_feeds_each_answer_back() -> None:
    peers = [peer("a"), peer("b"), peer("x", interested=False)]
    choker = Scripted([["a", "x"], {"b": 2.0}, None])
    run = claims.play(choker, LEECHING, [(0.0, peers), (10.0, peers), (20.0, peers)])
    assert [call.unchoked for call in run] == [("a",), ("b",), ()]  # x is not interested: ignored
    assert [[p.am_choking for p in shown] for shown in choker.shown] == [
        [True, True, True], [False, True, True], [True, False, True]]
    assert [call.now for call in run] == [0.0, 10.0, 20.0]


def optimistic_run(answers: Sequence[Sequence[Hashable]], every: float = 10.0) -> list[claims.Rechoke]:
    peers = [peer("fast", down=100)] + [peer(f"n{i}") for i in range(3)]
    choker = Scripted(answers, regular_slots=1)
    return claims.play(choker, LEECHING, [(every * i, peers) for i in range(len(answers))])


def test_optimistic_unchoke() -> None:
    choker = Declares((), regular_slots=1)
    fair = [["fast", "n0"]] * 3 + [["fast", "n1"]] * 3 + [["fast", "n2"]] * 3 + [["fast", "n0"]]
    assert claims.optimistic_unchoke(choker, optimistic_run(fair)) is None
    hasty = [["fast", f"n{i % 3}"] for i in range(10)]
    assert claims.optimistic_unchoke(choker, optimistic_run(hasty)) == (
        "optimistic-unchoke: 'n0' got the optimistic slot at 0 s and lost it at 10 s, before its 30 s were up")
    stingy = [["fast"]] * 2
    assert claims.optimistic_unchoke(choker, optimistic_run(stingy)) == (
        "optimistic-unchoke: at 0 s no interested peer beyond the 1 regular slots was unchoked, while 3 waited "
        "('n0', 'n1', 'n2')")
    slow = [["fast", "n0"]] * 6 + [["fast", "n1"]] * 6 + [["fast", "n2"]]  # rotates every 60 s
    assert claims.optimistic_unchoke(choker, optimistic_run(slow)) == (
        "optimistic-unchoke: over 120 s (4 intervals of 30 s) the optimistic slot changed hands 2 times; it must go "
        "to a peer drawn anew every 30 s")
    assert claims.optimistic_unchoke(choker, []) is None


def seed_run(answers: Sequence[Sequence[Hashable]], bored: dict[int, str] | None = None) -> list[claims.Rechoke]:
    bored = bored or {}
    calls = [(10.0 * i, [peer(k, interested=bored.get(i) != k) for k in "abc"]) for i in range(len(answers))]
    return claims.play(Scripted(answers), SEEDING, calls)


def test_seed_round_robin() -> None:
    choker = Declares((), max_unchoked=2, turn=20.0)
    fair = [["a", "b"], ["a", "b"], ["c", "a"], ["c", "a"], ["b", "c"]]
    assert claims.seed_round_robin(choker, seed_run(fair)) is None
    assert claims.seed_round_robin(choker, seed_run([["a", "b"], ["a", "c"]])) == (
        "seed-round-robin: choked 'b' at 10 s, 10 s into its turn of 20 s, although it was still interested")
    assert claims.seed_round_robin(choker, seed_run([["a", "b"], ["a", "c"]], bored={1: "b"})) is None
    assert claims.seed_round_robin(choker, seed_run([["a"]])) == (
        "seed-round-robin: at 0 s unchoked 1 of 3 interested peers with 2 slots")
    assert claims.seed_round_robin(choker, seed_run([["a", "b"], ["a", "b"], ["a", "b"]])) == (
        "seed-round-robin: at 20 s gave a turn to 'a' (served 20 s) while 'c' (served 0 s) waited; free slots "
        "go to the peers served least")


# -- the suites on plugins that lie ----------------------------------------------------------


@pytest.fixture(scope="module")
def wrong_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process in which the plugins of tests/wrong_plugins.py are installed."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "btref_wrong_plugins-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: btref-wrong-plugins\nVersion: 0\n")
    lines = [f"{name} = tests.wrong_plugins:{obj}\n" for name, obj in wrong_plugins.ENTRY_POINTS.items()]
    (dist / "entry_points.txt").write_text("[btref]\n" + "".join(lines))
    path = os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "HYPOTHESIS_PROFILE": "ci"}


def test_most_common_first_fails_rarest_first(wrong_site: dict[str, str]) -> None:
    """What a student sees from ``btref conformance``: the claim fails, with the shrunk state."""
    done = subprocess.run([sys.executable, "-m", "btref", "conformance", "pickers", "most-common-first",
                           "-k", "claims"],
                          env=wrong_site, capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "FAILED" in out and "test_rarest_first[most-common-first]" in out
    assert re.search(r"^1 failed, 1 passed, \d+ deselected", out, re.M), out  # the declaration is fine
    message = re.search(r"^rarest-first: picked piece (\d+) \((\d+) cop\w+\) while piece (\d+) \((\d+) cop\w+\) "
                        r"was offered and needed\n  state: .+ pieces; .*; count \d+$", out, re.M)
    assert message, out
    assert int(message.group(2)) > int(message.group(4))


WRONG = {  # test id -> the start of the failure it must show
    "test_picker_claims.py::test_strict_priority[new-first]": "strict-priority: started new piece",
    "test_picker_claims.py::test_random_first[rarest-always]": "random-first: over ",
    "test_picker_claims.py::test_sequential[last-first]": "sequential: picked piece",
    "test_choker_claims.py::test_tit_for_tat[slowest-first]": "tit-for-tat: left ",
    "test_choker_claims.py::test_optimistic_unchoke[sticky-optimist]": "optimistic-unchoke: over ",
    "test_choker_claims.py::test_seed_round_robin[greedy-seed]": "seed-round-robin: at ",
}


def test_each_claim_catches_a_plugin_that_breaks_it(wrong_site: dict[str, str]) -> None:
    names = [("--picker", n) for n in ("new-first", "rarest-always", "last-first")] + [
        ("--choker", n) for n in ("slowest-first", "sticky-optimist", "greedy-seed")]
    done = subprocess.run([sys.executable, "-m", "pytest", "conformance/pickers", "conformance/chokers",
                           "-p", "no:cacheprovider", "-q", "-k", "claims", *[a for pair in names for a in pair]],
                          env=wrong_site, capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    failed = set(re.findall(r"^FAILED conformance/\w+/(\S+)", out, re.M))
    assert failed == set(WRONG), out
    for test, start in WRONG.items():
        name = test.split("::")[1]
        section = out.split(f" {name} ", 1)[1]
        assert section.lstrip("_ \n").startswith(start), (test, section[:300])
    assert "state:" in out or "peers:" in out


def test_a_claim_test_runs_for_each_plugin_that_declares_it() -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "conformance/pickers", "conformance/chokers",
                           "-p", "no:cacheprovider", "-q", "--collect-only", "-m", "claim"],
                          capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    collected = set(re.findall(r"::test_([\w]+)\[([\w-]+)\]$", done.stdout, re.M))
    expected = {(claim.replace("-", "_"), info.name)
                for family in ("pickers", "chokers") for info in plugins.available()[family].values()
                for claim in claims.declared(info.cls())}
    assert collected == expected, done.stdout
