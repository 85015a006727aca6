"""Studio to gallery in a real browser: generate with the built-in engine, watch it finish."""
import datetime
import http.client
import time
import urllib.parse
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import VIEWPORTS
from test_accounts import fill, is_detached, mailed_code, submit


SIGNED_UP = []


def sign_up_and_in(browser, base_url):
    email = f"studio-{uuid.uuid4().hex[:8]}@example.com"
    SIGNED_UP.append(email)
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


def png_file(path, rgb_top, rgb_bottom, side=64):
    """Writes a small PNG, half one colour and half another (no imaging library needed)."""
    import struct
    import zlib
    rows = b"".join(b"\x00" + bytes(rgb_top if y < side // 2 else rgb_bottom) * side for y in range(side))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(data)
    return str(path)


def test_reference_images_preview_remove_and_use(browser, base_url, screenshot, tmp_path):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    browser.get(base_url + "/studio")
    red = png_file(tmp_path / "red-sky.png", (220, 40, 40), (30, 140, 50))
    blue = png_file(tmp_path / "blue-sky.png", (40, 60, 220), (200, 180, 60))
    chooser = browser.find_element(By.ID, "references")
    chooser.send_keys(red + "\n" + blue)
    previews = WebDriverWait(browser, 5).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#reference-previews img") or False)
    assert [p.get_attribute("alt") for p in previews] == ["Reference: red-sky.png", "Reference: blue-sky.png"]
    screenshot("studio-references-desktop")
    browser.find_element(By.CSS_SELECTOR, "#reference-previews button[aria-label='Remove blue-sky.png']").click()
    assert [p.get_attribute("alt") for p in browser.find_elements(By.CSS_SELECTOR, "#reference-previews img")] == ["Reference: red-sky.png"]
    assert browser.execute_script("return document.getElementById('references').files.length") == 1

    browser.find_element(By.ID, "prompt").send_keys("a harbour in these colours")
    Select(browser.find_element(By.ID, "size")).select_by_value("512x512")
    submit(browser, "#studio-form button[type=submit]")
    assert "/generations/" in browser.current_url
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "generation-status").text == "Done")
    image = WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".picture-grid img") or False)[0]
    # The built-in engine paints the reference's red into the sky: sample the top-left pixel.
    red_sky = browser.execute_script("""
        const img = arguments[0];
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        const [r, g, b] = context.getImageData(4, 4, 1, 1).data;
        return r > g + 80 && r > b + 80;
    """, image)
    assert red_sky
    assert csp_errors(browser) == []


def test_signing_out_ends_the_live_progress(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    browser.get(base_url + "/studio")
    browser.find_element(By.ID, "prompt").send_keys("a slow harbour at night")
    Select(browser.find_element(By.ID, "count")).select_by_value("4")
    submit(browser, "#studio-form button[type=submit]")
    assert "/generations/" in browser.current_url
    generation = browser.current_url.rstrip("/").split("/")[-1]

    # Signed out elsewhere (the page's own sign-out form, sent in the background so this page
    # stays open and keeps following its event stream): four pictures at 2.5 s each are still
    # being made.
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const form = document.querySelector(".site-header form[action='/logout']");
        fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form))}).then(() => done());
    """)
    # The stream says "signed-out" and the page reloads to the sign-in page, before the
    # generation has ended (which would also reload it). A page that ignored the event would
    # stay as it is: its stream ended, and reconnecting is refused.
    WebDriverWait(browser, 10, poll_frequency=0.1).until(lambda b: "/login" in b.current_url)
    left_at = time.time()
    screenshot("generation-signed-out-desktop")
    assert csp_errors(browser) == []

    fill(browser, email=SIGNED_UP[-1], password="violet-harbour-lantern")
    submit(browser, "form[action='/login'] button")
    finished = WebDriverWait(browser, 20).until(lambda b: b.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/v1/generations/" + arguments[0], {headers: {Accept: "application/json"}})
            .then(r => r.json()).then(g => done(g.finishedAt || null));
    """, generation))
    finished_at = datetime.datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
    assert left_at < finished_at, f"the page left at {left_at}, the generation ended at {finished_at}"


def test_a_refused_event_stream_falls_back_to_reloading(browser, base_url, screenshot):
    browser.set_window_size(*VIEWPORTS["desktop"])
    sign_up_and_in(browser, base_url)
    # Made from the studio page in the background, so that this browser holds no stream of its own.
    browser.get(base_url + "/studio")
    generation = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch("/api/v1/generations", {method: "POST", headers: {
            "Content-Type": "application/json", Accept: "application/json",
            "X-CSRF-Token": document.querySelector("input[name=_csrf]").value},
            body: JSON.stringify({prompt: "a crowded harbour at noon", count: 4, size: "512x512"})})
          .then(r => r.json()).then(g => done(g.id));
    """)
    page = urllib.parse.urlsplit(f"{base_url}/generations/{generation}")

    # Twenty streams held open with this person's cookies (the most one person may have; a
    # browser itself opens at most six connections to one site), then the generation's page:
    # its own stream is refused, so it says so and reloads by itself.
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    held = []
    for _ in range(20):
        connection = http.client.HTTPConnection(page.hostname, page.port, timeout=30)
        connection.request("GET", page.path + "/events", headers={"Cookie": cookies, "Accept": "text/event-stream"})
        response = connection.getresponse()
        assert response.status == 200, response.status
        held.append(connection)
    try:
        browser.get(page.geturl())
        status = browser.find_element(By.ID, "generation-status")
        WebDriverWait(browser, 10).until(lambda b: "refreshing every few seconds" in status.text)
        screenshot("generation-stream-refused-desktop")
        WebDriverWait(browser, 10).until(lambda _: is_detached(status))  # the page reloaded
    finally:
        for connection in held:
            connection.close()
    assert csp_errors(browser) == []
