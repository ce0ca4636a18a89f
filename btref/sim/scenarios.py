"""Named swarm set-ups for ``btref sim`` and ``btref compare``, and their registry.

A :class:`Scenario` is a name, a one-line summary, default sizes and a ``build`` function
that turns :class:`Params` (peers, pieces, picker, choker, seed) into a :class:`Setup`:
the :class:`~btref.sim.swarm.PeerSpec` list and options for the
:class:`~btref.sim.swarm.Swarm`. Capacities are in blocks of 16 KiB per second (BEP 3's
block), the piece length is one block unless a scenario says otherwise.

Built-in scenarios (the classic experiments of the BitTorrent literature):

``walkthrough``   one seed S and three empty peers A, B, C, 4 pieces, round by round;
``flash-crowd``   everybody arrives at once and stays (Kurose and Ross's setting);
``steady-arrivals`` Poisson arrivals, peers seed for a while after completing, then leave;
``weak-seed``     a seed 4x slower than each peer, 256 KiB pieces: the last pieces (Legout 2006);
``free-riders``   a quarter never upload (``free-rider`` choker); peers leave when done;
``client-server`` the baseline: peers talk only to the seed, which serves everyone;
``seed-as-leecher`` a flash crowd whose seed uploads no faster than a leecher (Bharambe 2006);
``seed-10x``      the same with a seed 10x a leecher: the pickers' gap closes;
``free-riders-seeded`` free riders among many neighbours and a seed per five peers (BitThief).
``upload-classes`` a third of the peers upload 2, 8 and 32 blocks/s each; peers leave when done (Bharambe 2006).

Open swarms (:mod:`btref.sim.open_swarm`: arrivals go on, so the swarm reaches a steady state):

``open``          Poisson arrivals for 600 s; finished peers leave; a fluid model to compare (Qiu and Srikant 2004);
``missing-piece`` the same with an origin seed slower than the arrivals: the one club grows (Hajek and Zhu 2010).

The lessons of the client-server vs peer-to-peer comparison (told by :mod:`btref.sim.lessons`):

``server-leaves``     the client-server baseline whose server leaves halfway: every download stops;
``seed-leaves``       a flash crowd whose only seed leaves at the same moment: the file lives on;
``seed-leaves-early`` the seed leaves sooner, before every piece is out: some pieces are lost;
``liar``              a peer claims every piece and sends corrupt blocks: failed checks, a ban, completion;
``startup``           time to the first verified piece, a server against a swarm, as demand grows;
``privacy``           whose address each peer learns, in a swarm and from a server.

Adding one (a lab's own) is one call to :func:`register` with a :class:`Scenario`;
``btref sim`` and ``btref compare`` find it by name. An installed plugin can bring
scenarios too (see :func:`known`): the DHT plugin's ``dht-lookup`` arrives that way.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from btref.actions import Config
from btref.errors import BtrefError
from btref.wire import BLOCK_SIZE as BLOCK
from btref.sim import lessons, walkthrough
from btref.sim.metrics import summarize
from btref.sim.open_swarm import Census, OpenSwarm, OpenSwarmError, fluid_model, leecher_specs, measure
from btref.sim.open_swarm import report as open_report
from btref.sim.swarm import PeerSpec, Swarm
from btref.sim.virtual import virtual_torrent

__all__ = ["Params", "Setup", "Scenario", "ScenarioError", "SCENARIOS", "register", "get", "known", "run", "play"]


class ScenarioError(BtrefError, LookupError):
    """An unknown scenario name, or sizes a scenario cannot be built with."""


@attrs.frozen
class Params:
    """What the command line may change in a scenario."""

    peers: int
    pieces: int
    picker: str = "rarest-first"
    choker: str = "tit-for-tat"
    seed: int = 0
    #: The seed's upload capacity as a multiple of the scenario's own (``btref sweep --seed-rate``).
    seed_rate: float = 1.0
    #: An open swarm's parameters that differ from the scenario's (:class:`OpenSwarm` field
    #: names and values: ``btref sim open --arrival-rate 2``); only the open scenarios take them.
    open_swarm: tuple[tuple[str, float], ...] = ()


@attrs.frozen
class Setup:
    """A scenario made concrete: the peers, and keyword options for :class:`Swarm`."""

    specs: list[PeerSpec]
    options: dict[str, Any] = attrs.Factory(dict)
    piece_length: int = BLOCK
    #: Virtual seconds after which the run stops even if peers are still downloading.
    until: float = 3600.0
    #: Check every piece with the real ``sha1`` scheme: the torrent carries the digests of
    #: the simulated payloads and the sessions keep their blocks (slower; the walkthrough).
    check_sha1: bool = False


@attrs.frozen
class Scenario:
    """A named, documented swarm set-up.

    Most scenarios give ``build`` (peers for a :class:`Swarm`). An experiment that is not a
    swarm of sessions (a DHT lookup, say) gives ``runner`` instead: it receives the
    :class:`Params` and returns ``(anything, metrics)``, where ``metrics`` is a JSON-ready
    dict with at least a ``"summary"`` dict; ``btref sim`` then prints the summary and
    writes the JSON (the swarm figures need per-peer data, so they are skipped).
    """

    name: str
    summary: str
    build: Callable[[Params], Setup] | None = None
    peers: int = 50
    pieces: int = 100
    runner: Callable[[Params], tuple[Any, dict[str, Any]]] | None = None
    #: For a ``runner`` scenario: draws the runner's result into a folder, returns the files.
    plot: Callable[[Any, Path], list[Path]] | None = None
    #: Tells what a run shows, from its metrics: the lines ``btref sim`` prints after the
    #: summary (for a ``runner`` scenario, instead of the summary's ``key: value`` lines).
    report: Callable[[dict[str, Any]], list[str]] | None = None
    #: The picker and the run seed used when the caller names none (``btref sim`` without
    #: ``--picker`` or ``--seed``).
    picker: str = "rarest-first"
    seed: int = 0


#: Every scenario ``btref sim`` knows, by name.
SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Make ``scenario`` available by name (a later registration of a name replaces it)."""
    SCENARIOS[scenario.name] = scenario
    return scenario


def known() -> dict[str, Scenario]:
    """Every scenario: the built-ins below, and those installed plugins bring.

    A plugin class (any family) with a ``sim_scenarios()`` static method returning
    :class:`Scenario` objects adds them here; that is how the DHT plugin's ``dht-lookup``
    arrives without the simulator importing a plugin. A name registered here first wins.
    """
    from btref import plugins

    for family in plugins.available().values():
        for info in family.values():
            offer = getattr(info.cls, "sim_scenarios", None)
            for scenario in offer() if callable(offer) else ():
                SCENARIOS.setdefault(scenario.name, scenario)
    return SCENARIOS


def get(name: str) -> Scenario:
    """The scenario called ``name``; :class:`ScenarioError` lists the known ones."""
    try:
        return known()[name]
    except KeyError:
        raise ScenarioError(f"no scenario named {name!r} (known: {', '.join(sorted(SCENARIOS))})") from None


# [docs: run]
def run(name: str, *, peers: int | None = None, pieces: int | None = None, picker: str | None = None,
        choker: str = "tit-for-tat", seed: int | None = None, seed_rate: float | None = None, trace: bool = False,
        record_transfers: bool = False, record_addresses: bool = False,
        open_swarm: Mapping[str, float] | None = None) -> tuple[Any, dict[str, Any]]:
    """Build scenario ``name``, play it out, return the swarm (or the runner's result) and
    its metrics.

    ``picker`` and ``choker`` are plugin choices, with parameters if any
    (``"rarest-first:random_first=0"``, see :func:`btref.plugins.parse`); the metrics
    record each one's label and every parameter it ran with. ``picker`` and ``seed`` left
    out are the scenario's (:attr:`Scenario.picker`, :attr:`Scenario.seed`); ``seed_rate``
    multiplies the upload capacity of the scenario's seed (:attr:`Params.seed_rate`);
    ``open_swarm`` changes an open scenario's :class:`~btref.sim.open_swarm.OpenSwarm` fields.
    """
    from btref import plugins

    scenario = get(name)
    picker = scenario.picker if picker is None else picker
    seed = scenario.seed if seed is None else seed
    picker_choice, choker_choice = plugins.parse("pickers", picker), plugins.parse("chokers", choker)
    picker, choker = picker_choice.label, choker_choice.label
    strategies = {"picker": picker, "choker": choker,
                  "picker_params": picker_choice.settings(), "choker_params": choker_choice.settings()}
    params = Params(peers if peers is not None else scenario.peers,
                    pieces if pieces is not None else scenario.pieces, picker, choker, seed,
                    1.0 if seed_rate is None else seed_rate, tuple(sorted((open_swarm or {}).items())))
    if params.peers < 1 or params.pieces < 1:
        raise ScenarioError(f"a swarm needs at least one peer and one piece, got {params.peers} and {params.pieces}")
    if not params.seed_rate > 0:
        raise ScenarioError(f"a seed's upload factor must be above 0, got {params.seed_rate}")
    if name in OPEN_SCENARIOS and peers is not None:
        raise ScenarioError(f"{name}: the number of peers follows from the arrival rate and the horizon; "
                            "leave the number of peers out")
    if params.open_swarm and name not in OPEN_SCENARIOS:
        given = ", ".join(key.replace("_", "-") for key, _ in params.open_swarm)
        raise ScenarioError(f"{given}: only the open scenarios ({', '.join(OPEN_SCENARIOS)}) take these")
    if scenario.runner is not None:
        result, metrics = scenario.runner(params)
        metrics.update(scenario=name, **strategies)
        return result, metrics
    if scenario.build is None:
        raise ScenarioError(f"scenario {name!r} has neither a build nor a runner function")
    swarm, metrics = play(name, params, scenario.build(params), trace=trace, record_transfers=record_transfers,
                          record_addresses=record_addresses)
    metrics.update(strategies)
    return swarm, metrics
# [/docs: run]


def play(name: str, params: Params, setup: Setup, **options: Any) -> tuple[Swarm, dict[str, Any]]:
    """Play ``setup`` out under the name ``name``: the swarm and its metrics. ``options`` are
    more :class:`Swarm` keywords (``trace``, ``record_transfers``, ``record_addresses``)."""
    torrent = virtual_torrent(params.pieces, setup.piece_length, name=name, hashed=setup.check_sha1)
    hashes = ("sha1",) if setup.check_sha1 else ()
    swarm = Swarm(torrent, setup.specs, seed=params.seed, hashes=hashes, **options, **setup.options)
    end = swarm.run(until=setup.until)
    metrics = summarize(swarm, end)
    metrics.update(scenario=name, picker=params.picker, choker=params.choker)
    return swarm, metrics


# -- the built-in scenarios ------------------------------------------------------------------

B = float(BLOCK)  # capacities below are in blocks per second


def _seed(p: Params, upload: float = 8 * B, **fields: Any) -> PeerSpec:
    return PeerSpec("S", upload=upload * p.seed_rate, download=32 * B, seed=True, picker=p.picker, choker=p.choker,
                    **fields)


def _leechers(p: Params, count: int, *, upload: float = 4 * B, download: float = 16 * B,
              arrivals: list[float] | None = None, **fields: Any) -> list[PeerSpec]:
    return [PeerSpec(f"P{i:0{len(str(count - 1))}d}", upload=upload, download=download,
                     arrive=arrivals[i] if arrivals else 0.0, picker=p.picker, choker=p.choker, **fields)
            for i in range(count)]


# [docs: walkthrough]
def _walkthrough(p: Params) -> Setup:
    # The article's rounds: every peer, the seed too, sends and receives up to three
    # pieces a round (one per neighbour among four), so S can feed A, B and C at once in
    # round 1. Each peer asks a neighbour for one piece at a time (a queue of one
    # request), as the article's loop does, and checks every arrival with SHA-1.
    rate = walkthrough.PIECES_PER_ROUND * B / walkthrough.ROUND
    names = [chr(ord("A") + i) for i in range(min(p.peers, 25))]
    peers = [PeerSpec(name, upload=rate, download=rate, seed=name == "S", picker=p.picker, choker=p.choker)
             for name in ["S"] + names]
    options = {"latency": 0.001, "tick_interval": 0.25, "sample_interval": 1.0, "have_window": 0.0,
               "config": Config(min_queue=1, max_queue=1)}
    return Setup(peers, options, until=600.0, check_sha1=True)
# [/docs: walkthrough]


def _flash_crowd(p: Params) -> Setup:
    return Setup([_seed(p)] + _leechers(p, p.peers), {"degree": min(20, p.peers)})


def _steady_arrivals(p: Params) -> Setup:
    rng = random.Random(f"{p.seed}:arrivals")
    rate = 1.0  # arrivals per second (Poisson)
    arrivals, t = [], 0.0
    for _ in range(p.peers):
        t += rng.expovariate(rate)
        arrivals.append(round(t, 6))
    return Setup([_seed(p)] + _leechers(p, p.peers, arrivals=arrivals, linger=20.0), {"degree": min(20, p.peers)})


# [docs: weak-seed]
def _weak_seed(p: Params) -> Setup:
    # Real pieces: 256 KiB, 16 blocks. A leecher asks for one piece at a time (partial
    # pieces first) and each request queue holds a few blocks, so a leecher keeps about
    # one piece queued at the seed. With one-block pieces it keeps four different
    # pieces queued there, for many seconds; they spread through the swarm meanwhile and
    # the seed ends up sending copies the swarm already has whatever the picker.
    blocks = 16
    seed = _seed(p, upload=blocks * B)  # one piece a second, a quarter of a peer's upload
    leechers = _leechers(p, p.peers, upload=4 * blocks * B, download=16 * blocks * B)
    return Setup([seed] + leechers, {"degree": min(20, p.peers), "sample_interval": 1.0},
                 piece_length=blocks * BLOCK)
# [/docs: weak-seed]


def _free_riders(p: Params) -> Setup:
    riders = max(1, p.peers // 4)
    # Peers leave as soon as they complete: a free rider cannot wait for the others to
    # turn into seeds, it must earn (or be lucky with optimistic unchokes).
    specs = _leechers(p, p.peers, linger=0.0)
    for i in range(riders):  # every fourth peer rides for free
        j = i * p.peers // riders
        specs[j] = attrs.evolve(specs[j], choker="free-rider", tags=("free-rider",))
    return Setup([_seed(p)] + specs, {"degree": min(20, p.peers)})


def _client_server(p: Params) -> Setup:
    return Setup([_seed(p)] + _leechers(p, p.peers), {"star": True, "degree": 1, "max_connections": p.peers + 1},
                 until=36000.0)


def _seed_times(factor: float) -> Callable[[Params], Setup]:
    """A flash crowd whose one seed uploads ``factor`` times a leecher's 4 blocks/s; peers
    stay and seed once done (the seed-capacity experiments of Bharambe, Herley and
    Padmanabhan 2006 and Legout et al. 2006)."""
    def build(p: Params) -> Setup:
        return Setup([_seed(p, upload=factor * 4 * B)] + _leechers(p, p.peers),
                     {"degree": min(20, p.peers)})
    return build


def _free_riders_seeded(p: Params) -> Setup:
    # Locher et al.'s (BitThief) conditions: many neighbours and plenty of seeds. Seeds
    # unchoke whoever asks regardless of what it gives back, so a free rider's share of
    # the seeds' upload is a contributor's; only the leechers' upload tells them apart.
    setup = _free_riders(p)
    seeds = [attrs.evolve(_seed(p), name=f"S{i}") for i in range(max(1, p.peers // 5))]
    return Setup(seeds + setup.specs[1:], {"degree": min(50, p.peers + len(seeds) - 1),
                                           "max_connections": 80})


#: Upload capacity of each class of ``upload-classes``, blocks per second (the download is 64 for all).
UPLOAD_CLASSES = {"slow": 2, "medium": 8, "fast": 32}


def _upload_classes(p: Params) -> Setup:
    # Bharambe et al.'s fairness experiment: peers differ only in upload capacity, so the
    # share ratio of each class shows who pays for whom. Downloads are ample (64 blocks/s)
    # so no class is held back by its downlink; peers leave when done, as theirs did.
    classes = list(UPLOAD_CLASSES)
    specs = _leechers(p, p.peers, download=64 * B, linger=0.0)
    for i, spec in enumerate(specs):
        name = classes[i % len(classes)]
        specs[i] = attrs.evolve(spec, upload=UPLOAD_CLASSES[name] * B, tags=(name,))
    return Setup([_seed(p)] + specs, {"degree": min(20, p.peers)})


# -- the lessons of the client-server vs peer-to-peer table (told by btref.sim.lessons) ------


def _leaves(copies: float, *, star: bool = False) -> Callable[[Params], Setup]:
    """A flash crowd (with ``star``: the client-server baseline) whose seed leaves once it
    had the time to upload ``copies`` copies' worth of the file; the run goes on 5 minutes."""
    def build(p: Params) -> Setup:
        setup = _client_server(p) if star else _flash_crowd(p)
        seed, *leechers = setup.specs
        leave = copies * p.pieces * setup.piece_length / seed.upload
        return attrs.evolve(setup, specs=[attrs.evolve(seed, leave_at=leave), *leechers], until=leave + 300.0)
    return build


def _liar(p: Params) -> Setup:
    # A second seed that lies: it claims every piece and uploads as fast as the honest one.
    # Every peer meets it (degree: everyone), so every peer must catch it.
    setup = _flash_crowd(p)
    seed, *leechers = setup.specs
    liar = attrs.evolve(seed, name="L", lies=True, tags=("liar",))
    return attrs.evolve(setup, specs=[seed, liar, *leechers], options={"degree": min(20, p.peers + 1)})


def _server(p: Params) -> Setup:
    """The client-server baseline with a server that answers every client at once, as a web
    server does (a seed's tit-for-tat serves 3 + 1 of them at a time)."""
    setup = _client_server(p)
    server, *clients = setup.specs
    return attrs.evolve(setup, specs=[attrs.evolve(server, choker="unchoke-all"), *clients])


def _startup(p: Params) -> tuple[None, dict[str, Any]]:
    """``server`` and ``flash-crowd`` for p.peers, p.peers / 2, ... down to a sixteenth."""
    rows = []
    for n in sorted({max(1, p.peers >> k) for k in range(5)}):
        sized = attrs.evolve(p, peers=n)
        row: dict[str, Any] = {"peers": n}
        for label, build in (("server", _server), ("swarm", _flash_crowd)):
            _, m = play(label, sized, build(sized))
            row[label] = {key: m["summary"][key] for key in
                          ("first_block_mean", "first_piece_mean", "first_piece_max", "mean_download_time",
                           "last_completion")}
        rows.append(row)
    last = rows[-1]
    summary = {f"{label}_{key}": last[label][key] for label in ("server", "swarm")
               for key in ("first_piece_mean", "first_piece_max", "last_completion")}
    return None, {"pieces": p.pieces, "summary": {"peers": last["peers"], **summary}, "rows": rows}


def _privacy(p: Params) -> tuple[None, dict[str, Any]]:
    """A flash crowd and the client-server baseline, recording who learned whose address."""
    metrics: dict[str, Any] = {"pieces": p.pieces, "summary": {}}
    for label, build in (("swarm", _flash_crowd), ("client-server", _client_server)):
        _, m = play(label, p, build(p), record_addresses=True)
        metrics[label] = [{key: peer[key] for key in ("name", "seed", "learned", "known_by", "down_from")}
                          for peer in m["peers"]]
        for key in ("addresses_learned_mean", "known_by_mean", "known_by_max"):
            metrics["summary"][f"{label}_{key}".replace("-", "_")] = m["summary"][key]
    return None, metrics


# -- open swarms: arrivals go on (btref.sim.open_swarm) ----------------------------------------

#: The open scenarios' parameters (the rest are :class:`OpenSwarm`'s defaults). ``open``:
#: finished peers leave at once, so the leechers' upload is the bottleneck (Qiu and
#: Srikant's upload-limited regime). ``missing-piece``: Hajek and Zhu's set-up, an origin
#: seed uploading half a piece (one block) for each arrival: the population grows.
OPEN_SCENARIOS = {"open": OpenSwarm(),
                  "missing-piece": OpenSwarm(seed_upload=0.5, horizon=300.0, warm_up=100.0)}


def _open(name: str) -> Callable[[Params], tuple[Swarm, dict[str, Any]]]:
    """Run the open scenario ``name``: its arrivals until the horizon, then the drain until
    the last of them finishes (at most ``4 * horizon``); the metrics add the time averages
    (``open``), the fluid model's fixed point (``model``, eta = 1), the census of leechers
    and seeds over time (``population``: time, x, y) and of the rarest piece's holders."""
    def runner(p: Params) -> tuple[Swarm, dict[str, Any]]:
        try:
            changes: dict[str, Any] = dict(p.open_swarm)
            o = attrs.evolve(OPEN_SCENARIOS[name], **changes)
            o = attrs.evolve(o, seed_upload=o.seed_upload * p.seed_rate)
            o.check()
        except (TypeError, OpenSwarmError) as e:
            raise ScenarioError(f"{name}: {e}") from None
        origin = PeerSpec("S", upload=o.seed_upload * B, download=32 * B, seed=True, picker=p.picker,
                          choker=p.choker)
        specs = [origin] + leecher_specs(o, random.Random(f"{p.seed}:arrivals"), picker=p.picker, choker=p.choker)
        swarm = Swarm(virtual_torrent(p.pieces, BLOCK, name=name), specs, seed=p.seed, degree=20,
                      sample_interval=o.sample_interval, config=o.config())
        census = Census(swarm, o.sample_interval)
        end = swarm.run(until=4 * o.horizon)
        metrics = summarize(swarm, end)
        found = measure(census, o)
        model = fluid_model(o, p.pieces)
        metrics.update(scenario=name, open_swarm=attrs.asdict(o), open=found, model=model,
                       model_measured_eta=fluid_model(o, p.pieces, found["eta"]) if found["eta"] else None,
                       population=census.samples, rarest_holders=census.rarest, one_club=census.club,
                       holders_at_end=census.holders)
        # Kurose and Ross's bound is for peers that all arrive at once: no ratio to it here.
        metrics["summary"]["over_bound"] = None
        metrics["summary"].update({key: found[key] for key in ("leechers_mean", "seeds_mean", "eta")},
                                  model_leechers=model["leechers"], model_download_time=model["download_time"])
        return swarm, metrics
    return runner


for _scenario in (
    Scenario("walkthrough", "one seed S and three empty peers A, B, C; 4 pieces, round by round",
             _walkthrough, peers=3, pieces=4, picker=walkthrough.PICKER, seed=walkthrough.SEED),
    Scenario("flash-crowd", "everybody arrives at once and stays; one seed", _flash_crowd),
    Scenario("steady-arrivals", "Poisson arrivals (1/s); peers seed 20 s after completing, then leave",
             _steady_arrivals),
    Scenario("weak-seed", "a seed 4x slower than each peer (one 256 KiB piece/s): the last-pieces problem", _weak_seed),
    Scenario("free-riders", "a quarter of the peers never upload (choker free-rider); peers leave when done",
             _free_riders),
    Scenario("client-server", "the baseline: peers talk only to the seed, which serves everyone", _client_server),
    Scenario("seed-as-leecher", "a flash crowd whose seed uploads no faster than a leecher (rarest first vs random)",
             _seed_times(1), peers=200, pieces=100),
    Scenario("seed-10x", "a flash crowd whose seed uploads 10x a leecher (rarest first vs random)",
             _seed_times(10), peers=200, pieces=100),
    Scenario("free-riders-seeded", "free-riders with a seed per five peers and 50 neighbours each (BitThief)",
             _free_riders_seeded),
    Scenario("upload-classes", "peers upload 2, 8 or 32 blocks/s (a third each), download 64; leave when done",
             _upload_classes, peers=60, pieces=200),
    Scenario("server-leaves", "client-server; the server leaves after the time to send the file twice",
             _leaves(2, star=True), peers=20, pieces=40, report=lessons.departures),
    Scenario("seed-leaves", "a flash crowd; its only seed leaves after the time to send the file twice",
             _leaves(2), peers=20, pieces=40, report=lessons.departures),
    Scenario("seed-leaves-early", "a flash crowd; its only seed leaves after the time to send the file once",
             _leaves(1), peers=20, pieces=40, report=lessons.departures),
    Scenario("liar", "a peer claims every piece and sends corrupt blocks: failed hash checks, a ban, completion",
             _liar, peers=8, pieces=40, report=lessons.liar),
    Scenario("startup", "time to the first verified piece, a server against a swarm, as peers grow",
             runner=_startup, peers=80, pieces=40, report=lessons.startup),
    Scenario("privacy", "whose address each peer learns, in a swarm and from a server",
             runner=_privacy, peers=8, pieces=20, report=lessons.privacy),
    Scenario("open", "an open swarm: Poisson arrivals (1/s) for 600 s, peers leave when done; "
             "--arrival-rate, --seed-time (the fluid model of Qiu and Srikant)", runner=_open("open"),
             pieces=100, report=open_report),
    Scenario("missing-piece", "an open swarm whose seed uploads half a block per arrival: the one club "
             "grows (Hajek and Zhu)", runner=_open("missing-piece"), pieces=40, report=open_report),
):
    register(_scenario)
