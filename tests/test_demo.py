"""``btref demo``'s live swarm (btref.commands.demo, btref.net.swarm_demo): real loopback TCP.

The swarms here are small (1 MiB, 3 leechers, a 512 KiB/s seeder: a few seconds each) and
bounded by the demo's own ``--timeout`` and pytest-timeout; nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import cli
from btref.commands import demo
from btref.net import swarm_demo
from btref.net.swarm_demo import (
    ByteCounter, PeerResult, SwarmReport, TokenBucket, peer_id_for, piece_length_for, run_swarm,
)

MIB = 1 << 20
SMALL = {"size": MIB, "leechers": 3, "seed_rate": 512 * 1024, "timeout": 120.0}
SWARM_STEP = [("a live swarm on loopback", demo.step_swarm)]


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the whole command --------------------------------------------------------------------


def test_demo_command_runs_the_swarm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--workdir", tmp_path, "--leechers", 3, "--size", "1M",
                         "--seed-rate", "512K", "--timeout", 120)
    assert code == 0, err
    assert "== step 7 of 8: a live swarm on loopback ==" in out
    header = re.search(r"^peer +finished +avg rate +from seed +from peers +uploaded +copy$", out, re.M)
    assert header is not None
    for n in (1, 2, 3):
        row = re.search(rf"^leecher-{n} +[\d.]+ s +[\d.]+ MiB/s +[\d.]+ MiB +[\d.]+ MiB +[\d.]+ MiB +identical$",
                        out, re.M)
        assert row is not None, out
    assert re.search(r"^seed .* original$", out, re.M)
    copies = re.search(r"The seeder uploaded [\d.]+ MiB: ([\d.]+) x the file size \(1\.0 MiB\), for 3 copies", out)
    assert copies is not None and float(copies.group(1)) < 3
    assert "Leechers feed each other" in out and "identical to the original, byte for byte" in out
    assert "btref sim walkthrough" in out and "docs/demo.md" in out
    # not a terminal: plain progress lines, no rich table
    assert re.search(r"^ +[\d.]+ s +L-1 +\d+%", out, re.M) and "live swarm," not in out
    # --workdir keeps every copy, and the swarm's torrent
    original = (tmp_path / "swarm" / "seed" / swarm_demo.FILE_NAME).read_bytes()
    assert len(original) == MIB and original == demo.sample_bytes("swarm", MIB)
    for n in (1, 2, 3):
        assert (tmp_path / "swarm" / f"leecher-{n}" / swarm_demo.FILE_NAME).read_bytes() == original
    assert (tmp_path / "swarm" / "btref-swarm.torrent").is_file()


def test_leechers_feed_each_other(tmp_path: Path) -> None:
    t = demo.tour(tmp_path, io.StringIO(), SWARM_STEP, live=True, **SMALL)
    report = t.report
    assert t.failures == [] and report.problems == []
    assert [r.name for r in report.rows] == ["leecher-1", "leecher-2", "leecher-3"]
    assert all(r.identical and r.seconds is not None and r.seconds > 0 for r in report.rows)
    # every byte came from somewhere: each leecher got at least the file
    assert all(r.from_seed + r.from_peers >= MIB for r in report.rows)
    assert report.from_peers > 0  # leechers received bytes from other leechers
    assert sum(r.uploaded for r in report.rows) > 0
    assert report.seed_uploaded < 3 * MIB  # less than one copy per leecher
    assert report.seed_copies == report.seed_uploaded / MIB
    assert report.piece_length == 16 * 1024
    assert "live swarm," in t.out.getvalue()  # the rich table (live=True)


# -- failures -----------------------------------------------------------------------------


def test_a_copy_that_differs_fails_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    report = swarm_demo._report

    def spoil_then_report(torrent: Any, data: bytes, seed: Any, peers: list[Any], *rest: Any) -> SwarmReport:
        path = peers[1].data_dir / swarm_demo.FILE_NAME
        spoilt = bytearray(path.read_bytes())
        spoilt[1000] ^= 1
        path.write_bytes(spoilt)
        return report(torrent, data, seed, peers, *rest)

    monkeypatch.setattr(swarm_demo, "_report", spoil_then_report)
    code, out, err = run(capsys, "demo", "--workdir", tmp_path, "--leechers", 2, "--size", "256K",
                         "--seed-rate", "512K", "--timeout", 120)
    assert code == 1
    assert re.search(r"^leecher-2 .* DIFFERS$", out, re.M) and re.search(r"^leecher-1 .* identical$", out, re.M)
    assert f"btref: demo: leecher-2: {tmp_path / 'swarm' / 'leecher-2' / swarm_demo.FILE_NAME} differs" in err
    assert "Problems: leecher-2:" in out


def test_a_failing_session_stops_the_swarm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_serve(self: Any, reads: list[Any]) -> None:
        self.fail("disk on fire")

    monkeypatch.setattr(swarm_demo.ThrottledSession, "_serve", broken_serve)
    t = demo.tour(tmp_path, io.StringIO(), SWARM_STEP, **{**SMALL, "leechers": 1})
    assert t.failures[0] == "seed: disk on fire"
    assert t.failures[1].startswith("leecher-1: ")  # its file is missing or incomplete
    assert t.report.rows[0].seconds is None and not t.report.rows[0].identical


def test_the_swarm_gives_up_after_its_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def serve_nothing(self: Any, reads: list[Any]) -> None:
        pass  # a seeder that never answers a request: the leechers cannot finish

    monkeypatch.setattr(swarm_demo.ThrottledSession, "_serve", serve_nothing)
    t = demo.tour(tmp_path, io.StringIO(), SWARM_STEP, **{**SMALL, "leechers": 1, "timeout": 3.0})
    assert t.failures[0] == "not finished after 3 s"
    assert "Problems: not finished after 3 s" in t.out.getvalue()


def test_a_peer_the_tracker_never_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from btref.tracker_state import TrackerState

    monkeypatch.setattr(TrackerState, "peers", lambda self, info_hash: [])  # as if every announce failed
    t = demo.tour(tmp_path, io.StringIO(), SWARM_STEP, **{**SMALL, "leechers": 2, "timeout": 0.5})
    assert t.failures[0] == "seed: the tracker never listed it (did its announce fail?)"
    assert t.failures[1:] == [f"leecher-{n}: {tmp_path / 'swarm' / f'leecher-{n}' / swarm_demo.FILE_NAME} is missing"
                              for n in (1, 2)]


def test_the_swarm_is_skipped_after_a_failed_step(tmp_path: Path) -> None:
    def sabotage(t: demo.Tour) -> None:
        t.failures.append("sabotaged")

    t = demo.tour(tmp_path, io.StringIO(), [("sabotage", sabotage), *SWARM_STEP], **SMALL)
    assert t.failures == ["sabotaged"] and t.report is None
    assert "(skipped: an earlier step went wrong)" in t.out.getvalue()
    assert not (tmp_path / "swarm").exists()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--leechers", "0", "expected a number of leechers from 1 to 32"),
    ("--leechers", "many", "expected a number of leechers from 1 to 32"),
    ("--size", "0", "must be more than 0"),
    ("--seed-rate", "fast", "not a size"),
])
def test_bad_options(capsys: pytest.CaptureFixture[str], option: str, value: str, message: str) -> None:
    code, _, err = run(capsys, "demo", option, value)
    assert code == 2 and message in err


def test_help_names_the_swarm_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--help")
    assert code == 0
    for option in ("--size", "--leechers", "--seed-rate", "--timeout", "--workdir"):
        assert option in out


# -- the parts ----------------------------------------------------------------------------


def test_summary_of_an_unfinished_swarm() -> None:
    report = SwarmReport(size=MIB, piece_length=16384, seed_uploaded=0, seconds=1.0, problems=["x"],
                         rows=[PeerResult("leecher-1", None, 0, 0, 0, False)])
    lines = demo.summary_lines(report)
    assert re.match(r"leecher-1 +- +- +0\.0 MiB +0\.0 MiB +0\.0 MiB +DIFFERS", lines[1])
    assert "0.00 x the file size" in "\n".join(lines) and "0.0 MiB (0%)" in "\n".join(lines)
    assert lines[-1] == "Problems: x"
    assert PeerResult("a", None, 0, 0, 0, True).rate(MIB) is None
    assert PeerResult("a", 2.0, 0, 0, 0, True).rate(MIB) == MIB / 2


def test_plain_live_lines_are_rate_limited() -> None:
    out = io.StringIO()
    view = demo.LiveView(out, live=False)
    rows = [{"name": "seed", "fraction": 1.0, "uploaded": MIB, "done": True},
            {"name": "leecher-1", "fraction": 0.5, "uploaded": 0, "done": False}]
    view.show(0.0, rows)
    view.show(0.5, rows)  # within LiveView.EVERY of the last line: not printed
    view.show(1.0, rows)
    rows[1] = {**rows[1], "fraction": 1.0, "done": True}
    view.show(1.1, rows)  # the last state is always printed
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0] == "    0.0 s  L-1  50%  | seed sent 1.0 MiB"
    assert "L-1 100%" in lines[2]


@given(st.integers(min_value=0, max_value=1 << 34))
def test_piece_length_for(size: int) -> None:
    length = piece_length_for(size)
    assert length >= 16 * 1024 and length & (length - 1) == 0
    assert size // length <= 64
    assert length == 16 * 1024 or size // (length // 2) > 64  # the smallest that fits


def test_peer_ids_are_readable_and_20_bytes() -> None:
    assert peer_id_for("seed") == b"-RF0100-seed--------"
    assert len(peer_id_for("leecher-123456789")) == 20


def test_token_bucket() -> None:
    async def main() -> None:
        with pytest.raises(ValueError):
            TokenBucket(0, 1)
        bucket = TokenBucket(rate=1e9, burst=1000)
        assert await bucket.take(500) and await bucket.take(10_000)  # over budget: a short wait
        slow = TokenBucket(rate=1.0, burst=0)  # a take of 1000 bytes would wait 1000 s ...
        waiter = asyncio.ensure_future(slow.take(1000))
        await asyncio.sleep(0)
        slow.close()  # ... but closing wakes it at once, and it says "closed"
        assert await asyncio.wait_for(waiter, 60) is False
        assert await slow.take(1) is False

    asyncio.run(main())


def test_byte_counter_without_a_link_or_a_session() -> None:
    class View:
        key, bytes_downloaded, bytes_uploaded = ("127.0.0.1", 1), 10, 20

    class Session:
        links: dict[Any, Any] = {}
        engine = None

    counter = ByteCounter()
    assert counter.totals() == ({}, {})
    counter.session = Session()  # type: ignore[assignment]
    counter.btref_peer_connected(peer=View())
    assert counter.ids == {("127.0.0.1", 1): b"?"}
    counter.btref_peer_disconnected(peer=View(), reason="gone")
    counter.btref_peer_disconnected(peer=View(), reason="again")  # an unknown key counts as "?" too
    assert counter.totals() == ({b"?": 20}, {b"?": 40})
    assert ByteCounter.family == "observers"


def test_byte_counter_adds_the_open_connections() -> None:
    class Link:
        peer_id = b"-RF0100-seed--------"

    class Peer:
        bytes_downloaded, bytes_uploaded = 5, 7

    class Engine:
        peers = {("127.0.0.1", 2): Peer(), ("127.0.0.1", 3): Peer()}

    class Session:
        links = {("127.0.0.1", 2): Link()}
        engine = Engine()

    class View:
        key = ("127.0.0.1", 2)

    counter = ByteCounter()
    counter.session = Session()  # type: ignore[assignment]
    counter.btref_peer_connected(peer=View())
    seed = Link.peer_id
    assert counter.totals() == ({seed: 5, b"?": 5}, {seed: 7, b"?": 7})


def test_run_swarm_restores_the_exception_handler(tmp_path: Path) -> None:
    def handler(loop: Any, context: dict[str, Any]) -> None:
        pass

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(handler)
        report = await run_swarm(tmp_path, demo.sample_bytes("x", 64 * 1024), leechers=1, seed_rate=MIB,
                                 timeout=120)
        assert loop.get_exception_handler() is handler
        return report

    report = asyncio.run(main())
    assert report.problems == [] and report.rows[0].identical


def test_quiet_cancellations_passes_other_errors_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        swarm_demo._quiet_cancellations(loop, {"message": "cancelled", "exception": asyncio.CancelledError()})
        assert "cancelled" not in caplog.text
        swarm_demo._quiet_cancellations(loop, {"message": "a real problem", "exception": RuntimeError("x")})
        assert "a real problem" in caplog.text
    finally:
        loop.close()


def test_closing_a_link_to_a_peer_that_stopped_reading_does_not_hang() -> None:
    """The demo's sessions stop one after the other; a link whose peer no longer reads
    (the kernel buffers are full) must not hold ``stop`` forever (btref.net.peer_io)."""
    from btref.connection import Connection
    from btref.net.peer_io import PeerLink

    async def main() -> None:
        stalled = asyncio.Event()

        async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await stalled.wait()  # accept, then read nothing
            writer.close()

        server = await asyncio.start_server(never_read, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        link = PeerLink(reader, writer, Connection(1, lambda i: 16384, peer_id=b"x" * 20, info_hash=b"y" * 20),
                        ("127.0.0.1", port))
        chunk = b"\0" * (1 << 20)
        while writer.transport.get_write_buffer_size() == 0:  # fill the kernel buffers first
            writer.write(chunk)
            await asyncio.sleep(0)
        link.close()
        await link.wait_closed(timeout=0.05)  # would wait forever without the abort
        assert writer.transport.is_closing()
        stalled.set()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
