"""The privacy centre in a real browser: what is held, and a restriction turned on and off."""
from selenium.webdriver.common.by import By

from conftest import VIEWPORTS
from test_accounts import submit
from test_billing import look
from test_pages import console_problems
from test_studio import sign_up_and_in


def test_privacy_centre_shows_holdings_and_restrictions(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    browser.get_log("browser")
    browser.get(base_url + "/privacy/centre")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Privacy centre"
    assert "Your account" in browser.find_element(By.TAG_NAME, "table").text
    look(browser, screenshot, "privacy-centre")

    submit(browser, "form.restriction input[value='model_improvement'] ~ button[value='true']")
    assert "Saved. It applies from now on." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    requests = browser.find_elements(By.TAG_NAME, "table")[-1].text
    assert "Restriction or objection" in requests and "Done" in requests
    look(browser, screenshot, "privacy-centre-restricted")
    assert console_problems(browser) == []
