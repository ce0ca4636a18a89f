"""Mainline choking timing on real sockets, and the same swarm in the simulator (BEP 3
"choking"; Cohen 2003, "Incentives Build Robustness in BitTorrent", sections 3.1-3.4).

Mainline BitTorrent rechokes every 10 s, unchokes a fixed number of peers, rotates one
optimistic unchoke every 30 s (a peer connected for less than a minute three times as
likely to get it), treats a peer that sent nothing for 60 s as snubbed, and in end game
cancels the duplicate requests. This experiment checks that btref does the same on real
sockets, where the event loop's timer and the machine's load move every deadline:

* a tracker, a seed, a *staller* (a second seed that stops sending blocks after
  ``stall_at`` seconds, as a peer whose uplink died; it stays connected and keeps its
  choke rounds) and ``peers`` btref leechers arriving one every ``arrive_every`` seconds,
  each a :class:`~btref.net.driver.Client` on 127.0.0.1 with ``--upload-limit``, the
  tit-for-tat choker and a seeded ``random.Random`` (``SEED:NAME``, as the simulator
  seeds its peers), plus one libtorrent leecher arriving among them;
* every client writes its ``--events`` log (``NAME.jsonl`` in ``--out``), with a
  :class:`~btref.net.events.ChokeLog` adding each choker answer (``choke_decision``:
  ``now``, periodic round and its due time, unchoked, optimistic picks and their pool);
* the same peers, arrivals, capacities, seeds and ``Config`` then run in the simulator
  (:class:`btref.sim.swarm.Swarm`; the libtorrent peer is a btref leecher there, and the
  staller leaves at ``stall_at``, as the simulator has no stalled uplink), and the two
  decision sequences are compared where they can match.

Run (about four minutes of wall time; the figures of ``docs/reproductions.md``)::

    .venv/bin/python bench/mainline.py --out /tmp/mainline

``--analyse DIR`` prints the report of an earlier run again from its logs. Nothing is
asserted here: ``tests/test_mainline_timing.py`` runs a small, scaled-down version (a
1 s rechoke) with its checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import time
from collections.abc import Hashable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import attrs  # noqa: E402

from btref.actions import Config, Event  # noqa: E402
from btref.hookspecs import hookimpl  # noqa: E402
from btref.io.create import create_torrent  # noqa: E402
from btref.metainfo import parse  # noqa: E402
from btref.net.driver import Client  # noqa: E402
from btref.net.events import ChokeLog, read_events  # noqa: E402
from btref.net.swarm_demo import peer_id_for  # noqa: E402
from btref.net.tracker_server import serve_tracker  # noqa: E402
from btref.sim.swarm import PeerSpec, SimPeer, Swarm  # noqa: E402
from btref.sim.virtual import virtual_torrent  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.actions import ReadBlock
    from btref.views import PeerView

FILE = "mainline.bin"
LIBTORRENT = "libtorrent"


@attrs.frozen
class Setup:
    """One run's parameters; the defaults are the full experiment, :meth:`scaled` the test's."""

    peers: int = 20  # btref leechers
    pieces: int = 48
    piece_length: int = 64 * 1024
    upload_limit: float = 32 * 1024  # bytes/s, every btref peer and the libtorrent peer
    arrive_every: float = 3.0  # one leecher every this many seconds
    libtorrent_after: int = 10  # the libtorrent peer arrives after this many btref leechers
    stall_at: float = 40.0  # seconds after the start, the staller stops sending blocks
    rechoke: float = 10.0  # Config.rechoke_interval
    optimistic: float = 30.0  # tit-for-tat's optimistic_interval
    new_peer_age: float = 60.0  # tit-for-tat's new_peer_age
    snub: float = 60.0  # Config.snub_timeout (and request_timeout)
    tick: float = 1.0  # the driver's tick
    slots: int = 4  # tit-for-tat's regular_slots + optimistic_slots (3 + 1)
    seed: int = 0
    libtorrent: bool = True
    timeout: float = 900.0

    @classmethod
    def scaled(cls, factor: float, **changes: Any) -> Setup:
        """Every interval divided by ``factor`` (the tick too: it is the timers' resolution)."""
        base = cls()
        times = {name: getattr(base, name) / factor
                 for name in ("arrive_every", "stall_at", "rechoke", "optimistic", "new_peer_age", "snub", "tick")}
        return cls(**{**times, **changes})

    def config(self) -> Config:
        return Config(rechoke_interval=self.rechoke, snub_timeout=self.snub, request_timeout=self.snub,
                      refill_fraction=0.25, slow_start=True)

    def choker(self) -> str:
        return f"tit-for-tat:optimistic_interval={self.optimistic},new_peer_age={self.new_peer_age}"

    def arrivals(self) -> list[tuple[str, float]]:
        """``(name, seconds after the start)`` of every peer, in order of arrival."""
        order = [("seed", 0.0), ("staller", 0.0)]
        for n in range(1, self.peers + 1):
            order.append((f"peer-{n:02d}", n * self.arrive_every))
            if self.libtorrent and n == self.libtorrent_after:
                order.append((LIBTORRENT, n * self.arrive_every + self.arrive_every / 2))
        return order


# -- the real swarm ------------------------------------------------------------------------


class Staller(Client):
    """A seed whose uplink dies: once ``stalled``, the blocks it is asked for are never sent."""

    stalled = False

    async def _serve(self, reads: list[ReadBlock]) -> None:
        if not self.stalled:
            await super()._serve(reads)


class Names:
    """An observer: logs which remote peer id (as a name) each connection key is."""

    family = "observers"
    name = "names"

    def __init__(self) -> None:
        self.client: Client | None = None

    @hookimpl
    def btref_peer_connected(self, peer: PeerView) -> None:
        assert self.client is not None
        self.client.event("peer_name", {"peer": str(peer.key), "name": name_of(self.client, peer.key)})


def name_of(client: Client, key: Hashable) -> str:
    """The name in a peer id of this experiment (``peer_id_for``); libtorrent's is ``-LT``."""
    link = client.links.get(key)
    pid = link.peer_id if link is not None and link.peer_id else b""
    if pid.startswith(b"-RF0100-"):
        return pid[8:].decode("ascii", "replace").rstrip("-")
    return LIBTORRENT if pid.startswith(b"-LT") else str(key)


def lt_settings(lt: Any, upload_limit: float) -> dict[str, Any]:
    """A libtorrent session on 127.0.0.1 only, plain TCP, as tests/ltsession.py makes them."""
    return {"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
            "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True, "out_enc_policy": lt.enc_policy.disabled,
            "in_enc_policy": lt.enc_policy.disabled, "allowed_enc_level": lt.enc_level.plaintext,
            "upload_rate_limit": int(upload_limit), "alert_mask": 0}


async def run_real(setup: Setup, out: Path, say: Any = print) -> dict[str, Any]:
    """Run the swarm on loopback; write every client's log and ``manifest.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jsonl"):  # a fresh run: no log or download of an earlier one
        old.unlink()
    for name, _ in setup.arrivals():
        shutil.rmtree(out / name, ignore_errors=True)
    data = random.Random(setup.seed).randbytes(setup.pieces * setup.piece_length)
    for name in ("seed", "staller"):
        (out / name).mkdir(exist_ok=True)
        (out / name / FILE).write_bytes(data)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancellations)
    clients: dict[str, Client] = {}
    lt_session = lt_handle = None
    manifest: dict[str, Any] = {"setup": attrs.asdict(setup), "started": {}}
    async with serve_tracker("127.0.0.1", http_port=0, udp_port=None, interval=30) as tracker:
        raw = create_torrent(out / "seed" / FILE, version="v1", piece_length=setup.piece_length,
                             trackers=[[tracker.http_url]], creation_date=0)
        (out / "mainline.torrent").write_bytes(raw)
        torrent = parse(raw)
        t0 = manifest["t0"] = loop.time()
        try:
            for name, at in setup.arrivals():
                await asyncio.sleep(max(0.0, t0 + at - loop.time()))
                if name == LIBTORRENT:
                    lt_session, lt_handle = _start_libtorrent(setup, raw, out, clients)
                    manifest["started"][name] = loop.time()
                    continue
                names = Names()
                cls = Staller if name == "staller" else Client
                client = cls(torrent, out / name, host="127.0.0.1", discovery=("http-tracker",),
                             peer_id=peer_id_for(name), seed=True, events=out / f"{name}.jsonl",
                             config=setup.config(), choker=setup.choker(), observers=(names,),
                             upload_limit=setup.upload_limit, rng=random.Random(f"{setup.seed}:{name}"),
                             tick=setup.tick)
                names.client = client
                clients[name] = client
                await client.start()
                assert client.engine is not None
                ChokeLog(client.engine, client.event, partial(name_of, client))
                manifest["started"][name] = client.started_at
                if name == "staller":
                    loop.call_at(t0 + setup.stall_at, _stall, client)
            await _follow(setup, clients, lt_handle, t0, say)
        finally:
            manifest["ended"] = loop.time()
            for client in clients.values():
                await client.stop()
            if lt_session is not None:
                manifest["libtorrent_done"] = bool(lt_handle is not None and lt_handle.status().is_seeding)
                lt_session.pause()
                for handle in lt_session.get_torrents():
                    lt_session.remove_torrent(handle)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Python 3.11's ``start_server`` reports a connection task cancelled at shutdown as an
    error; a cancellation is no error here (as in :mod:`btref.net.swarm_demo`)."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def _stall(client: Client) -> None:
    assert isinstance(client, Staller)
    client.stalled = True
    client.event("stalled", {"now": client.loop.time()})


def _start_libtorrent(setup: Setup, raw: bytes, out: Path, clients: dict[str, Client]) -> tuple[Any, Any]:
    lt: Any = __import__("libtorrent")  # the PyPI binding (a test dependency); --no-libtorrent skips it

    session = lt.session(lt_settings(lt, setup.upload_limit))
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(lt.bdecode(raw))
    params.save_path = str(out / LIBTORRENT)
    handle = session.add_torrent(params)
    for client in clients.values():  # the later arrivals find it through the tracker
        handle.connect_peer(("127.0.0.1", client.port))
    return session, handle


async def _follow(setup: Setup, clients: dict[str, Client], lt_handle: Any, t0: float, say: Any) -> None:
    """Wait until every leecher is complete (or ``timeout``), printing progress now and then."""
    loop = asyncio.get_running_loop()
    last = 0.0
    while True:
        leechers = [c for n, c in clients.items() if n.startswith("peer-")]
        done = sum(c.complete.is_set() for c in leechers)
        lt_done = lt_handle is None or lt_handle.status().is_seeding
        now = loop.time()
        if now - last >= 15:
            last = now
            say(f"  {now - t0:6.1f} s: {done}/{setup.peers} btref leechers complete"
                + ("" if lt_handle is None else f", libtorrent {lt_handle.status().progress:.0%}"))
        if len(leechers) == setup.peers and done == setup.peers and lt_done:
            return
        failed = [f"{n}: {c.error}" for n, c in clients.items() if c.error]
        if failed:
            raise RuntimeError("; ".join(failed))
        if now - t0 > setup.timeout:
            raise RuntimeError(f"not complete after {setup.timeout:g} s")
        await asyncio.sleep(0.25)


# -- the same swarm in the simulator ------------------------------------------------------


class RecordingSwarm(Swarm):
    """A :class:`Swarm` whose every session has a :class:`ChokeLog` writing to ``records``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        super().__init__(*args, **kwargs)

    def _arrive(self, key: int, spec: PeerSpec) -> None:
        super()._arrive(key, spec)
        log = self.records.setdefault(spec.name, [])

        def write(name: str, fields: dict[str, Any]) -> None:
            log.append({"event": name, **fields})

        ChokeLog(self.peers[key].session, write, lambda k: self.specs[k].name if isinstance(k, int) else str(k))

    def _event(self, peer: SimPeer, event: Event) -> None:
        super()._event(peer, event)
        if event.name == "rechoke":  # a round carried out, as the asyncio driver logs it
            self.records[peer.name].append({"event": "rechoke", "now": self.loop.now})


def run_sim(setup: Setup) -> dict[str, list[dict[str, Any]]]:
    """The same peers in the simulator; each peer's ``choke_decision`` records, by name."""
    fast = 100 * setup.upload_limit  # loopback: the download side is never the bottleneck
    specs = []
    for name, at in setup.arrivals():
        seed = name in ("seed", "staller")
        specs.append(PeerSpec(name, upload=setup.upload_limit, download=fast, seed=seed, arrive=at,
                              choker=setup.choker(), leave_at=setup.stall_at if name == "staller" else None))
    torrent = virtual_torrent(setup.pieces, setup.piece_length)
    swarm = RecordingSwarm(torrent, specs, seed=setup.seed, latency=0.001, degree=len(specs),
                           max_connections=len(specs) + 10, tick_interval=setup.tick, config=setup.config())
    swarm.run(until=setup.timeout)
    return swarm.records


# -- the checks ----------------------------------------------------------------------------


def load_real(out: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The manifest and every btref client's events, ``now`` added to each (``start`` + ``t``)."""
    manifest = json.loads((out / "manifest.json").read_text())
    logs = {}
    for name, started in manifest["started"].items():
        path = out / f"{name}.jsonl"
        if path.exists():
            events = read_events(path)
            for e in events:
                e.setdefault("now", started + e["t"])
            logs[name] = events
    return manifest, logs


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def new_peer_weight(picks: list[tuple[int, int, bool]]) -> float | None:
    """The weight w that makes the expected number of new peers picked equal the number
    picked, when each pick draws a new peer with probability w n / (w n + o) (``picks``:
    ``(n new in the pool, o old, a new one was picked)``, pools with both kinds only)."""
    picks = [p for p in picks if p[0] and p[1]]
    observed = sum(new for _, _, new in picks)
    if not picks or observed in (0, len(picks)):
        return None

    def expected(w: float) -> float:
        return sum(w * n / (w * n + o) for n, o, _ in picks)

    lo, hi = 1e-3, 1e3
    for _ in range(100):  # bisection on log w: expected() grows with w
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if expected(mid) < observed else (lo, mid)
    return float((lo * hi) ** 0.5)


def check_decisions(setup: Setup, logs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What the choke decisions show, pooled over the peers: the figures the report prints."""
    intervals, late, steps, sizes, rotations_s, rotations_rounds = [], [], [], [], [], []
    downloaders = 0  # the most peers unchoked and interested that a choker call found
    excess: list[float] = []
    excess_s = 0.0
    picks: list[tuple[int, int, bool]] = []
    outside_pool = 0
    per_peer: dict[str, Any] = {}
    for name, events in logs.items():
        decisions = [e for e in events if e["event"] == "choke_decision"]
        rounds = [d for d in decisions if d["round"]]
        for a, b in zip(rounds, rounds[1:]):
            intervals.append(b["now"] - a["now"])
            steps.append((b["due"] - a["due"]) / setup.rechoke)
        late += [d["now"] - d["due"] for d in rounds]
        sizes += [len(d["chosen"]) for d in rounds]
        downloaders = max(downloaders, max((len(d["downloaders"]) for d in decisions), default=0))
        # More downloaders than slots (a peer came back interested while still unchoked):
        # how long, from the first call that found it to the next round carried out (a
        # ``rechoke`` event; the simulator's records have none) or call that found no more.
        began = None
        for e in events:
            if e["event"] == "choke_decision" and len(e["downloaders"]) > setup.slots:
                excess.append(e["now"])
                began = e["now"] if began is None else began
            elif began is not None and (e["event"] == "rechoke" or e["event"] == "choke_decision"):
                excess_s, began = max(excess_s, e["now"] - began), None
        rotated = [d for d in decisions if d.get("rotated")]
        round_index = {id(d): i for i, d in enumerate(rounds)}
        for a, b in zip(rotated, rotated[1:]):
            rotations_s.append(b["now"] - a["now"])
            if id(a) in round_index and id(b) in round_index:
                rotations_rounds.append(round_index[id(b)] - round_index[id(a)])
        for d in rotated:
            for pick in d["optimistic"]:
                if pick not in d["pool_new"] and pick not in d["pool_old"]:
                    outside_pool += 1
            if d["optimistic"]:
                picks.append((len(d["pool_new"]), len(d["pool_old"]), d["optimistic"][0] in d["pool_new"]))
        per_peer[name] = {"rounds": len(rounds), "rotations": len(rotated),
                          "rotations_at_fill": sum(1 for d in rotated if not d["round"]),
                          "sequence": [(d["due"], sorted(d["chosen"]), d.get("optimistic", []), bool(d.get("rotated")))
                                       for d in rounds]}
    informative = [p for p in picks if p[0] and p[1]]
    return {
        "intervals": _stats(intervals), "late": _stats(late),
        "skipped_rounds": sum(1 for s in steps if round(s) > 1),
        "off_schedule": sum(1 for s in steps if abs(s - round(s)) > 1e-6 or round(s) < 1),
        "max_chosen": max(sizes, default=0), "max_downloaders": downloaders,
        "excess_calls": len(excess), "excess_s": excess_s, "rotation_s": _stats(rotations_s),
        "rotation_rounds": {k: rotations_rounds.count(k) for k in sorted(set(rotations_rounds))},
        "rotations": sum(p["rotations"] for p in per_peer.values()),
        "rotations_at_fill": sum(p["rotations_at_fill"] for p in per_peer.values()),
        "picks": len(picks), "picks_list": picks, "picks_informative": len(informative),
        "new_picked": sum(new for _, _, new in informative),
        "new_expected_uniform": sum(n / (n + o) for n, o, _ in informative),
        "new_weight": new_peer_weight(picks), "outside_pool": outside_pool, "per_peer": per_peer,
    }


def check_real(setup: Setup, manifest: dict[str, Any], logs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """:func:`check_decisions` plus what only the real logs have: the unchoked sets as
    carried out, snubbing, end game, cancels, the libtorrent peer."""
    report = check_decisions(setup, logs)
    max_unchoked, early = 0, 0
    snubs, endgames, cancels_in_endgame, cancels_other, timeouts, lt_chosen = [], 0, 0, 0, 0, 0
    stall = next((e["now"] for e in logs.get("staller", []) if e["event"] == "stalled"), None)
    for name, events in logs.items():
        keys: dict[str, str] = {}
        unchoked: set[str] = set()
        in_endgame = False
        early += (sum(1 for e in events if e["event"] == "rechoke")
                  - sum(1 for e in events if e["event"] == "choke_decision" and e["round"]))
        for e in events:
            kind = e["event"]
            if kind == "peer_name":
                keys[e["peer"]] = e["name"]
            elif kind == "rechoke":
                unchoked = set(e["unchoked"])
            elif kind == "unchoke":
                unchoked |= set(e["unchoked"])
            elif kind == "peer_disconnected":
                unchoked.discard(e["peer"])
            elif kind == "snubbed":
                snubs.append({"by": name, "peer": keys.get(e["peer"], e["peer"]), "after": e["now"] - e["since"],
                              "after_stall": None if stall is None else e["now"] - stall})
            elif kind == "endgame":
                in_endgame, endgames = True, endgames + 1
            elif kind == "cancel":
                if in_endgame:
                    cancels_in_endgame += 1
                else:
                    cancels_other += 1
            elif kind == "request_timeout":
                timeouts += 1
            elif kind == "choke_decision" and LIBTORRENT in e["chosen"]:
                lt_chosen += 1
            max_unchoked = max(max_unchoked, len(unchoked))
    report.update(max_unchoked=max_unchoked, early_rounds=early, snubs=snubs, endgames=endgames,
                  cancels_in_endgame=cancels_in_endgame, cancels_other=cancels_other, request_timeouts=timeouts,
                  libtorrent_chosen=lt_chosen, libtorrent_done=manifest.get("libtorrent_done"),
                  seconds=manifest["ended"] - manifest["t0"])
    return report


def compare(real: dict[str, Any], sim: dict[str, Any]) -> dict[str, Any]:
    """Round by round, peer by peer (the peers in both): where the two decision sequences agree."""
    rounds = same_size = same_rotation = same_optimistic = same_set = rotations = 0
    for name, mine in real["per_peer"].items():
        theirs = sim["per_peer"].get(name)
        if theirs is None:
            continue
        for (_, chosen_a, opt_a, rot_a), (_, chosen_b, opt_b, rot_b) in zip(mine["sequence"], theirs["sequence"]):
            rounds += 1
            same_size += len(chosen_a) == len(chosen_b)
            same_rotation += rot_a == rot_b
            same_set += chosen_a == chosen_b
            if rot_a and rot_b:
                rotations += 1
                same_optimistic += opt_a == opt_b
    return {"rounds": rounds, "same_size": same_size, "same_rotation": same_rotation, "same_set": same_set,
            "rotations_both": rotations, "same_optimistic": same_optimistic}


# -- the report ----------------------------------------------------------------------------


def _fmt(stats: dict[str, float], unit: str = "s") -> str:
    if not stats.get("n"):
        return "none"
    return f"mean {stats['mean']:.3f} {unit}, min {stats['min']:.3f}, max {stats['max']:.3f} (n={stats['n']:.0f})"


def print_report(setup: Setup, real: dict[str, Any], sim: dict[str, Any] | None, say: Any = print) -> None:
    say(f"real sockets: {setup.peers} btref leechers + seed + staller"
        + (" + libtorrent" if setup.libtorrent else "") + f", {real['seconds']:.0f} s")
    say(f"  rechoke interval      {_fmt(real['intervals'])}   claim {setup.rechoke:g} +/- {setup.tick:g} s")
    say(f"  round late after due  {_fmt(real['late'])}; off schedule {real['off_schedule']},"
        f" skipped {real['skipped_rounds']}")
    say(f"  unchoked              {real['max_chosen']} chosen per round at most, {real['max_downloaders']}"
        f" unchoked and interested at once (slots {setup.slots}; more at {real['excess_calls']} calls,"
        f" for {real['excess_s']:.2f} s at most); {real['max_unchoked']} unchoked at once counting those"
        f" that lost interest; early rounds {real['early_rounds']}")
    say(f"  optimistic rotation   {_fmt(real['rotation_s'])}   claim {setup.optimistic:g} s;"
        f" rounds apart {real['rotation_rounds']}; at a fill {real['rotations_at_fill']}/{real['rotations']}")
    weight = real["new_weight"]
    say(f"  new peers picked      {real['new_picked']} of {real['picks_informative']} mixed pools"
        f" (uniform would give {real['new_expected_uniform']:.1f}); weight"
        f" {'n/a' if weight is None else f'{weight:.2f}'}   claim 3; picks outside the pool {real['outside_pool']}")
    for s in real["snubs"]:
        stall = "" if s["after_stall"] is None else f", {s['after_stall']:.2f} s after the stall"
        say(f"  snubbed               {s['peer']} by {s['by']}: {s['after']:.2f} s after its last block{stall}"
            f"   claim {setup.snub:g} s")
    if not real["snubs"]:
        say("  snubbed               nobody")
    say(f"  end game              {real['endgames']} peers entered it; {real['cancels_in_endgame']} cancels in"
        f" end game, {real['cancels_other']} before; {real['request_timeouts']} request timeouts")
    if setup.libtorrent:
        say(f"  libtorrent            chosen in {real['libtorrent_chosen']} decisions; complete:"
            f" {real['libtorrent_done']}")
    if sim is None:
        return
    say("simulator: the same peers, arrivals, capacities, seeds and Config")
    say(f"  rechoke interval      {_fmt(sim['intervals'])}; late {_fmt(sim['late'])}")
    say(f"  unchoked              {sim['max_chosen']} chosen per round at most, {sim['max_downloaders']}"
        f" unchoked and interested at once (slots {setup.slots}; more at {sim['excess_calls']} calls,"
        f" for {sim['excess_s']:.2f} s at most)")
    say(f"  optimistic rotation   {_fmt(sim['rotation_s'])}; rounds apart {sim['rotation_rounds']};"
        f" at a fill {sim['rotations_at_fill']}/{sim['rotations']}")
    weight = sim["new_weight"]
    say(f"  new peers picked      {sim['new_picked']} of {sim['picks_informative']} mixed pools"
        f" (uniform {sim['new_expected_uniform']:.1f}); weight {'n/a' if weight is None else f'{weight:.2f}'}")
    c = compare(real, sim)
    n = c["rounds"] or 1
    say(f"real vs simulator, round by round ({c['rounds']} rounds of the peers in both):")
    say(f"  same number unchoked  {c['same_size']} ({c['same_size'] / n:.0%})")
    say(f"  rotation in the same round  {c['same_rotation']} ({c['same_rotation'] / n:.0%})")
    say(f"  same unchoked set     {c['same_set']} ({c['same_set'] / n:.0%})")
    say(f"  same optimistic pick  {c['same_optimistic']} of {c['rotations_both']} rotations in both")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/btref-mainline"), help="folder for logs and data")
    parser.add_argument("--analyse", type=Path, help="print the report of an earlier run from its folder")
    parser.add_argument("--peers", type=int, default=Setup().peers)
    parser.add_argument("--scale", type=float, default=1.0, help="divide every interval by this (test: 10)")
    parser.add_argument("--seed", type=int, default=Setup().seed)
    parser.add_argument("--no-libtorrent", action="store_true", help="leave the libtorrent peer out")
    parser.add_argument("--sim-seeds", type=int, default=10,
                        help="also run the simulator with seeds 0..N-1 for the new-peer weight")
    args = parser.parse_args(argv)
    if args.analyse is not None:
        manifest = json.loads((args.analyse / "manifest.json").read_text())
        setup = Setup(**manifest["setup"])
    else:
        setup = Setup.scaled(args.scale, peers=args.peers, seed=args.seed, libtorrent=not args.no_libtorrent)
        start = time.monotonic()
        asyncio.run(run_real(setup, args.out))
        print(f"swarm done in {time.monotonic() - start:.0f} s wall; logs in {args.out}")
    manifest, logs = load_real(args.analyse or args.out)
    real = check_real(setup, manifest, logs)
    sim = check_decisions(setup, run_sim(setup))
    print_report(setup, real, sim)
    if args.sim_seeds > 1:  # the simulator is cheap: enough optimistic picks for the weight
        picks = []
        for seed in range(args.sim_seeds):
            picks += check_decisions(setup, run_sim(attrs.evolve(setup, seed=seed)))["picks_list"]
        weight = new_peer_weight(picks)
        mixed = [p for p in picks if p[0] and p[1]]
        print(f"simulator, seeds 0..{args.sim_seeds - 1}: {sum(p[2] for p in mixed)} new peers picked of"
              f" {len(mixed)} mixed pools (uniform would give {sum(n / (n + o) for n, o, _ in mixed):.1f});"
              f" weight {'n/a' if weight is None else f'{weight:.2f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
