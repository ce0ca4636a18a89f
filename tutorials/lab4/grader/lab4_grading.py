"""Lab 4's grader: the helpers its tests share (BEP 3 "bencoding" and "metainfo files", BEP 52).

Every expected value is computed here, at grade time, by btref itself
(:mod:`btref.bencode`), so the grader stays right when btref changes. The student's
package ``bencode_lab`` is imported from the folder being graded (the ``lab_dir`` of
:mod:`btref.commands.grading`, first on ``sys.path``), through the fixture ``lab`` of
``conftest.py``: a package that does not import fails every test with the reason,
instead of breaking the grader.

The data: the public test vectors of btref's own tests (``tests/vectors/``, sources and
licenses in ``tests/vectors/PROVENANCE``), read from the checkout this grader is in.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from btref import bencode
from btref.errors import BencodeError

#: The checkout's test vectors (tutorials/lab4/grader/ -> the checkout).
VECTORS = Path(__file__).resolve().parents[3] / "tests" / "vectors"
TORRENT_FOLDERS = ("libtorrent-test-torrents", "bep52-test-torrents")

#: The same examples on every machine, on every run: a grade must not change when it is
#: run again. No deadline: a student's first decoder may be slow, that is no fault here.
#: A failure is shrunk to a small example (what the student reads), but not "explained"
#: (that phase reruns it many times over and says little more).
GRADING = settings(derandomize=True, deadline=None, database=None, max_examples=150, report_multiple_bugs=False,
                   phases=[Phase.explicit, Phase.generate, Phase.shrink],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


if not (VECTORS / "PROVENANCE").is_file():  # part of the checkout: a broken one, not a student's fault
    raise RuntimeError(f"lab 4's grader needs btref's test vectors in {VECTORS}; grade in a full checkout")


def vector_cases(section: str) -> list[dict[str, Any]]:
    """One section of libtorrent's bdecode cases."""
    cases: list[dict[str, Any]] = json.loads((VECTORS / "libtorrent-bdecode-cases.json").read_text())[section]
    return cases


def torrent_files() -> list[Path]:
    return sorted(p for folder in TORRENT_FOLDERS for p in (VECTORS / folder).glob("*.torrent"))


def btref_outcome(data: bytes, strict: bool) -> tuple[str, Any]:
    """What btref makes of ``data``: ``("ok", value)`` or ``("error", offset)``."""
    try:
        return "ok", bencode.decode(data, strict=strict)
    except BencodeError as exc:
        return "error", exc.offset


def btref_info_bytes(data: bytes) -> bytes | None:
    """The info dictionary's exact bytes, as btref finds them (None: there is none)."""
    try:
        _, used = bencode.decode_prefix(data, strict=False)
        top, spans = bencode.decode_with_spans(data[:used], strict=False)
    except BencodeError:
        return None
    if not isinstance(top.get(b"info"), dict):
        return None
    return data[slice(*spans[b"info"])]


def show(data: bytes, limit: int = 60) -> str:
    """``data`` for a message: its repr, cut short."""
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + f"...' ({len(data)} bytes)"


def raises_lab_error(lab: ModuleType, call: Any, *args: Any, **kwargs: Any) -> tuple[bool, str]:
    """Run ``call``; (True, "") if it raised the lab's BencodeError, else (False, what it did)."""
    try:
        result = call(*args, **kwargs)
    except lab.BencodeError:
        return True, ""
    except NotImplementedError:
        raise
    except Exception as exc:  # anything else is the bug this check is about
        return False, f"raised {type(exc).__name__}: {exc}"[:160]
    return False, f"returned {result!r}"[:160]
