"""Version (a), ``Top4``: the four interested peers that send us data fastest, equal
shares (BEP 3: a client unchokes the peers it downloads from fastest)."""

from __future__ import annotations

from types import ModuleType

from lab3_grading import Asker, keys, peers


def test_the_four_fastest(lab: ModuleType) -> None:
    """Top4 unchokes the 4 interested peers with the highest download_rate"""
    ask = Asker(lab.Top4())
    for rates in ([10, 50, 20, 40, 30, 0], [7, 1, 9, 3, 8, 2, 6, 4, 5], [1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6]):
        expected = {f"p{i}" for i in sorted(range(len(rates)), key=lambda i: -rates[i])[:4]}
        got = keys(ask(peers(*rates), 10.0))
        assert set(got) == expected, f"Top4 with download rates {rates} unchoked {sorted(got)}"


def test_only_the_interested_ones(lab: ModuleType) -> None:
    """Top4 ranks only interested peers: a fast peer that wants nothing stays choked"""
    ask = Asker(lab.Top4())
    got = keys(ask(peers(900, 800, 10, 20, 30, 40, 50, interested=[False, False, True, True, True, True, True]), 0.0))
    assert set(got) == {"p3", "p4", "p5", "p6"}, f"Top4 unchoked {sorted(got)}; p0 and p1 are fast but not interested"


def test_fewer_than_four_interested(lab: ModuleType) -> None:
    """with fewer than 4 interested peers Top4 unchokes all of them, rates or not"""
    ask = Asker(lab.Top4())
    got = keys(ask(peers(0, 0, 5, 9, interested=[True, True, True, False]), 0.0))
    assert set(got) == {"p0", "p1", "p2"}, f"Top4 unchoked {sorted(got)}; p0, p1 and p2 are the interested ones"


def test_equal_shares(lab: ModuleType) -> None:
    """Top4 returns a plain list of keys (equal shares), and says max_unchoked = 4"""
    choker = lab.Top4()
    answer = Asker(choker)(peers(1, 2, 3, 4, 5), 0.0)
    assert isinstance(answer, (list, tuple)), f"Top4 returned {type(answer).__name__}; return a list of keys"
    assert getattr(choker, "max_unchoked", None) == 4, "Top4 must say max_unchoked = 4"
