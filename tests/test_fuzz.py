"""A short, deterministic run of every atheris harness in fuzz/ (the long runs are `make fuzz`).

Each harness runs in its own process (libFuzzer ends the process it runs in) for
:data:`RUNS` inputs from a fixed ``-seed`` and a fresh corpus folder, with the hash seed
fixed and the timed corpus reload off (``-reload=0``), so the same inputs are tried every
time. The test fails if the harness reports a
crash: an exception other than the errors its parser documents, a broken invariant, a
timeout or memory over the limit; the message shows libFuzzer's report and the input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
HARNESSES = ["bencode", "metainfo", "wire", "krpc", "tracker_http", "tracker_udp", "magnet", "mse", "lsd"]
#: Inputs per harness: enough to leave the seeds and mutate a while, a few seconds each.
RUNS = 4000


def test_every_harness_is_run_here() -> None:
    assert sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py")) == sorted(HARNESSES)


@pytest.mark.parametrize("name", HARNESSES)
def test_harness_finds_no_crash(name: str, tmp_path: Path) -> None:
    # Not under coverage: its tracer triples the run time, and the parsers' own tests measure them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    env["PYTHONHASHSEED"] = "0"
    command = [
        sys.executable, str(FUZZ / f"fuzz_{name}.py"), str(tmp_path / "corpus"),
        f"-atheris_runs={RUNS}", "-seed=1", "-reload=0", f"-artifact_prefix={tmp_path}/",
        "-timeout=30", "-rss_limit_mb=1024",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name != "corpus")
    report = "\n".join(done.stderr.splitlines()[-40:])
    assert done.returncode == 0 and not crashes, f"fuzz_{name} found {crashes}:\n{report}"
    assert f"Done {RUNS} " in done.stderr, report
