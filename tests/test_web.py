"""The browser view (btref.web): its records, its page, and the page in headless Chromium.

The browser tests open what a student opens: the file ``btref sim walkthrough --html``
writes, a replayed real ``--events`` log, and the live page of ``btref demo --web`` while
its swarm runs on loopback (tests/browser.py: Debian's chromium through Selenium).
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from btref.cli import main
from btref.web import events, page
from tests.browser import chromium, console_errors, wait_for

ROOT = Path(__file__).resolve().parent.parent


def _walkthrough() -> Any:
    from btref.sim import scenarios, walkthrough

    swarm, _ = scenarios.run("walkthrough", picker=walkthrough.PICKER, seed=walkthrough.SEED, record_transfers=True)
    return swarm


def test_sim_records_name_peers_and_keep_time_order() -> None:
    records = events.from_sim(_walkthrough(), "walkthrough")
    head, body = records[0], records[1:]
    assert head["event"] == "swarm" and head["pieces"] == 4
    assert [(p["name"], p["seed"]) for p in head["peers"]] == [("S", True), ("A", False), ("B", False), ("C", False)]
    assert [r["t"] for r in body] == sorted(r["t"] for r in body)
    names = {"S", "A", "B", "C"}
    transfers = [r for r in body if r["event"] == "transfer"]
    assert transfers and all(r["peer"] in names and r["client"] in names for r in transfers)
    assert all(set(r["unchoked"]) <= names for r in body if r["event"] in ("rechoke", "unchoke"))
    assert sum(r["event"] == "complete" for r in body) == 3
    # Every peer verified every piece it lacked: 3 peers x 4 pieces.
    assert len({(r["client"], r["index"]) for r in body if r["event"] == "piece_verified"}) == 12


def test_sim_records_need_recorded_transfers() -> None:
    from btref.sim import scenarios

    swarm, _ = scenarios.run("walkthrough", record_transfers=False)
    with pytest.raises(ValueError, match="record_transfers"):
        events.from_sim(swarm, "no")


def synthetic(peers: int, pieces: int, seed: int = 0) -> list[dict[str, Any]]:
    """A made-up swarm log of ``peers`` leechers and one seed (for sizes, not for meaning)."""
    rng = random.Random(seed)
    names = ["seed"] + [f"p{n}" for n in range(peers)]
    out = [events.header(pieces, [(n, n == "seed") for n in names], f"{peers} x {pieces}")]
    for name in names[1:]:
        out.append({"t": 0.0, "event": "arrive", "client": name})
        t = 0.0
        for index in rng.sample(range(pieces), pieces):
            t += rng.random()
            out.append({"t": t, "event": "transfer", "client": name, "peer": rng.choice(names), "index": index})
            out.append({"t": t, "event": "piece_verified", "client": name, "index": index})
        out.append({"t": t, "event": "complete", "client": name, "pieces": pieces})
        out.append({"t": t + 1, "event": "rechoke", "client": name, "unchoked": rng.sample(names, 4)})
    return [out[0], *sorted(out[1:], key=lambda r: r["t"])]


def test_sample_keeps_small_runs_and_folds_large_ones() -> None:
    small = synthetic(10, 20)
    assert events.sample(small) is small
    whole = synthetic(200, 500)  # the largest drawn whole: 200 peers besides the seed
    assert events.sample(whole) is whole
    folded = events.sample(synthetic(10, 40), max_pieces=20)
    assert [p["name"] for p in folded[0]["peers"]] == ["seed"] + [f"p{n}" for n in range(10)]
    assert folded[0]["sampled"] == "40 pieces folded into 20 columns"
    big = events.sample(synthetic(300, 600), max_peers=200, max_pieces=500)
    head = big[0]
    assert len(head["peers"]) == 201 and head["peers"][0]["name"] == "seed"  # the seed and 200 others
    assert head["pieces"] == 500 and head["pieces_total"] == 600
    assert "201 of 301 peers shown" in head["sampled"] and "600 pieces folded into 500 columns" in head["sampled"]
    kept = {p["name"] for p in head["peers"]}
    assert all(r["client"] in kept and 0 <= r.get("index", 0) < 500 for r in big[1:])
    assert all(0 <= r["piece"] < 600 for r in big[1:] if "index" in r)


def test_real_log_gets_a_client_and_a_header_and_loses_junk() -> None:
    log = [{"t": 0.1, "event": "listening", "port": 6881}, {"t": 0.5, "event": "piece_verified", "index": 2},
           "junk", {"event": "no time"}, {"t": 1.0, "event": "complete", "pieces": 5}, {"t": "x", "event": "e"}]
    records = events.from_log(log, client="me")  # type: ignore[arg-type]  # junk on purpose
    assert records[0]["pieces"] == 5 and records[0]["peers"] == [{"name": "me", "seed": False}]
    assert [r["event"] for r in records[1:]] == ["listening", "piece_verified", "complete"]
    assert all(r["client"] == "me" for r in records[1:])


def test_page_is_self_contained_and_a_record_cannot_end_the_script() -> None:
    records = [events.header(1, [("</script><script>alert(1)", False)], "<b>t</b>")]
    html = page.render(records, title="<b>t</b>")
    assert "</script><script>alert" not in html and "&lt;b&gt;t&lt;/b&gt;" in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    assert "const LIVE = false;" in html


def test_sim_html_writes_the_view(tmp_path: Path) -> None:
    assert main(["sim", "walkthrough", "--html", "--no-plots", "--out", str(tmp_path)]) == 0
    html = (tmp_path / "view.html").read_text(encoding="utf-8")
    assert '"event":"transfer"' in html and "btref sim walkthrough" in html


def test_sim_html_refuses_a_scenario_without_one_swarm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "startup", "--html", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--html: startup is an experiment of its own" in err and len(err.strip().splitlines()) == 1


def test_replay_refuses_what_is_not_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 0, "event": "x"}\nnot json\n', encoding="utf-8")
    assert main(["replay", str(bad), "--html"]) == 2
    assert "bad.jsonl, line 2: not a JSON object" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.jsonl"), "--html"]) == 2


# -- in a real browser --------------------------------------------------------------------

def _status(driver: Any) -> str:
    return str(driver.find_element("id", "status").text)


def test_walkthrough_page_plays_to_all_peers_complete(tmp_path: Path) -> None:
    assert main(["sim", "walkthrough", "--html", "--no-plots", "--out", str(tmp_path)]) == 0
    with chromium() as driver:
        driver.get((tmp_path / "view.html").as_uri())
        wait_for(driver, lambda d: _status(d) == "0/3 peers complete", 20)
        labels = driver.execute_script("return view.peers.map(p => p.name)")
        assert labels == ["S", "A", "B", "C"]
        driver.find_element("id", "speed").send_keys("16x")
        driver.find_element("id", "play").click()
        wait_for(driver, lambda d: _status(d) == "all peers complete", 60)
        milestones = driver.find_element("id", "milestones").text
        assert "every piece exists outside the seed" in milestones and "all peers complete at" in milestones
        # Back to the start with the slider: the map empties again.
        driver.execute_script("const s = document.getElementById('slider'); s.value = 0;"
                              "s.dispatchEvent(new Event('input'))")
        wait_for(driver, lambda d: _status(d) == "0/3 peers complete", 20)
        assert console_errors(driver) == []
        # A liar's corrupt blocks: the bans are listed with the milestones.
        assert main(["sim", "liar", "--html", "--no-plots", "--out", str(tmp_path / "liar")]) == 0
        driver.get((tmp_path / "liar" / "view.html").as_uri())
        driver.find_element("id", "end").click()
        wait_for(driver, lambda d: "bans L at" in d.find_element("id", "milestones").text, 20)
        assert console_errors(driver) == []


def test_large_run_renders_sampled_without_errors(tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    path.write_text(page.render(events.sample(synthetic(205, 510)), title="big"), encoding="utf-8")
    with chromium() as driver:
        driver.get(path.as_uri())
        wait_for(driver, lambda d: "Sampled to stay smooth" in d.find_element("id", "sampled").text, 20)
        driver.find_element("id", "end").click()
        wait_for(driver, lambda d: _status(d) == "all peers complete", 30)
        assert driver.execute_script("return window.btrefFrames.length") > 0
        assert console_errors(driver) == []


@pytest.mark.slow
def test_replay_of_a_real_download_log(tmp_path: Path) -> None:
    from btref.net.swarm_demo import run_swarm

    logs = {name: (tmp_path / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("seed", "leecher-1")}
    try:
        report = asyncio.run(run_swarm(tmp_path / "swarm", bytes(range(256)) * 1024, leechers=1, seed_rate=1 << 20,
                                       timeout=60, events=logs.__getitem__))
    finally:
        for f in logs.values():
            f.close()
    assert report.problems == []
    assert main(["replay", str(tmp_path / "leecher-1.jsonl"), "--html", "--name", "leecher-1"]) == 0
    with chromium() as driver:
        driver.get((tmp_path / "leecher-1.html").as_uri())
        driver.find_element("id", "end").click()
        wait_for(driver, lambda d: _status(d) == "all peers complete", 30)
        assert driver.execute_script("return view.peers[0].held") == driver.execute_script("return view.columns")
        assert console_errors(driver) == []


@pytest.mark.slow
def test_live_page_updates_while_the_demo_swarm_runs(tmp_path: Path) -> None:
    # A slow seeder (64 KiB/s for 512 KiB) keeps the swarm running long enough to watch.
    argv = [sys.executable, "-m", "btref", "demo", "--web", "--workdir", str(tmp_path), "--size", "512K",
            "--leechers", "2", "--seed-rate", "64K", "--timeout", "120"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            if "watch it in a browser: " in line:
                url = line.split("watch it in a browser: ", 1)[1].split()[0]
                break
        assert url is not None and url.startswith("http://127.0.0.1:")
        with chromium() as driver:
            driver.get(url)
            wait_for(driver, lambda d: d.execute_script("return view.head !== null && view.records.length > 0"), 30)
            first = driver.execute_script("return view.records.length")
            wait_for(driver, lambda d: d.execute_script("return view.records.length") > first, 60)
            assert _status(driver).startswith("live: ")
            assert driver.execute_script("return view.peers.map(p => p.name)") == ["seed", "leecher-1", "leecher-2"]
            assert console_errors(driver) == []
            driver.get("about:blank")  # the page goes away: the swarm must not notice
        rest = proc.stdout.read()
        assert proc.wait(timeout=150) == 0, rest
        assert "identical" in rest and "DIFFERS" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_compare_html_writes_one_view_per_pair(tmp_path: Path) -> None:
    assert main(["compare", "--picker", "rarest-first,random", "--peers", "4", "--pieces", "8", "--repeat", "1",
                 "--jobs", "1", "--no-plots", "--html", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("view-*.html"))
    assert names == ["view-random+tit-for-tat.html", "view-rarest-first+tit-for-tat.html"]


def test_seed_and_download_serve_their_live_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import re
    import urllib.request

    from tests.test_cli_network import btref_process
    from tests.test_driver import make_torrent

    data, _, src = make_torrent(tmp_path, "hybrid")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers", "--web") as (proc, first):
        assert proc.stdout is not None
        url = first.split("watch it in a browser: ", 1)[1].split()[0]
        port = re.search(r"on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert port, first
        log = tmp_path / "ev.jsonl"
        assert main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                     "--peer", f"127.0.0.1:{port.group(1)}", "--web", "--events", str(log)]) == 0
        assert "watch it in a browser: http://127.0.0.1:" in capsys.readouterr().out
        assert any(json.loads(line)["event"] == "piece_verified" for line in log.read_text().splitlines())
        with urllib.request.urlopen(url + "events", timeout=10) as stream:
            seen = []
            while "peer_connected" not in seen:
                line = stream.readline().decode()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:])["event"])
        assert seen[0] == "swarm"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"const LIVE = true;" in response.read()
