"""``btref sweep`` and the jobs under it (:mod:`btref.sim.jobs`): a grid of runs on a process
pool and on a real Dask scheduler with two workers on loopback, identical results, resuming."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from btref.cli import main
from btref.sim import compare, jobs
from btref.sim.jobs import Job

# Small enough to keep the file cheap: four grid points, two runs each.
GRID = ["--peers", "3,5", "--pieces", "6", "--picker", "rarest-first,random", "--repeat", "2", "--no-plots"]


def _sweep(folder: Path, *extra: str) -> int:
    return main(["sweep", *GRID, "--out", str(folder), *extra])


def _done_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if " done: " in line]


def test_job_key_names_every_field_but_not_the_order() -> None:
    job = Job("flash-crowd", "rarest-first", "tit-for-tat", 4, 6, 1.0, seed=3)
    assert job.key == Job("flash-crowd", "rarest-first", "tit-for-tat", 4, 6, 1.0, seed=3).key
    changed = [Job("flash-crowd", "random", "tit-for-tat", 4, 6, 1.0, 3), Job("flash-crowd", "rarest-first",
               "tit-for-tat:optimistic_slots=0", 4, 6, 1.0, 3), Job("weak-seed", "rarest-first", "tit-for-tat", 4, 6,
               1.0, 3), Job("flash-crowd", "rarest-first", "tit-for-tat", 5, 6, 1.0, 3),
               Job("flash-crowd", "rarest-first", "tit-for-tat", 4, 6, 2.0, 3), Job("flash-crowd", "rarest-first",
               "tit-for-tat", 4, 6, 1.0, 4)]
    assert len({job.key, *(other.key for other in changed)}) == 1 + len(changed)
    assert "seed" not in job.point() and job.point()["peers"] == 4


def test_seed_rate_speeds_up_a_weak_seed() -> None:
    base = jobs.run_job(Job("flash-crowd", "rarest-first", "tit-for-tat", 6, 8, None, 0))
    same = jobs.run_job(Job("flash-crowd", "rarest-first", "tit-for-tat", 6, 8, 1.0, 0))
    fast = jobs.run_job(Job("flash-crowd", "rarest-first", "tit-for-tat", 6, 8, 4.0, 0))
    assert base["times"] == same["times"]  # a factor of 1 is the scenario as it is
    assert fast["last"] < base["last"]
    assert main(["sweep", "--seed-rate", "0", "--out", "unused"]) == 2


def test_sweep_resumes_and_runs_only_what_is_missing(tmp_path, capsys) -> None:
    folder = tmp_path / "sweep"
    assert _sweep(folder, "--jobs", "2") == 0
    first = capsys.readouterr()
    assert len(_done_lines(first.err)) == 8 and "4 grid points x 2 runs = 8 jobs" in first.out
    table = (folder / "points.csv").read_text()
    assert len(table.splitlines()) == 5 and len((folder / "runs.csv").read_text().splitlines()) == 9
    saved = json.loads((folder / "sweep.json").read_text())
    assert [p["runs"] for p in saved["points"]] == [2, 2, 2, 2]
    assert [(p["peers"], p["picker"]) for p in saved["points"]] == [
        (3, "rarest-first"), (3, "random"), (5, "rarest-first"), (5, "random")]

    # An interruption leaves some results: one missing, one cut short mid-write.
    files = sorted((folder / "jobs").glob("*.json"))
    assert len(files) == 8
    files[0].unlink()
    files[1].write_text('{"key": ')
    assert _sweep(folder, "--jobs", "1") == 0
    again = capsys.readouterr()
    assert len(_done_lines(again.err)) == 2 and "6 of 8 runs were already" in again.out
    assert (folder / "points.csv").read_text() == table  # the same numbers, whoever ran them

    # A new value on an axis is new jobs; the old ones are kept.
    assert main(["sweep", *GRID, "--pieces", "6,7", "--out", str(folder), "--jobs", "1"]) == 0
    grown = capsys.readouterr()
    assert len(_done_lines(grown.err)) == 8 and "8 of 16 runs were already" in grown.out
    assert _sweep(folder, "--jobs", "1", "--fresh") == 0
    assert len(_done_lines(capsys.readouterr().err)) == 8


@pytest.mark.parametrize("argv, words", [
    (["--peers", "3,x"], "'x' is not a whole number"),
    (["--seed-rate", "-1"], "must be above 0"),
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--scenario", "nowhere"], "no scenario named 'nowhere'"),
    (["--picker", "nobody"], "nobody"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, tmp_path, capsys) -> None:
    assert main(["sweep", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_scheduler_without_dask_names_the_extra(tmp_path, capsys, monkeypatch) -> None:
    # What an installation without the extra sees: the import of distributed fails.
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["sweep", *GRID, "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "btref[cluster]" in err and len(err.splitlines()) == 1


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    from tests.ltsession import free_port

    monkeypatch.setattr(jobs, "CONNECT_TIMEOUT", "1s")
    assert main(["compare", "--peers", "3", "--pieces", "4", "--repeat", "2", "--no-plots", "--out", str(tmp_path),
                 "--scheduler", f"tcp://127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no Dask scheduler answers" in err and len(err.splitlines()) == 1


# -- a real Dask cluster on loopback -------------------------------------------------------------


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> Iterator[str]:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (ports chosen by
    the system), as on a cluster of machines; the address of the scheduler."""
    from distributed import Client

    where = tmp_path_factory.mktemp("dask")
    dask = str(Path(sys.executable).with_name("dask"))
    info = where / "scheduler.json"
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(info)], cwd=where,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip().endswith("}"):
            assert started[0].poll() is None and time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            started.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                             "--no-nanny", "--no-dashboard"], cwd=where,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)


def test_sweep_on_dask_matches_the_local_run_and_resumes(scheduler, tmp_path, capsys) -> None:
    assert _sweep(tmp_path / "local", "--jobs", "1") == 0
    capsys.readouterr()
    assert _sweep(tmp_path / "dask", "--scheduler", scheduler) == 0
    out = capsys.readouterr()
    assert len(_done_lines(out.err)) == 8 and f"on Dask scheduler {scheduler}" in out.out
    for name in ("sweep.json", "runs.csv", "points.csv"):
        assert (tmp_path / "dask" / name).read_text() == (tmp_path / "local" / name).read_text()

    # Half the results already there (an interrupted sweep): the cluster runs the others only.
    resumed = tmp_path / "resumed"
    (resumed / "jobs").mkdir(parents=True)
    local = sorted((tmp_path / "local" / "jobs").glob("*.json"))
    for path in local[:4]:
        (resumed / "jobs" / path.name).write_bytes(path.read_bytes())
    seen: list[tuple[str, bool]] = []
    grid = [Job("flash-crowd", p, "tit-for-tat", n, 6, 1.0, r) for n in (3, 5) for p in ("rarest-first", "random")
            for r in range(2)]
    results = jobs.run_jobs(grid, scheduler=scheduler, folder=resumed,
                            on_result=lambda job, result, stored: seen.append((job.key, stored)))
    assert sorted(key for key, stored in seen if stored) == sorted(p.stem for p in local[:4])
    assert sum(not stored for _, stored in seen) == 4
    assert results == jobs.run_jobs(grid, folder=tmp_path / "local")


def test_compare_on_dask_matches_the_local_run(scheduler) -> None:
    args = dict(repeat=2, peers=3, pieces=5)
    local = compare.run_grid("flash-crowd", ["rarest-first", "random"], ["tit-for-tat"], jobs=1, **args)
    remote = compare.run_grid("flash-crowd", ["rarest-first", "random"], ["tit-for-tat"], scheduler=scheduler, **args)
    assert remote == local


def test_sweep_draws_a_figure_per_axis_that_varies(tmp_path, capsys) -> None:
    assert main(["sweep", "--peers", "3,4", "--pieces", "4", "--repeat", "2", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert "sweep_peers.png" in capsys.readouterr().out
    assert (tmp_path / "sweep_peers.png").stat().st_size > 0 and not (tmp_path / "sweep_pieces.png").exists()


def test_reporter_draws_a_bar_on_a_terminal() -> None:
    import io

    from btref.commands.sweep import Reporter

    stream = io.StringIO()
    reporter = Reporter(2, stream=stream, tty=True)
    job = Job("flash-crowd", "random", "tit-for-tat", 3, 4, 1.0, 0)
    reporter(job, {"mean": 1.5}, False)
    reporter(job, {"mean": None}, True)
    reporter.close()
    assert "1/2 done" in stream.getvalue() and (reporter.done, reporter.stored) == (2, 1)


def test_a_failing_job_on_dask_is_reported_not_hidden(scheduler) -> None:
    from btref.errors import PluginError

    with pytest.raises(PluginError):  # the job's own error, as a local run raises it
        jobs.run_jobs([Job("flash-crowd", "no-such-picker", "tit-for-tat", 3, 4, 1.0, 0)], scheduler=scheduler)
    with pytest.raises(jobs.JobError, match="a Dask worker could not run"):  # anything else: one JobError
        jobs.run_jobs([Job("flash-crowd", "random", "tit-for-tat", "3", 4, 1.0, 0)],  # type: ignore[arg-type]
                      scheduler=scheduler)


def test_without_matplotlib_the_tables_are_written_and_a_note_says_why(tmp_path, capsys, monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith(("matplotlib.", "btref.sim.plots"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["sweep", "--peers", "3,4", "--pieces", "4", "--repeat", "2", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert "no plots: matplotlib is not installed (pip install 'btref[sim]')" in capsys.readouterr().out
    assert (tmp_path / "points.csv").exists() and not (tmp_path / "sweep_peers.png").exists()
