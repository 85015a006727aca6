"""Shared browser fixture: headless Chromium through Debian's chromedriver."""
import os
import pathlib

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

SCREENSHOTS = pathlib.Path(__file__).parent / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture(scope="session")
def base_url():
    return os.environ["PICTOR_BASE_URL"].rstrip("/")


@pytest.fixture(scope="session")
def browser():
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(browser):
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name):
        # The whole page, footer included, at the current viewport width.
        width = browser.execute_script("return window.innerWidth")
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    return take
