"""Headless Chromium through Selenium, for the tests of the browser view (btref.web).

Debian's ``chromium`` and ``chromium-driver`` (``make clients`` installs them) and the
``selenium`` package (the test extra). :func:`chromium` yields a driver whose console
messages :func:`console_errors` reads; a missing piece skips, which ``make test``
(``BTREF_NO_SKIPS=1``) turns into a failure.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium session, quit on exit whatever happens."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is missing: pip install -e '.[test]'")
    browser = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    driver_path = shutil.which(DRIVER)
    if browser is None or driver_path is None:
        pytest.skip("chromium and chromedriver are missing: make clients (Debian: chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="btref-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver: Any) -> list[str]:
    """The console's errors (and uncaught exceptions) since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(driver: Any, condition: Any, seconds: float = 60.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)
