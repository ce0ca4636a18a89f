"""Simulation jobs for ``btref compare`` and ``btref sweep``: run them on a process pool or
a Dask cluster, keep each result on disk, resume where a sweep stopped.

A :class:`Job` is one simulated run (BEP 3 peers with the real engine and plugins): a
scenario, a picker and a choker (plugin choices with their parameters), the sizes, the
seed's upload factor and the run seed. It is a value; everything a run depends on is in it,
so the same job gives the same result on any machine with the same btref, whichever
process runs it and in whatever order the jobs finish.

:func:`run_jobs` runs a list of jobs

* in this process (``workers=1``),
* on a local :class:`~concurrent.futures.ProcessPoolExecutor` (``workers=N``, the default), or
* on a `Dask <https://distributed.dask.org>`_ cluster (``scheduler="tcp://HOST:PORT"``; the
  optional extra ``btref[cluster]``), each job one task;

and hands each result to ``on_result`` as it arrives (a progress bar, a line per job). With
a ``folder``, each result is written to ``folder/jobs/KEY.json`` as it arrives, ``KEY``
being :attr:`Job.key`, a hash of every field: a second call finds the results already
there and runs only the rest (an interrupted sweep resumes), while a job with any field
changed has a new key and runs. The results come back in the order of the jobs given,
never in the order they finished, so the tables built from them do not depend on how the
work was spread.

A result is what JSON keeps of it (every result goes through :func:`json.dumps` and back,
and floats round-trip exactly), so a result read from disk equals one just computed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import attrs

from btref.errors import BtrefError
from btref.sim import scenarios
from btref.sim.metrics import completion_times

__all__ = ["Job", "JobError", "OnResult", "run_job", "run_jobs", "load_result", "CLUSTER_EXTRA"]

#: The optional dependencies ``--scheduler`` needs (``pip install 'btref[cluster]'``).
CLUSTER_EXTRA = "btref[cluster]"

#: How long ``--scheduler`` waits for the scheduler to answer.
CONNECT_TIMEOUT = "10s"

# Part of every key: a result format that changes makes every stored result a new job.
_FORMAT = 1


class JobError(BtrefError):
    """A job list cannot be run: no Dask for ``--scheduler``, a scheduler that does not
    answer, a worker that fails to run a job (no btref there, say) or has another btref
    version."""


@attrs.frozen
class Job:
    """One simulated run; ``None`` sizes are the scenario's defaults."""

    scenario: str
    picker: str
    choker: str
    peers: int | None = None
    pieces: int | None = None
    #: The seed's upload capacity as a multiple of the scenario's (``None``: unchanged).
    seed_rate: float | None = None
    seed: int = 0

    @property
    def key(self) -> str:
        """A hash of every field: the name of the job's result file."""
        text = json.dumps({"format": _FORMAT, **attrs.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def point(self) -> dict[str, Any]:
        """The grid point: every field but the seed."""
        fields = attrs.asdict(self)
        del fields["seed"]
        return fields


def _version() -> str:
    from btref import __version__

    return __version__


# [docs: run-job]
def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` (in whichever process is given it); the numbers the tables need."""
    _, metrics = scenarios.run(job.scenario, peers=job.peers, pieces=job.pieces, picker=job.picker,
                               choker=job.choker, seed=job.seed, seed_rate=job.seed_rate)
    summary = metrics["summary"]
    result = {"key": job.key, "job": attrs.asdict(job), "btref": _version(),
              "picker_params": metrics["picker_params"], "choker_params": metrics["choker_params"],
              "times": completion_times(metrics), "mean": summary["mean_download_time"],
              "last": summary["last_completion"], "completed": summary["completed"],
              "leechers": summary["leechers"], "min_replication": summary["rarest_copies_mean"],
              "lower_bound": summary["lower_bound"], "events": metrics["events"]}
    return dict(json.loads(json.dumps(result)))  # what the result file will hold, exactly
# [/docs: run-job]


def load_result(folder: Path, job: Job) -> dict[str, Any] | None:
    """The result of ``job`` stored under ``folder``, or ``None`` (none, or unreadable: a
    file cut short by an interruption is simply run again)."""
    path = folder / "jobs" / f"{job.key}.json"
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict) or result.get("job") != attrs.asdict(job):
        return None
    return result


def _store(folder: Path, result: dict[str, Any]) -> None:
    # Written beside, then renamed: a result file is either whole or absent.
    jobs = folder / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    part = jobs / f"{result['key']}.json.part"
    part.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    os.replace(part, jobs / f"{result['key']}.json")


#: Called with each job, its result and whether it was found on disk (``True``) or just run.
OnResult = Callable[[Job, dict[str, Any], bool], None]


def run_jobs(jobs: Sequence[Job], *, workers: int = 1, scheduler: str | None = None,
             folder: Path | None = None, on_result: OnResult | None = None) -> list[dict[str, Any]]:
    """Run ``jobs`` (skipping those whose result ``folder`` holds); results in ``jobs``' order.

    :raises JobError: ``scheduler`` given without Dask installed, or not reachable, or a
        worker whose btref version differs from this one.
    """
    results: dict[Job, dict[str, Any]] = {}
    todo: list[Job] = []
    for job in dict.fromkeys(jobs):  # a job listed twice runs once
        found = load_result(folder, job) if folder is not None else None
        if found is None:
            todo.append(job)
        else:
            results[job] = found
            if on_result is not None:
                on_result(job, found, True)
    for job, result in _results(todo, workers, scheduler):
        if result["btref"] != _version():
            raise JobError(f"a worker runs btref {result['btref']}, this is btref {_version()}: "
                           f"install the same version everywhere")
        if folder is not None:
            _store(folder, result)
        results[job] = result
        if on_result is not None:
            on_result(job, result, False)
    return [results[job] for job in jobs]


def _results(todo: list[Job], workers: int, scheduler: str | None) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Each job of ``todo`` with its result, as they finish."""
    if scheduler is not None:
        yield from _on_dask(todo, scheduler)
    elif workers <= 1 or len(todo) <= 1:
        for job in todo:
            yield job, run_job(job)
    elif todo:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)))
        try:
            futures: dict[Future[dict[str, Any]], Job] = {pool.submit(run_job, job): job for job in todo}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            # Interrupted (Ctrl-C, a failed job): the jobs not started are dropped, not run
            # for nobody; the running ones end with the interrupt the terminal sent them too.
            pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(todo: list[Job], scheduler: str) -> Iterator[tuple[Job, dict[str, Any]]]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("distributed", "dask"):
            raise
        raise JobError(f"--scheduler needs Dask, which is not installed: pip install '{CLUSTER_EXTRA}'") from None
    try:
        # distributed's Client is not annotated
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise JobError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
    with client:
        # pure=False: a job is a value, but Dask must not merge two submissions of one key
        # across sweeps run at the same time against one scheduler.
        futures = {client.submit(run_job, job, pure=False): job for job in todo}
        for future in dask_completed(list(futures), loop=client.loop):  # type: ignore[no-untyped-call]
            try:
                result = future.result()
            except BtrefError:
                raise  # the job's own error (a scenario, a plugin), as a local run reports it
            except Exception as exc:  # a worker without btref, or one that died: Dask's error
                raise JobError(f"a Dask worker could not run {futures[future]}: {exc!r}") from exc
            yield futures[future], result
