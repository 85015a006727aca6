"""Sign-up to sign-out in a real browser: the code is read from the file outbox."""
import os
import pathlib
import re
import time
import uuid

from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

from conftest import VIEWPORTS

OUTBOX = pathlib.Path(os.environ["PICTOR_OUTBOX"])


def mailed_code(address, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for message in sorted(OUTBOX.glob("*.eml"), reverse=True):
            text = message.read_text()
            if f"To: {address}" in text:
                match = re.search(r"code is: (\d{6})", text)
                if match:
                    return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no code was mailed to {address}")


def fill(browser, **fields):
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        if element.get_attribute("type") == "date":
            # Typed the way a person would, in the locale's order (en-US: month, day, year).
            year, month, day = value.split("-")
            element.send_keys(month + day + year)
        else:
            element.clear()
            element.send_keys(value)


def is_detached(element):
    """True once the page that held `element` has been replaced."""
    # Chromium reports a detached node either as stale or as an "inspector error".
    try:
        element.is_enabled()
        return False
    except WebDriverException:
        return True


def submit(browser, selector):
    """Clicks a submit button and waits until the next page has replaced this one."""
    button = browser.find_element(By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(browser, 10).until(lambda _: is_detached(button))
    WebDriverWait(browser, 10).until(lambda b: b.execute_script("return document.readyState") == "complete")


def test_sign_up_confirm_sign_in_and_out(browser, base_url, screenshot):
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        browser.get(base_url + "/signup")
        screenshot(f"signup-{viewport}")
    browser.delete_all_cookies()

    browser.get(base_url + "/signup")
    fill(browser, email=email, password="violet-harbour-lantern", birthDate="1990-04-12")
    browser.find_element(By.ID, "acceptTerms").click()
    submit(browser, "form button[type=submit]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Confirm your email"
    screenshot("verify-email-desktop")

    fill(browser, code=mailed_code(email))
    submit(browser, "form[action='/verify-email'] button")
    assert "Your email is confirmed" in browser.find_element(By.CSS_SELECTOR, ".flash-success").text

    fill(browser, email=email, password="violet-harbour-lantern")
    submit(browser, "form[action='/login'] button")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your account"
    session_cookies = [c for c in browser.get_cookies() if c["name"].endswith("pictor_session")]
    assert len(session_cookies) == 1 and session_cookies[0]["httpOnly"] and session_cookies[0]["secure"]
    screenshot("account-desktop")

    browser.get(base_url + "/account/sessions")
    assert "this device" in browser.find_element(By.TAG_NAME, "table").text
    screenshot("sessions-desktop")
    browser.set_window_size(*VIEWPORTS["phone"])
    screenshot("sessions-phone")
    browser.set_window_size(*VIEWPORTS["desktop"])

    submit(browser, ".site-header form[action='/logout'] button")
    assert browser.current_url.rstrip("/") == base_url
    assert "Sign in" in browser.find_element(By.CSS_SELECTOR, ".site-header nav").text
    browser.get(base_url + "/account")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"


def test_field_errors_are_shown_next_to_their_fields(browser, base_url, screenshot):
    browser.delete_all_cookies()
    browser.set_window_size(*VIEWPORTS["phone"])
    browser.get(base_url + "/signup")
    fill(browser, email="not-an-email", password="password")
    submit(browser, "form button[type=submit]")
    email = browser.find_element(By.ID, "email")
    assert email.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "email-error").text == "Enter an email address like name@example.com."
    assert browser.find_element(By.ID, "birthDate-error").is_displayed()
    screenshot("signup-errors-phone")
