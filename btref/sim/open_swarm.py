"""An open swarm: leechers arrive for ever, finish, seed a while and leave; its time averages.

The closed scenarios (a flash crowd, a fixed number of arrivals) drain: every peer ends up
done. The models of the BitTorrent literature describe a swarm in *steady state* instead,
fed by a Poisson process of arrivals (BEP 3's peers come and go as they please; the
tracker hands each newcomer some peers present):

* Qiu and Srikant, "Modeling and performance analysis of BitTorrent-like peer-to-peer
  networks" (SIGCOMM 2004): a fluid model of the numbers of leechers x(t) and seeds y(t),
  whose fixed point gives the mean download time (:func:`fluid_model`);
* Hajek and Zhu, "The missing piece syndrome in peer-to-peer communication" (ISIT 2010,
  Stochastic Systems 2011): peers that leave as soon as they finish, fed by one seed of
  upload U_s pieces per unit time; if the arrival rate lambda exceeds U_s, the population
  grows without bound, most of it a "one club" of peers that miss the same one piece.

:class:`OpenSwarm` holds the parameters (arrival rate, how long a finished peer seeds, the
origin seed's upload, when arrivals stop, the warm-up); :func:`leecher_specs` draws the
arrivals and seeding times from a seeded :class:`random.Random`; :class:`Census` rides on
a :class:`~btref.sim.swarm.Swarm`'s event loop and counts, every ``sample_interval``,
leechers, seeds, the upload each class gave, and how many leechers hold each piece.
:func:`measure` turns that into the time averages after the warm-up.

Invariants: the origin seed is peer ``"S"`` and never leaves; it is counted in neither
x(t) nor y(t) (the model adds it as a constant upload, see :func:`fluid_model`). Averages
are over ``[warm_up, horizon]`` only: after ``horizon`` no one arrives and the swarm drains.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import attrs

from btref.actions import Config
import btref.sim.swarm
from btref.sim.swarm import PeerSpec
from btref.wire import BLOCK_SIZE as BLOCK

__all__ = ["OpenSwarm", "OpenSwarmError", "Census", "leecher_specs", "measure", "fluid_model", "report"]


class OpenSwarmError(ValueError):
    """Parameters an open swarm cannot run with (raised as :class:`~btref.sim.scenarios.ScenarioError`)."""


@attrs.frozen
class OpenSwarm:
    """An open swarm's parameters; rates in blocks of 16 KiB per second, times in seconds."""

    #: lambda: leechers arriving per second (a Poisson process).
    arrival_rate: float = 1.0
    #: 1/gamma: mean time a finished leecher stays as a seed (exponential); 0: it leaves at once.
    seed_time: float = 0.0
    #: u_s: the origin seed's upload (it stays for the whole run).
    seed_upload: float = 8.0
    #: Each leecher's upload (mu times the file) and download (c times the file).
    upload: float = 4.0
    download: float = 16.0
    #: Arrivals stop at ``horizon``; averages are taken over ``[warm_up, horizon]``.
    horizon: float = 600.0
    warm_up: float = 200.0
    sample_interval: float = 1.0
    #: Each leecher's request queue (:class:`~btref.actions.Config` ``min_queue`` and
    #: ``pipeline_seconds``; ``None``: the engine's default). Short queues start end game
    #: later, which matters when the downlink is the bottleneck (``docs/reproductions.md``).
    min_queue: int | None = None
    pipeline_seconds: float | None = None

    def config(self) -> Config:
        """The engine configuration of every peer: the default, with the queue set here."""
        config = Config()
        if self.min_queue is not None:
            config = attrs.evolve(config, min_queue=int(self.min_queue))
        if self.pipeline_seconds is not None:
            config = attrs.evolve(config, pipeline_seconds=self.pipeline_seconds)
        return config

    def check(self) -> None:
        """Raise :class:`OpenSwarmError` if a run could not make sense of these numbers."""
        for name in ("arrival_rate", "seed_upload", "upload", "download", "horizon", "sample_interval"):
            if not getattr(self, name) > 0:
                raise OpenSwarmError(f"{name.replace('_', '-')} must be above 0, got {getattr(self, name)}")
        if not 0 <= self.seed_time < math.inf:
            raise OpenSwarmError(f"seed-time must be 0 or more seconds, got {self.seed_time}")
        if self.min_queue is not None and not (self.min_queue >= 1 and self.min_queue == int(self.min_queue)):
            raise OpenSwarmError(f"min-queue must be a whole number of requests, 1 or more, got {self.min_queue}")
        if self.pipeline_seconds is not None and not self.pipeline_seconds > 0:
            raise OpenSwarmError(f"pipeline-seconds must be above 0, got {self.pipeline_seconds}")
        if not 0 <= self.warm_up < self.horizon:
            raise OpenSwarmError(f"warm-up must be at least 0 and below the horizon {self.horizon}, "
                                 f"got {self.warm_up}")


def leecher_specs(o: OpenSwarm, rng: random.Random, **fields: Any) -> list[PeerSpec]:
    """The leechers of a run: Poisson arrivals at ``o.arrival_rate`` until ``o.horizon``,
    each lingering an exponential time of mean ``o.seed_time`` once done. ``fields`` are
    more :class:`~btref.sim.swarm.PeerSpec` fields (picker, choker)."""
    specs: list[PeerSpec] = []
    t = rng.expovariate(o.arrival_rate)
    while t < o.horizon:
        linger = rng.expovariate(1 / o.seed_time) if o.seed_time else 0.0
        specs.append(PeerSpec(f"L{len(specs):05d}", upload=o.upload * BLOCK, download=o.download * BLOCK,
                              arrive=round(t, 6), linger=round(linger, 6), **fields))
        t += rng.expovariate(o.arrival_rate)
    return specs


class Census:
    """Counts a swarm's leechers and seeds every ``interval`` seconds of virtual time.

    Each sample is ``(time, leechers, seeds)`` in :attr:`samples` (the origin seed not
    counted); :attr:`upload` adds the bytes each class uploaded between samples (a peer's
    class is the one it has at the sample); :attr:`rarest` is, per sample, the fewest
    leechers that hold one piece, and :attr:`club` how many leechers miss only that piece.
    """

    # The annotation names the module: the book also documents btref.tracker_state.Swarm.
    def __init__(self, swarm: btref.sim.swarm.Swarm, interval: float, origin: str = "S") -> None:
        self.swarm, self.interval, self.origin = swarm, interval, origin
        self.samples: list[tuple[float, int, int]] = []
        self.rarest: list[int] = []
        self.club: list[int] = []
        #: Bytes uploaded between the previous sample and each sample, by class.
        self.upload: list[tuple[int, int, int]] = []  # (leechers, seeds, origin)
        #: Leechers holding each piece, at the last sample.
        self.holders: list[int] = []
        self.unchoking: list[int] = []
        self.endgame: dict[int, int] = {}
        self._sent: dict[int, int] = {}
        swarm.loop.at(swarm.loop.now, self.sample)

    def sample(self) -> None:
        swarm = self.swarm
        pieces = swarm.torrent.num_pieces
        holders = [0] * pieces
        leechers = seeds = 0
        up = [0, 0, 0]
        missing_one: list[int] = []
        unchoking = 0
        for peer in swarm.peers.values():
            if not peer.present:
                continue
            sent = peer.bytes_up - self._sent.get(peer.key, 0)
            self._sent[peer.key] = peer.bytes_up
            if peer.name == self.origin:
                up[2] += sent
            elif peer.session.seeding:
                seeds += 1
                up[1] += sent
            else:
                leechers += 1
                up[0] += sent
                have = peer.session.have
                for index in have:
                    holders[index] += 1
                if have.count == pieces - 1:
                    missing_one.append(next(i for i in range(pieces) if not have[i]))
                unchoking += sum(1 for other in peer.session.peers.values()
                                 if not other.peer_choking and other.am_interested)
                if peer.session.download.endgame and peer.key not in self.endgame:
                    self.endgame[peer.key] = pieces - have.count
        rarest = min(range(pieces), key=holders.__getitem__)
        self.samples.append((swarm.loop.now, leechers, seeds))
        self.upload.append((up[0], up[1], up[2]))
        self.rarest.append(holders[rarest])
        self.club.append(sum(1 for i in missing_one if i == rarest))
        self.unchoking.append(unchoking)
        self.holders = holders
        swarm.loop.after(self.interval, self.sample)


def measure(census: Census, o: OpenSwarm) -> dict[str, Any]:
    """Time averages over ``[o.warm_up, o.horizon]``: leechers ``x``, seeds ``y``, the mean
    download time ``T`` of those who arrived in the window (``None`` if any of them did
    not finish), Little's ``x / lambda``, and the leechers' upload efficiency ``eta``
    (what the leechers uploaded over what x leechers could have); how many peers unchoke
    a leecher on average, and how many pieces a leecher still missed when it entered end
    game."""
    window = [i for i, (t, _, _) in enumerate(census.samples) if o.warm_up < t <= o.horizon]
    if not window:
        raise OpenSwarmError(f"no sample in the window [{o.warm_up}, {o.horizon}]")
    x = statistics.fmean(census.samples[i][1] for i in window)
    y = statistics.fmean(census.samples[i][2] for i in window)
    span = census.samples[window[-1]][0] - census.samples[window[0] - 1][0] if window[0] else o.horizon
    up = [sum(census.upload[i][k] for i in window) / span / BLOCK for k in range(3)]
    arrived = [p for p in census.swarm.peers.values()
               if not p.spec.seed and o.warm_up <= p.arrived_at < o.horizon]
    done = [p.completed_at - p.arrived_at for p in arrived if p.completed_at is not None]
    rarest = [census.rarest[i] / census.samples[i][1] for i in window if census.samples[i][1]]
    endgame = [census.endgame[p.key] for p in arrived if p.key in census.endgame]
    club = [census.club[i] / census.samples[i][1] for i in window if census.samples[i][1]]
    return {
        "leechers_mean": x,
        "seeds_mean": y,
        "download_time_mean": statistics.fmean(done) if done and len(done) == len(arrived) else None,
        "completed_in_window": len(done),
        "arrived_in_window": len(arrived),
        "little_download_time": x / o.arrival_rate,
        "eta": up[0] / (x * o.upload) if x else None,
        "upload_leechers": up[0], "upload_seeds": up[1], "upload_origin": up[2],
        "rarest_share_mean": statistics.fmean(rarest) if rarest else None,
        "one_club_share_mean": statistics.fmean(club) if club else None,
        "unchoking_mean": sum(census.unchoking[i] for i in window) / sum(census.samples[i][1] for i in window)
        if x else None,
        "endgame_missing_mean": statistics.fmean(endgame) if endgame else None,
    }


def fluid_model(o: OpenSwarm, pieces: int, eta: float = 1.0) -> dict[str, float | str]:
    """Qiu and Srikant's fixed point, with abort rate theta = 0 and the origin seed's upload
    as a constant term (``docs/reproductions.md`` states the equations):

    dx/dt = lambda - min(c x, mu (eta x + y) + mu_s);  dy/dt = min(c x, mu (eta x + y) + mu_s) - gamma y

    with mu, c and mu_s the leecher upload, leecher download and origin upload in files per
    second. So y = lambda / gamma, x = max(lambda / c, (lambda - mu_s - mu y) / (mu eta)),
    and T = x / lambda (Little's law). ``regime`` names the term that wins.
    """
    lam, size = o.arrival_rate, float(pieces)
    mu, c, mu_s = o.upload / size, o.download / size, o.seed_upload / size
    y = lam * o.seed_time  # lambda / gamma
    by_download = lam / c
    by_upload = (lam - mu_s - mu * y) / (mu * eta)
    x = max(by_download, by_upload)
    return {"leechers": x, "seeds": y, "download_time": x / lam,
            "regime": "download-limited" if by_download >= by_upload else "upload-limited"}


def _shown(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(metrics: dict[str, Any]) -> list[str]:
    """What an open-swarm run shows: its time averages beside the fluid model's."""
    o, m, model = metrics["open_swarm"], metrics["open"], metrics["model"]
    with_eta = metrics["model_measured_eta"]
    lines = [f"open swarm: lambda {o['arrival_rate']}/s, seed time {o['seed_time']} s, origin seed "
             f"{o['seed_upload']} blocks/s; averages over [{o['warm_up']:g}, {o['horizon']:g}] s",
             f"  leechers x {m['leechers_mean']:.1f} (model {model['leechers']:.1f}), seeds y "
             f"{m['seeds_mean']:.1f} (model {model['seeds']:.1f})",
             f"  download time T {_shown(m['download_time_mean'], '.1f')} s (model {model['download_time']:.1f} s, "
             f"{model['regime']}); done {m['completed_in_window']}/{m['arrived_in_window']}",
             f"  leechers' upload efficiency eta {_shown(m['eta'], '.2f')} (the model with it: x "
             f"{_shown(with_eta and with_eta['leechers'], '.1f')}); fewest leechers holding a piece: "
             f"{_shown(m['rarest_share_mean'], '.0%')} of them on average",
             f"  a leecher is unchoked by {_shown(m['unchoking_mean'], '.1f')} peers on average and enters "
             f"end game {_shown(m['endgame_missing_mean'], '.0f')} pieces before the end"]
    if m["download_time_mean"] is None:
        lines.append("  not every arrival finished: the population grew (try a faster --seed-upload, "
                     "or a longer --seed-time)")
    return lines
