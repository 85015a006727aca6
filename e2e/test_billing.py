"""Buying credits in a real browser: the offline checkout, then a generation paid with them."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import VIEWPORTS
from test_accounts import fill, submit
from test_pages import console_problems
from test_studio import sign_up_and_in


def balance_in_header(browser):
    return browser.find_element(By.CSS_SELECTOR, ".site-header .balance").text


def fits(browser):
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def look(browser, screenshot, name):
    """Each width: nothing wider than the screen, then a screenshot."""
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        assert fits(browser), f"{name} scrolls sideways at {viewport}"
        screenshot(f"{name}-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])


def test_buy_a_pack_offline_then_generate_with_it(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    browser.get_log("browser")
    # The sign-up grant (20 by default) shows in the header.
    browser.get(base_url + "/billing")
    assert balance_in_header(browser) == "20 credits"
    assert browser.find_element(By.ID, "credits-available").text == "20"
    assert "Free credits" in browser.find_element(By.ID, "history").find_element(By.XPATH, "following::table").text
    look(browser, screenshot, "billing")

    submit(browser, "form[action='/billing/checkout'] button")  # the first pack: Starter
    assert "/billing/offline-checkout/" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == "Offline checkout"
    look(browser, screenshot, "offline-checkout")
    submit(browser, "button[value='pay']")

    # The receipt: paid, and the credits are in the balance.
    assert "/billing/orders/" in browser.current_url
    assert browser.find_element(By.ID, "order-state").text == "Paid"
    assert "your payment went through" in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert balance_in_header(browser) == "120 credits"
    look(browser, screenshot, "receipt")

    # Asking for a refund with no reason says so next to the field.
    submit(browser, "form[action$='/refund'] button")
    assert "Tell us why" in browser.find_element(By.ID, "reason-error").text
    assert browser.find_element(By.ID, "reason").get_attribute("aria-invalid") == "true"
    look(browser, screenshot, "refund-reason-missing")

    # A generation paid from the new balance: the cost line says what will be left.
    browser.get(base_url + "/studio")
    browser.find_element(By.ID, "prompt").send_keys("a paper boat on a puddle")
    Select(browser.find_element(By.ID, "size")).select_by_value("512x512")
    Select(browser.find_element(By.ID, "count")).select_by_value("2")
    assert "your balance will be 118 of 120" in browser.find_element(By.ID, "price").text
    submit(browser, "#studio-form button[type=submit]")
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "generation-status").text == "Done")
    browser.get(base_url + "/billing")
    assert balance_in_header(browser) == "118 credits"
    history = browser.find_element(By.ID, "history").find_element(By.XPATH, "following::table").text
    assert "Spent on a generation" in history and "Bought: Starter pack" in history
    # The refused refund form answered 400 on purpose (the browser logs that status); nothing else.
    assert [p for p in console_problems(browser) if "/refund - Failed to load resource" not in p] == []
