"""Headless Chromium through Selenium, and what the tests ask of the demo page in it."""
import os
import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from stack import wait_until

CHROMIUM = os.environ.get("XY_CHROMIUM") or next(
    (path for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if path and os.access(path, os.X_OK)), None)
CHROMEDRIVER = os.environ.get("XY_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"


def start_browser():
    if not CHROMIUM or not os.access(CHROMEDRIVER, os.X_OK):
        raise RuntimeError("chromium or chromedriver missing: run 'make deps' (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.add_argument("--headless=new")
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start as root without it
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--disable-gpu")
    options.add_argument("--window-size=1400,860")
    options.add_argument("--no-first-run")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(30)
    return driver


class Tab:
    """One browser tab showing the demo terminal."""

    def __init__(self, driver, url):
        self.driver = driver
        driver.switch_to.new_window("tab")
        driver.get(url)
        self.handle = driver.current_window_handle

    def focus(self):
        if self.driver.current_window_handle != self.handle:
            self.driver.switch_to.window(self.handle)
        return self

    def script(self, source, *args):
        return self.focus().driver.execute_script(source, *args)

    def stats(self):
        return self.script("return window.xyStats || null")

    def connection(self):
        """xy.stats() now: the worker's figures, or the tab's own connection's."""
        return self.focus().driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            " (window.xyRefreshStats ? window.xyRefreshStats() : Promise.resolve(null)).then((s) => done(s || {}), () => done({}));")

    def badge(self):
        return self.script("return document.getElementById('status').textContent")

    def shown_prices(self):
        """symbol → the text of its Last cell, as the page shows it."""
        return self.script(
            "const out = {}; for (const row of document.querySelectorAll('#rows tr[data-symbol]'))"
            " out[row.dataset.symbol] = row.querySelector('td.last').textContent; return out;")

    def wait_live(self, symbols, timeout=20):
        def live():
            stats = self.stats()
            return stats and stats["state"] == "live" and stats["snapshots"] >= 1 and set(stats["watchlist"]) == set(symbols)
        wait_until(live, timeout, f"tab {self.handle} to be live with every symbol")

    def wait_prices_change(self, timeout=15):
        """Waits until the Last column shows something other than what it shows now."""
        before = self.shown_prices()
        wait_until(lambda: self.shown_prices() != before, timeout, "the shown prices to change")

    def close(self):
        self.focus().driver.close()
        # Selenium needs a current window: go back to the first one (kept open for this).
        self.driver.switch_to.window(self.driver.window_handles[0])

    def freeze(self):
        """Freezes the page (no task runs, no answer to the worker's beat), as a hung tab would."""
        self.focus().driver.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "frozen"})


def console_messages(driver):
    """Every console line the browser logged so far (every tab)."""
    return [entry.get("message", "") for entry in driver.get_log("browser")]
