"""The gallery in a real browser: search, favourite, download, share (opened signed out), delete and undo."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import VIEWPORTS
from test_accounts import fill, submit
from test_studio import csp_errors, sign_up_and_in

PASSWORD = "violet-harbour-lantern"


def generate(browser, base_url, prompt):
    browser.get(base_url + "/studio")
    browser.find_element(By.ID, "prompt").send_keys(prompt)
    submit(browser, "#studio-form button[type=submit]")
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "generation-status").text == "Done")
    WebDriverWait(browser, 10).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".picture-grid img")) == 1)
    return browser.current_url


def fetch(browser, url):
    """Fetches `url` from the page with the browser's own cookies; returns status, type, size, disposition."""
    return browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: 'same-origin'}).then(async (r) => {
            const body = await r.arrayBuffer();
            done([r.status, r.headers.get('content-type'), body.byteLength, r.headers.get('content-disposition') || '']);
        }).catch((e) => done([0, String(e), 0, '']));
    """, url)


def test_search_favourite_download_share_and_delete(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    email = sign_up_and_in(browser, base_url)
    lighthouse = generate(browser, base_url, "a lighthouse at dusk over a calm sea")
    generate(browser, base_url, "three red kites above green hills")

    # Search: words of the prompt, in any case or number, find it; other words do not.
    browser.get(base_url + "/gallery")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gallery-tile")) == 2
    fill(browser, q="Lighthouses DUSK")
    submit(browser, "form.gallery-search button[type=submit]")
    tiles = browser.find_elements(By.CSS_SELECTOR, ".gallery-tile img")
    assert [t.get_attribute("alt") for t in tiles] == ["a lighthouse at dusk over a calm sea"]
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        screenshot(f"gallery-search-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])
    fill(browser, q="submarine")
    submit(browser, "form.gallery-search button[type=submit]")
    assert "Nothing matches" in browser.find_element(By.CSS_SELECTOR, ".empty-state").text

    # Favourite from the page, then the favourites filter.
    browser.get(lighthouse)
    submit(browser, "form[action$='/favourite'] button")
    assert browser.find_element(By.CSS_SELECTOR, "form[action$='/favourite'] button").get_attribute("aria-pressed") == "true"
    browser.get(base_url + "/gallery?favourites=1")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gallery-tile")) == 1
    assert browser.find_element(By.CSS_SELECTOR, ".tile-favourite").text == "★"

    # Downloads in three formats, as the browser gets them.
    browser.get(lighthouse)
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".downloads a")}
    assert set(links) == {"PNG", "JPEG", "WebP"}
    for label, kind in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WebP", "image/webp")):
        status, content_type, size, disposition = fetch(browser, links[label])
        assert (status, content_type) == (200, kind) and size > 1000 and disposition.startswith("attachment"), (label, status, content_type)

    # Share: the link is shown once; signed out, it shows the images and nothing about the person.
    submit(browser, "form[action$='/share'] button[type=submit]")
    share_url = browser.find_element(By.ID, "share-url").get_attribute("value")
    assert "/s/" in share_url
    screenshot("generation-shared-desktop")
    browser.delete_all_cookies()
    browser.get(share_url)
    WebDriverWait(browser, 10).until(lambda b: all(
        b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
        for image in b.find_elements(By.CSS_SELECTOR, ".picture-grid img")))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Shared images"
    assert email not in browser.page_source
    for viewport in VIEWPORTS:
        browser.set_window_size(*VIEWPORTS[viewport])
        screenshot(f"shared-{viewport}")
    browser.set_window_size(*VIEWPORTS["desktop"])

    # Back in: delete, undo, delete again.
    browser.get(base_url + "/login")
    fill(browser, email=email, password=PASSWORD)
    submit(browser, "form[action='/login'] button")
    browser.get(lighthouse)
    submit(browser, "form[action$='/delete'] button")
    assert "/gallery?deleted=" in browser.current_url
    assert "You can undo this" in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gallery-tile")) == 1
    screenshot("gallery-deleted-desktop")
    submit(browser, ".flashes form button")
    assert browser.current_url == lighthouse
    submit(browser, "form[action$='/delete'] button")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".gallery-tile")) == 1
    browser.get(lighthouse)
    assert "404" in browser.title or "find that page" in browser.page_source
    browser.get(share_url)
    assert "find that page" in browser.page_source
    assert csp_errors(browser) == []
