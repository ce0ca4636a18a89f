"""The browser view's screenshots for the book, and its frame time at 200 peers x 500 pieces.

Run: ``.venv/bin/python bench/screenshots.py`` (needs chromium, chromium-driver and
selenium: ``make clients``, the test extra). In a temporary folder it

1. runs ``btref sim walkthrough --html``, plays it in headless Chromium to the middle of
   round 2 and to the end, and saves ``docs/_static/view-walkthrough.png`` (the middle);
2. runs ``btref demo --web`` (2 leechers, a 1 MiB file, the seeder at 128 KiB/s), opens the
   live page while the swarm runs and saves ``docs/_static/view-live.png``;
3. runs ``btref sim flash-crowd --peers 200 --pieces 500 --html`` (``--size`` to change it),
   plays it at 16x for ``--seconds`` and prints the work per drawn frame (records applied
   plus drawing, ``performance.now()`` inside the page): median, 95th percentile, maximum;
   and saves ``docs/_static/view-flash-crowd.png``.

Nothing is asserted; the chapter "Watching a swarm" (``docs/view.md``) quotes the figures.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from tests.browser import chromium  # noqa: E402

STATIC = ROOT / "docs" / "_static"


def btref(*argv: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "btref", *argv], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def seek(driver: Any, time_s: float) -> None:
    driver.execute_script(f"view.following = false; seek({time_s}); view.dirty = true;")
    time.sleep(0.5)


def walkthrough(work: Path) -> None:
    btref("sim", "walkthrough", "--html", "--no-plots", "--out", "walk", cwd=work)
    with chromium(1200, 520) as driver:
        driver.get((work / "walk" / "view.html").as_uri())
        time.sleep(1)
        seek(driver, 1.5)
        driver.save_screenshot(str(STATIC / "view-walkthrough.png"))
        seek(driver, 100)
        print("walkthrough:", driver.find_element("id", "status").text, "|",
              driver.find_element("id", "milestones").text.replace("\n", "; "))


def live(work: Path) -> None:
    argv = [sys.executable, "-m", "btref", "demo", "--web", "--workdir", str(work / "demo"), "--size", "1M",
            "--leechers", "2", "--seed-rate", "128K"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=work)
    try:
        assert proc.stdout is not None
        url = next(line.split("browser: ", 1)[1].split()[0] for line in proc.stdout if "browser: " in line)
        with chromium(1200, 560) as driver:
            driver.get(url)
            time.sleep(4)
            driver.save_screenshot(str(STATIC / "view-live.png"))
            print("live:", driver.find_element("id", "status").text)
        proc.stdout.read()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def frame_time(work: Path, peers: int, pieces: int, seconds: float) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    btref("sim", "flash-crowd", "--peers", str(peers), "--pieces", str(pieces), "--html", "--no-plots",
          "--out", "big", cwd=work)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    page = work / "big" / "view.html"
    print(f"flash-crowd {peers} x {pieces}: simulated and written in {cpu:.1f} s of CPU; "
          f"page {page.stat().st_size / 2**20:.1f} MiB")
    with chromium(1400, 900) as driver:
        loaded = time.perf_counter()
        driver.get(page.as_uri())
        print(f"  load and first draw: {time.perf_counter() - loaded:.1f} s wall")
        driver.execute_script("window.btrefFrames.length = 0;")
        driver.find_element("id", "speed").send_keys("16x")
        driver.find_element("id", "play").click()
        time.sleep(seconds)
        frames = [float(x) for x in driver.execute_script("return window.btrefFrames.slice()")]
        seek(driver, 60)
        driver.save_screenshot(str(STATIC / "view-flash-crowd.png"))
    frames.sort()
    print(f"  {len(frames)} frames in {seconds:g} s of play: work per frame median {statistics.median(frames):.1f} ms, "
          f"95th percentile {frames[int(0.95 * (len(frames) - 1))]:.1f} ms, max {frames[-1]:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="200x500", help="peers x pieces of the frame-time run (default 200x500)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of play measured (default 10)")
    args = ap.parse_args()
    peers, pieces = (int(x) for x in args.size.split("x"))
    STATIC.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="btref-screenshots-") as tmp:
        walkthrough(Path(tmp))
        live(Path(tmp))
        frame_time(Path(tmp), peers, pieces, args.seconds)


if __name__ == "__main__":
    main()
