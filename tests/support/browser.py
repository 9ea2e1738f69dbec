"""A real browser for the dashboard's tests: Debian's Chromium driven by its chromedriver through
Selenium, headless. Where no Chromium is installed (`.ci/run` installs it with apt-get where it
can) the tests skip, saying so. Screenshots go to test-artifacts/ui/ (git-ignored), or to
$FREESCALING_TEST_ARTIFACTS/ui/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.processes import ROOT, wait_for

ARTIFACTS = Path(os.environ.get("FREESCALING_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "ui"
INSTALL = "apt-get install -y chromium chromium-driver (.ci/run does where apt-get works)"


def _find(names: tuple[str, ...], env: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium() -> tuple[str, str]:
    """(browser, driver) paths; skips the test when either is missing."""
    browser = _find(("chromium", "chromium-browser", "google-chrome"), "FREESCALING_CHROMIUM")
    driver = _find(("chromedriver",), "FREESCALING_CHROMEDRIVER")
    if not browser or not driver:
        pytest.skip(f"no Chromium or chromedriver on this machine: {INSTALL}")
    return browser, driver


def start_browser(width: int = 1400, height: int = 1000):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install .[dev]")
    browser, driver = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    # Headless, as root in a container (no sandbox there), without /dev/shm's small default.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def console_errors(driver) -> list[str]:
    """The console's errors since the last call (the log is drained as it is read)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # The whole page, not only the window: grow the window to the document's height first.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, max(800, min(int(height) + 120, 6000)))
    driver.save_screenshot(str(path))
    return path


def wait_view(driver, name: str):
    """The dashboard's main element once view `name` has drawn."""
    from selenium.webdriver.common.by import By

    def ready():
        main = driver.find_element(By.ID, "view")
        done = main.get_attribute("data-ready") == "1"
        return main if done and main.get_attribute("data-view") == name else None

    return wait_for(ready, timeout=20, what=f"the {name} view")


def open_view(driver, base: str, view: str, name: str | None = None):
    """Navigate to `view` (#/models, #/call/ID...) and return its main element, drawn with no
    console error and no load failure."""
    driver.get(f"{base}/ui/#/{view}")
    main = wait_view(driver, name or view.split("/")[0])
    assert console_errors(driver) == []
    assert "Could not load" not in main.text, main.text
    return main
