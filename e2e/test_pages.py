"""The base pages in a real browser, at phone and desktop widths."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import VIEWPORTS

PAGES = {
    "home": ("/", "Make images from words"),
    "privacy": ("/privacy", "Privacy policy"),
    "terms": ("/terms", "Terms of service"),
    "cookies": ("/cookies", "Cookie settings"),
    "do-not-sell": ("/privacy/do-not-sell-or-share", "Do Not Sell or Share My Personal Information"),
    "not-found": ("/no-such-page", "Page not found"),
}
FOOTER = ["Privacy policy", "Terms", "Cookie settings", "Do Not Sell or Share My Personal Information"]


def console_problems(browser):
    """Console errors, CSP violations among them (a blocked inline script or style is reported here)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")
            and "favicon" not in entry["message"] and "404 (Not Found)" not in entry["message"]]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_styled_without_console_errors(browser, base_url, screenshot, page, viewport):
    path, heading = PAGES[page]
    browser.set_window_size(*VIEWPORTS[viewport])
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(base_url + path)

    assert browser.find_element(By.TAG_NAME, "h1").text == heading
    assert browser.title.endswith("· Pictor")
    # The stylesheet loaded and applied (the CSP allows 'self' styles only).
    header = browser.find_element(By.CSS_SELECTOR, ".site-header")
    assert header.value_of_css_property("background-color") == "rgba(59, 47, 143, 1)"
    # Nothing wider than the screen.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    footer = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".site-footer a")]
    assert footer == FOOTER
    assert console_problems(browser) == []
    screenshot(f"{page}-{viewport}")


def test_footer_links_lead_to_their_pages(browser, base_url):
    browser.set_window_size(*VIEWPORTS["desktop"])
    for label in FOOTER:
        browser.get(base_url + "/")
        browser.find_element(By.LINK_TEXT, label).click()
        assert browser.find_element(By.TAG_NAME, "h1").text in {p[1] for p in PAGES.values()}
        current = browser.find_element(By.CSS_SELECTOR, ".site-footer a[aria-current='page']")
        assert current.text == label


def test_skip_link_is_the_first_tab_stop(browser, base_url):
    browser.set_window_size(*VIEWPORTS["phone"])
    browser.get(base_url + "/")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    assert focused.get_attribute("href").endswith("#main")
