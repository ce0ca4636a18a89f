"""``make test`` allows no skips (BTREF_NO_SKIPS=1, the root ``conftest.py``): a skipped
test, or a whole module skipped while it is collected, fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("body", [
    "import pytest\npytest.importorskip('btref_no_such_module')\n\ndef test_a():\n    pass\n",
    "import pytest\n\ndef test_a():\n    pytest.skip('no tool')\n",
])
def test_a_skip_fails_under_make_test_and_only_there(tmp_path: Path, body: str) -> None:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_skipping.py").write_text(body)
    def run(no_skips: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BTREF_NO_SKIPS": no_skips}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov",
                               "test_skipping.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    strict = run("1")
    assert strict.returncode != 0 and "allows no skips" in strict.stdout
    lenient = run("0")  # elsewhere a skip is a skip (exit 5: the module had no test left)
    assert lenient.returncode in (0, 5) and "1 skipped" in lenient.stdout
