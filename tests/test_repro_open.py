"""The open-swarm reproductions of ``docs/reproductions.md`` in small sizes: tolerance tests.

Qiu and Srikant's fluid model (SIGCOMM 2004) and Hajek and Zhu's missing piece syndrome
(2010), each on the ``open`` or ``missing-piece`` scenario (:mod:`btref.sim.open_swarm`)
at a size that runs in seconds; ``bench/repro.py qiu-srikant`` and ``missing-piece`` run
the chapter's sizes. Runs are deterministic (seed 0), so a tolerance states how close the
simulation is to the model at this size, never a retry budget. The numbers quoted were
measured with the calls in the tests.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from btref.sim import scenarios
from btref.sim.open_swarm import OpenSwarm, fluid_model
from btref.sim.scenarios import ScenarioError


def _open(scenario: str, pieces: int, picker: str = "rarest-first", **params: float) -> dict[str, Any]:
    _, m = scenarios.run(scenario, pieces=pieces, picker=picker, seed=0, open_swarm=params)
    return m


def _copies(m: dict[str, Any]) -> float:
    """Copies of the file a leecher arriving after the warm-up downloaded (end game duplicates too)."""
    warm_up = m["open_swarm"]["warm_up"]
    return statistics.fmean(p["bytes_down"] for p in m["peers"] if not p["seed"] and p["arrived"] >= warm_up
                            and p["completed"] is not None) / (m["pieces"] * m["piece_length"])


def _growth(m: dict[str, Any]) -> float:
    """Leechers gained per second over the averaging window (least squares)."""
    o = m["open_swarm"]
    window = [(t, x) for t, x, _ in m["population"] if o["warm_up"] <= t <= o["horizon"]]
    return statistics.linear_regression([t for t, _ in window], [x for _, x in window]).slope


def test_fluid_model_fixed_point() -> None:
    """The model's fixed point, by hand: upload-limited, x = (lambda - mu_s - mu y) / (mu eta)
    with y = lambda / gamma; download-limited, x = lambda / c; T = x / lambda."""
    up = fluid_model(OpenSwarm(arrival_rate=1.0, seed_upload=8.0, upload=4.0, download=16.0), pieces=100)
    assert up == {"leechers": pytest.approx(23.0), "seeds": 0.0, "download_time": pytest.approx(23.0),
                  "regime": "upload-limited"}
    half = fluid_model(OpenSwarm(arrival_rate=1.0, seed_upload=8.0, upload=4.0), pieces=100, eta=0.5)
    assert half["leechers"] == pytest.approx(46.0)
    down = fluid_model(OpenSwarm(arrival_rate=2.0, seed_time=60.0, download=8.0), pieces=100)
    assert down == {"leechers": pytest.approx(25.0), "seeds": pytest.approx(120.0),
                    "download_time": pytest.approx(12.5), "regime": "download-limited"}


def test_upload_limited_swarm_follows_the_fluid_model() -> None:
    """Qiu and Srikant: in steady state x = (lambda - mu_s) / (mu eta) leechers, T = x / lambda.

    Run: ``open``, 100 pieces, arrivals 1/s for 300 s, averages over [100, 300] s,
    finished peers leave at once (upload-limited), eta = 1 as the paper argues for many
    pieces. Measured: x 26.04 against 23.0 (1.13), T 25.6 s (1.11), the leechers' upload
    efficiency eta 0.88; the chapter's 600 s run: 1.12 and 1.14. Tolerance: 1.0 to 1.2.
    The lower end is a law, not a fit: eta is at most 1 and the origin seed cannot give
    more than it has, so the model's x is the least a steady swarm can hold. The upper end
    is the claim's 15% widened by 5 points for a window half the chapter's (fewer than ten
    download times to average over).
    """
    m = _open("open", 100, horizon=300.0, warm_up=100.0)
    found, model = m["open"], m["model"]
    assert model["regime"] == "upload-limited"
    assert found["arrived_in_window"] == found["completed_in_window"] > 150
    assert 1.0 <= found["leechers_mean"] / model["leechers"] <= 1.2
    assert 1.0 <= found["download_time_mean"] / model["download_time"] <= 1.2
    assert 0.8 <= found["eta"] <= 0.95  # the gap between model and swarm is the leechers' idle upload
    assert _copies(m) < 1.05  # and not end game duplicates


def test_download_limited_swarm_needs_short_request_queues() -> None:
    """Qiu and Srikant, download-limited: with enough seeds, T = F / c.

    Run: ``open``, 50 pieces, leechers download 8 blocks/s, finished peers seed a mean
    30 s (y = 30), arrivals for 250 s, averages over [150, 250] s; model T = 6.25 s.
    With the engine's default request queues a leecher enters end game with about
    two-fifths of the file left, asks every unchoking peer for every block it lacks, and
    the duplicates fill its downlink, the one resource this regime has too little of.
    Measured: default queues T 12.2 s (1.95x), 2.3 copies of the file downloaded per
    leecher; short queues (``min_queue=1``, ``pipeline_seconds=0.5``) T 7.7 s (1.23x),
    1.5 copies. The chapter's size (100 pieces, 600 s): 1.78x and 1.09x. Tolerance: the
    default at least 1.5x and 1.8 copies (the disagreement the chapter states); short
    queues within 30% and at least half a copy fewer, the claim's 15% plus the start-up and last block's trip (about a
    second) that a 6 s download does not amortise; y within 25% of lambda / gamma (a
    time average of 100 s over seeding times of 30 s has a standard deviation near 14%).
    """
    regime = {"seed_time": 30.0, "download": 8.0, "horizon": 250.0, "warm_up": 150.0}
    default = _open("open", 50, **regime)
    short = _open("open", 50, **regime, min_queue=1, pipeline_seconds=0.5)
    model = default["model"]
    assert model["regime"] == "download-limited"
    assert default["open"]["download_time_mean"] / model["download_time"] >= 1.5
    assert _copies(default) >= 1.8
    assert short["open"]["download_time_mean"] / model["download_time"] <= 1.3
    assert _copies(short) <= _copies(default) - 0.5
    for m in (default, short):
        assert abs(m["open"]["seeds_mean"] / model["seeds"] - 1) <= 0.25


@pytest.mark.parametrize("picker", ["rarest-first", "random"])
def test_missing_piece_syndrome(picker: str) -> None:
    """Hajek and Zhu: peers that leave when done, one seed of U_s pieces a second, arrivals
    lambda a second: stable if U_s > lambda, else the population grows about linearly and
    nearly all of it misses the same piece (the "one club"), whatever the piece picker.

    Run: ``missing-piece``, 20 one-block pieces (U_s in blocks/s is pieces/s), arrivals 1/s
    for 250 s, window [100, 250] s; the seed uploads 1.5 and 0.5 blocks/s. Measured (rarest
    first, random): at 1.5x, 16.0 and 15.1 leechers on average, 18 and 18 at 250 s; at
    0.5x, growth 0.495/s for both (lambda - U_s = 0.5), 160 and 163 leechers at 250 s, the
    rarest piece held by 0.0% of the leechers and 99% of them missing only it.
    Tolerance: stable, at most 20 leechers on average and 30 at the end (a small swarm's
    one club swells and drains: rarest first peaked at 37 at 102 s, random at 35 at 96 s);
    growing, at least 0.35/s and 120 leechers at the end, the rarest piece held by under
    2% of the leechers and the one club at least 75% of them.
    """
    runs = {rate: _open("missing-piece", 20, picker, seed_upload=rate, horizon=250.0, warm_up=100.0)
            for rate in (1.5, 0.5)}
    at_end = {rate: max((t, x) for t, x, _ in m["population"] if t <= 250.0)[1] for rate, m in runs.items()}
    stable, growing = runs[1.5]["open"], runs[0.5]["open"]
    assert stable["leechers_mean"] <= 20 and at_end[1.5] <= 30
    assert stable["completed_in_window"] == stable["arrived_in_window"]
    assert _growth(runs[0.5]) >= 0.35 and at_end[0.5] >= 120
    assert growing["rarest_share_mean"] < 0.02
    assert growing["one_club_share_mean"] >= 0.75


def test_open_swarm_parameters_are_checked() -> None:
    """Bad open-swarm parameters are one :class:`ScenarioError` each, before any run."""
    with pytest.raises(ScenarioError, match="arrival-rate must be above 0"):
        scenarios.run("open", open_swarm={"arrival_rate": 0.0})
    with pytest.raises(ScenarioError, match="warm-up must be"):
        scenarios.run("open", open_swarm={"warm_up": 700.0})
    with pytest.raises(ScenarioError, match="only the open scenarios"):
        scenarios.run("flash-crowd", open_swarm={"seed_time": 5.0})
    with pytest.raises(ScenarioError, match="number of peers"):
        scenarios.run("open", peers=10)
    with pytest.raises(ScenarioError, match="min-queue"):
        scenarios.run("open", open_swarm={"min_queue": 0.5})


def test_btref_sim_open_options(tmp_path, capsys) -> None:
    """``btref sim open|missing-piece`` take the open-swarm options; bad ones exit 2, one line."""
    from btref.cli import main

    out = tmp_path / "mp"
    args = ["sim", "missing-piece", "--pieces", "4", "--horizon", "20", "--warm-up", "5", "--no-plots",
            "--out", str(out)]
    assert main(args + ["--seed-upload", "2", "--min-queue", "1"]) == 0
    printed = capsys.readouterr().out
    assert "open swarm: lambda 1.0/s, seed time 0.0 s, origin seed 2.0 blocks/s" in printed
    assert "leechers x" in printed and "(model " in printed and "eta" in printed
    assert (out / "metrics.json").is_file()
    for bad, says in ((["--arrival-rate", "-1"], "arrival-rate must be above 0"),
                      (["--warm-up", "20"], "warm-up must be"), (["--peers", "5"], "number of peers")):
        assert main(args + bad) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["sim", "flash-crowd", "--seed-time", "5", "--no-plots", "--out", str(out)]) == 2
    assert "only the open scenarios" in capsys.readouterr().err
