"""Studio to gallery in a real browser: generate with the built-in engine, watch it finish."""
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import VIEWPORTS
from test_accounts import fill, mailed_code, submit


def sign_up_and_in(browser, base_url):
    email = f"studio-{uuid.uuid4().hex[:8]}@example.com"
    browser.delete_all_cookies()
    browser.get(base_url + "/signup")
    fill(browser, email=email, password="violet-harbour-lantern", birthDate="1990-04-12")
    browser.find_element(By.ID, "acceptTerms").click()
    submit(browser, "form button[type=submit]")
    fill(browser, code=mailed_code(email))
    submit(browser, "form[action='/verify-email'] button")
    fill(browser, email=email, password="violet-harbour-lantern")
    submit(browser, "form[action='/login'] button")
    return email


def csp_errors(browser):
    return [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_generate_watch_progress_and_find_it_in_the_gallery(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)

    browser.get(base_url + "/studio")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Studio"
    assert "Nothing yet" in browser.find_element(By.CSS_SELECTOR, ".studio-recent").text
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        screenshot(f"studio-empty-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])

    prompt = "a lighthouse on a cliff at sunset, stormy sea"
    browser.find_element(By.ID, "prompt").send_keys(prompt)
    assert browser.find_element(By.ID, "prompt-count").text == f"{len(prompt)} / 1000 characters"
    Select(browser.find_element(By.ID, "count")).select_by_value("2")
    Select(browser.find_element(By.ID, "size")).select_by_value("512x512")
    assert "costs 2 credits" in browser.find_element(By.ID, "price").text
    screenshot("studio-filled-desktop")
    submit(browser, "#studio-form button[type=submit]")

    # The generation's page: live status while it runs, then the images.
    assert "/generations/" in browser.current_url
    status = browser.find_element(By.ID, "generation-status").text
    assert status.startswith("Waiting") or status.startswith("Making"), status
    screenshot("generation-running-desktop")
    WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".picture-grid img")) == 2)
    WebDriverWait(browser, 10).until(lambda b: all(
        b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 512
        for image in b.find_elements(By.CSS_SELECTOR, ".picture-grid img")))
    assert browser.find_element(By.ID, "generation-status").text == "Done"
    assert "2 credits" in browser.find_element(By.CSS_SELECTOR, ".facts").text
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        screenshot(f"generation-done-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])

    browser.get(base_url + "/gallery")
    tiles = browser.find_elements(By.CSS_SELECTOR, ".gallery-grid img")
    # One tile per generation: its first image, marked "+1" for the second.
    assert len(tiles) == 1 and tiles[0].get_attribute("alt") == prompt
    assert browser.find_element(By.CSS_SELECTOR, ".tile-more").text == "+1"
    WebDriverWait(browser, 10).until(lambda b: all(
        b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", tile) > 0 for tile in tiles))
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        screenshot(f"gallery-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])
    assert csp_errors(browser) == []


def test_studio_errors_are_shown_next_to_the_field(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    browser.get(base_url + "/studio")
    browser.find_element(By.ID, "seed").send_keys("minus one")
    submit(browser, "#studio-form button[type=submit]")
    assert browser.find_element(By.ID, "prompt-error").text == "Describe the picture you want."
    assert "whole number" in browser.find_element(By.ID, "seed-error").text
    assert browser.find_element(By.ID, "prompt").get_attribute("aria-invalid") == "true"
    screenshot("studio-errors-desktop")
