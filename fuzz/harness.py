"""What every fuzz harness in this folder shares: seeds, the corpus folder, and the start.

A harness is a script ``fuzz/fuzz_<parser>.py`` with a ``TestOneInput(data)`` that feeds
``data`` to one parser of peer data. The parser may refuse the input only with the
:class:`~btref.errors.BtrefError` subclasses it documents; any other exception escapes,
and atheris (libFuzzer for Python, coverage-guided) reports it as a crash and saves the
input. Run one like any libFuzzer binary::

    .venv/bin/python fuzz/fuzz_bencode.py [CORPUS_DIR ...] -atheris_runs=100000 -seed=1

The first corpus folder receives the seed inputs (named ``seed-<sha1>``) and every new
input that reaches new code; without one, a temporary folder is used and removed at exit.
A file instead of a folder replays that one input (a crash reproducer).

This module imports nothing from btref: a harness imports the code under test inside
``atheris.instrument_imports()``, and a module imported earlier would not be instrumented.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

import atheris

ROOT = Path(__file__).resolve().parent.parent
#: Where seed vectors are read from, first match wins: vendored in the repository, or the
#: shared folder beside it. A harness with neither still runs on its generated seeds.
VECTOR_ROOTS = (ROOT / "tests" / "vectors", ROOT.parent / "shared" / "vectors")

#: The packages whose bytecode atheris instruments for coverage feedback.
INSTRUMENTED = ["btref", "btref_discovery"]


def vector(relative: str) -> Path | None:
    """The path of vector file ``relative`` (e.g. ``"bep5_krpc.json"``), or ``None``."""
    for root in VECTOR_ROOTS:
        path = root / relative
        if path.exists():
            return path
    return None


def vector_json(relative: str) -> Any:
    """A JSON vector file, parsed; ``None`` when it is in neither vector folder."""
    path = vector(relative)
    return None if path is None else json.loads(path.read_text(encoding="utf-8"))


def vector_files(folder: str, suffix: str) -> list[bytes]:
    """The contents of every ``*suffix`` file in vector folder ``folder`` (sorted by name)."""
    path = vector(folder)
    if path is None or not path.is_dir():
        return []
    return [p.read_bytes() for p in sorted(path.glob(f"*{suffix}"))]


def _corpus_dirs(argv: list[str]) -> tuple[list[str], Path | None]:
    """``argv`` with a corpus folder added when none is given, and the folder to seed.

    libFuzzer takes every argument not starting with ``-`` as a corpus folder (or, if it
    is a file, as one input to replay); the first folder is where it writes new inputs.
    """
    positional = [a for a in argv[1:] if not a.startswith("-")]
    if not positional:
        temp = tempfile.mkdtemp(prefix="btref-fuzz-")
        atexit.register(shutil.rmtree, temp, ignore_errors=True)
        return [*argv, temp], Path(temp)
    first = Path(positional[0])
    if first.is_file():
        return argv, None  # replaying inputs: no seeds
    first.mkdir(parents=True, exist_ok=True)
    return argv, first


def run(test_one_input: Callable[[bytes], None], seeds: Iterable[bytes]) -> NoReturn:
    """Write ``seeds`` into the corpus folder and fuzz ``test_one_input`` until libFuzzer stops."""
    argv, seed_dir = _corpus_dirs(list(sys.argv))
    if seed_dir is not None:
        for seed in seeds:
            name = seed_dir / f"seed-{hashlib.sha1(seed).hexdigest()}"
            if not name.exists():
                name.write_bytes(seed)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    raise SystemExit(0)  # atheris.Fuzz exits the process itself; this is for type checkers
