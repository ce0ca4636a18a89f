"""``btref sim dht-lookup``: the DHT plugin brings a simulator scenario (BEP 5 hops against log2 N)."""

from __future__ import annotations

import json
from pathlib import Path

from btref.cli import main
from btref.sim import scenarios


def test_the_dht_plugin_offers_its_scenario() -> None:
    scenario = scenarios.known()["dht-lookup"]
    assert scenario.runner is not None and scenario.build is None


def test_btref_sim_dht_lookup_measures_hops_by_n(tmp_path: Path, capsys) -> None:
    assert main(["sim", "dht-lookup", "--peers", "300", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "N=100 (log2 N 6.6)" in printed and "N=300" in printed
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    hops = [r["hops_mean"] for r in metrics["results"]]
    assert [r["n"] for r in metrics["results"]] == [100, 300]
    # Kademlia's promise: a lookup is a few hops, and more nodes never make it shorter by much.
    assert all(1 <= h <= 4 for h in hops) and hops[1] >= hops[0] - 0.25
    assert all(r["found_closest"] >= 0.9 for r in metrics["results"])
    assert (tmp_path / "dht-lookup.png").stat().st_size > 0 and (tmp_path / "dht-lookup.svg").exists()


def test_a_run_is_determined_by_its_seed() -> None:
    first = scenarios.run("dht-lookup", peers=100, seed=3)[1]["results"]
    again = scenarios.run("dht-lookup", peers=100, seed=3)[1]["results"]
    assert first == again


def test_listing_names_it(capsys) -> None:
    assert main(["sim", "--list"]) == 0
    assert "dht-lookup" in capsys.readouterr().out
