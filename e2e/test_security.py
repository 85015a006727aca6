"""Two-factor sign-in and API keys in a real browser."""
import base64
import hashlib
import hmac
import re
import struct
import time
import uuid

from selenium.webdriver.common.by import By

from conftest import VIEWPORTS
from test_accounts import fill, mailed_code, submit


def totp(secret_base32, at=None, step_offset=0):
    """RFC 6238 code, computed here independently of Pictor's implementation."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int((at or time.time()) // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


def sign_up_and_in(browser, base_url, email, password):
    browser.delete_all_cookies()
    browser.get(base_url + "/signup")
    fill(browser, email=email, password=password, birthDate="1985-06-01")
    browser.find_element(By.ID, "acceptTerms").click()
    submit(browser, "form button[type=submit]")
    fill(browser, code=mailed_code(email))
    submit(browser, "form[action='/verify-email'] button")
    fill(browser, email=email, password=password)
    submit(browser, "form[action='/login'] button")


def test_two_factor_setup_and_sign_in(browser, base_url, screenshot):
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    password = "copper-lantern-meadow"
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url, email, password)

    browser.get(base_url + "/account/security")
    screenshot("security-desktop")
    submit(browser, "form[action='/account/two-factor/setup'] button")
    secret = browser.find_element(By.ID, "secret").text.replace(" ", "")
    uri = browser.find_element(By.LINK_TEXT, "add to authenticator").get_attribute("href")
    assert uri.startswith("otpauth://totp/Pictor:") and f"secret={secret}" in uri
    screenshot("two-factor-setup-desktop")
    fill(browser, code=totp(secret))
    submit(browser, "form[action='/account/two-factor/confirm'] button")
    codes = [c.text for c in browser.find_elements(By.CSS_SELECTOR, ".codes code")]
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", c) for c in codes)
    screenshot("recovery-codes-desktop")

    submit(browser, ".site-header form[action='/logout'] button")
    browser.get(base_url + "/login")
    fill(browser, email=email, password=password)
    submit(browser, "form[action='/login'] button")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Two-factor sign-in"
    fill(browser, code=totp(secret, step_offset=1))
    submit(browser, "form[action='/login/two-factor'] button")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your account"


def test_api_key_is_shown_once(browser, base_url, screenshot):
    email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
    browser.set_window_size(*VIEWPORTS["phone"])
    sign_up_and_in(browser, base_url, email, "saffron-delta-orchid")
    browser.get(base_url + "/account/api-keys")
    assert "You have no API keys." in browser.find_element(By.CSS_SELECTOR, ".empty-state").text
    fill(browser, name="nightly export")
    browser.find_element(By.ID, "scope_account:read").click()
    submit(browser, "form[action='/account/api-keys'] button")
    key = browser.find_element(By.ID, "new-key").text
    assert re.fullmatch(r"pictor_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", key)
    screenshot("api-keys-phone")
    browser.get(base_url + "/account/api-keys")
    assert key not in browser.page_source
    assert key.split("_")[1] in browser.page_source
